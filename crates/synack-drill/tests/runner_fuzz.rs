//! The runner never panics (nor hangs) on any script: mangled versions of real
//! scripts (lines dropped, repeated, swapped; numbers replaced) always end in PASS,
//! FAIL or SKIP, and a panic inside the stack would be reported, not propagated.

use proptest::prelude::*;
use synack_drill::{run_script, DrillOptions, Outcome, Profile};

/// Scripts exercising every kind of event; mangled below.
const SEEDS: [&str; 3] = [
    "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0.1 < S 0:0(0) win 65535 <mss 1460,nop,wscale 2>
+0 > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 1>
+0 `sockstat -4 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 1`
+0.1 < . 1:1(0) ack 1 win 16384
+0 accept(3, ..., ...) = 4
+0 %{ assert tcpi_state == TCPI_ESTABLISHED }%
+0.1 < P. 1:101(100) ack 1 win 16384
+0.04 > . 1:1(0) ack 101
+0 recv(4, ..., 1000, MSG_PEEK) = 100
+0 read(4, ..., 1000) = 100
+0 write(4, ..., 50) = 50
+0 > P. 1:51(50) ack 101
+0.1 < . 101:101(0) ack 51 win 16384 <nop,nop,sack 1:51>
+0 shutdown(4, SHUT_WR) = 0
+0 > F. 51:51(0) ack 101
+0.1 < F. 101:101(0) ack 52 win 16384
+0 > . 52:52(0) ack 102
+0 close(4) = 0
",
    "\
--tolerance_usecs=10000
0.000 `sysctl -w net.inet.tcp.recvspace=16384`
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [16384], [4]) = 0
1.00...2.00 connect(3, ..., ...) = 0
+0 > S 0:0(0) win 16384 <...>
+1.0 < S. 0:0(0) ack 1 win 8192 <mss 1000,TS val 5 ecr 1>
+0 > . 1:1(0) ack 1
+0 write(3, ..., 5000) = 5000
* > . 1:1001(1000) ack 1
+0.1~+0.3 < . 1:1(0) ack 1001 win 8192
+0.1 < R 1:1(0) win 0
+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0
+0 close(3) = 0
",
    "\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 0) = 0
+0 < S 0:0(0) win 0
+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>
+0 < R. 1:1(0) ack 1 win 0
+0 < SF 4294967290:4294967295(5) win 1
+0 < . 0:0(0)! ack 4294967295 win 65535 <sack 1:2 3:4 5:6 7:8>
+3.0 > S. 0:0(0) ack 1 <...>
#ifdef FreeBSD
+0 close(3) = 0
#else
+0 close(4) = 0
#endif
",
];

#[derive(Debug, Clone)]
enum Mangle {
    Drop(usize),
    Repeat(usize),
    Swap(usize, usize),
    Number(usize, u64),
}

fn mangle(text: &str, ops: &[Mangle]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for op in ops {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match *op {
            Mangle::Drop(i) => {
                lines.remove(i % n);
            }
            Mangle::Repeat(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Mangle::Swap(i, j) => lines.swap(i % n, j % n),
            Mangle::Number(i, v) => {
                // Replace the first run of digits in the line.
                let l = &lines[i % n];
                if let Some(start) = l.find(|c: char| c.is_ascii_digit()) {
                    let end = l[start..].find(|c: char| !c.is_ascii_digit()).map_or(l.len(), |e| start + e);
                    lines[i % n] = format!("{}{}{}", &l[..start], v, &l[end..]);
                }
            }
        }
    }
    lines.join("\n") + "\n"
}

fn op() -> impl Strategy<Value = Mangle> {
    prop_oneof![
        any::<usize>().prop_map(Mangle::Drop),
        any::<usize>().prop_map(Mangle::Repeat),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mangle::Swap(a, b)),
        (any::<usize>(), prop_oneof![Just(0u64), Just(1), Just(65535), Just(4294967295), any::<u64>()])
            .prop_map(|(a, v)| Mangle::Number(a, v)),
    ]
}

fn assert_no_panic(script: &str, profile: Profile, strict: bool) {
    let opts = DrillOptions { strict, ..DrillOptions::with_profile(profile) };
    if let Outcome::Fail { what, actual, .. } = run_script(script, &opts) {
        assert_ne!(what, "panic", "panic `{actual}` on:\n{script}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn mangled_scripts_end_without_panicking(
        seed in 0usize..SEEDS.len(),
        ops in proptest::collection::vec(op(), 1..6),
        profile in prop_oneof![Just(Profile::Rfc), Just(Profile::Freebsd), Just(Profile::Linux)],
        strict in any::<bool>(),
    ) {
        assert_no_panic(&mangle(SEEDS[seed], &ops), profile, strict);
    }

    #[test]
    fn arbitrary_text_ends_without_panicking(text in "[ -~\n]{0,300}") {
        assert_no_panic(&text, Profile::Rfc, false);
    }
}

#[test]
fn seeds_run_to_an_outcome() {
    for s in SEEDS {
        for p in Profile::ALL {
            assert_no_panic(s, p, true);
        }
    }
}
