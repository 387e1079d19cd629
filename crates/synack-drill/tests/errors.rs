//! Broken scripts must fail with an error at the right place.

use synack_drill::{parse_script, ErrorKind, ParseError};

const GOOD_PREFIX: &str = "--tolerance_usecs=75000\n\
0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
+0.00 bind(3, ..., ...) = 0\n";

/// Appends `tail` (starting at line 4) to a valid prefix and returns the error.
fn error_in(tail: &str) -> ParseError {
    let src = format!("{GOOD_PREFIX}{tail}");
    match parse_script(&src) {
        Ok(s) => panic!("expected an error, parsed {} events from:\n{src}", s.events.len()),
        Err(e) => e,
    }
}

fn at(tail: &str) -> (u32, u32) {
    let e = error_in(tail);
    (e.line, e.col)
}

#[test]
fn unknown_flag_points_at_the_letter() {
    let e = error_in("+0.1 < S 0:0(0) win 1\n+0.1 < SX 0:0(0) win 1\n");
    assert_eq!((e.line, e.col, e.kind), (5, 9, ErrorKind::UnknownFlag('X')));
}

#[test]
fn inconsistent_sequence_range() {
    let e = error_in("\n\n+0 < P. 1:10(5) ack 1 win 100\n");
    assert_eq!((e.line, e.col), (6, 9));
    assert_eq!(e.kind, ErrorKind::InconsistentSeq { start: 1, end: 10, len: 5 });
}

#[test]
fn out_of_range_numbers() {
    let e = error_in("+0 < . 1:1(0) ack 1 win 70000\n");
    assert_eq!((e.line, e.col), (4, 25));
    assert!(matches!(e.kind, ErrorKind::NumberOutOfRange { what: "window", .. }), "{e}");
    assert_eq!(at("+0 < S 0:0(0) win 1 <wscale 300>\n"), (4, 29));
    assert_eq!(at("+0 close(99999999999999999999) = 0\n"), (4, 10));
}

#[test]
fn missing_result_of_syscall() {
    let e = error_in("+0 listen(3, 1)\n+0 close(3) = 0\n");
    assert_eq!((e.line, e.col), (4, 16));
    let msg = e.to_string();
    assert!(msg.starts_with("4:16: expected `=`"), "{msg}");
    assert!(msg.contains("found end of line"), "{msg}");
}

#[test]
fn trailing_garbage_after_event() {
    let e = error_in("+0 < . 1:1(0) ack 1 win 5 bogus\n");
    assert_eq!((e.line, e.col), (4, 27));
    assert_eq!(at("+0 close(3) = 0 0\n"), (4, 17));
}

#[test]
fn missing_close_of_option_list() {
    let e = error_in("+0 < S 0:0(0) win 5 <mss 1460,nop\n+0 close(3) = 0\n");
    assert_eq!((e.line, e.col), (4, 34));
    assert!(e.to_string().contains("`,` or `>`"), "{e}");
}

#[test]
fn unclosed_argument_list_names_the_opening() {
    let e = error_in("+0 accept(3, ...\n+0 close(3) = 0\n");
    // The error is found on the next line, and says where the `(` was.
    assert_eq!((e.line, e.col), (5, 1));
    assert!(e.to_string().contains("inside the `(` opened at 4:10"), "{e}");
}

#[test]
fn unterminated_multiline_constructs_point_at_their_start() {
    let e = error_in("+0 close(3) = 0\n +0 `sysctl -w a=1\n+0 close(3) = 0\n");
    assert_eq!((e.line, e.col, e.kind), (5, 5, ErrorKind::UnterminatedShell));
    let e = error_in("+0 %{ assert tcpi_state == 1 }\n");
    assert_eq!((e.line, e.col, e.kind), (4, 4, ErrorKind::UnterminatedPython));
    let e = error_in("/* never closed\n+0 close(3) = 0\n");
    assert_eq!((e.line, e.col, e.kind), (4, 1, ErrorKind::UnterminatedComment));
}

#[test]
fn bad_times() {
    let e = error_in("+0.1234567 close(3) = 0\n");
    assert_eq!((e.line, e.col), (4, 2));
    assert!(matches!(e.kind, ErrorKind::InvalidTime(_)));
    assert_eq!(at("close(3) = 0\n"), (4, 1));
    assert_eq!(at("+ close(3) = 0\n"), (4, 3));
    let e = error_in("0.1...0.2 < . 1:1(0) ack 1\n");
    assert_eq!((e.line, e.col, e.kind), (4, 1, ErrorKind::BlockingTimeNotSyscall));
}

#[test]
fn unbalanced_directives() {
    let e = error_in("#ifdef FreeBSD\n+0 close(3) = 0\n");
    assert_eq!((e.line, e.col), (4, 1));
    assert!(matches!(e.kind, ErrorKind::UnbalancedDirective(_)));
    assert_eq!(at("+0 close(3) = 0\n#endif\n"), (5, 1));
    let e = error_in("#include <x.h>\n");
    assert_eq!((e.line, e.kind), (4, ErrorKind::UnknownDirective("include".into())));
}

#[test]
fn bad_header_line() {
    let e = error_in("--tolerance_usecs 5\n");
    assert_eq!(e.line, 4);
    assert!(e.to_string().contains("`=` or end of line"), "{e}");
}

#[test]
fn error_display_is_line_col_message() {
    let e = error_in("+0 > Q 0:0(0)\n");
    assert_eq!(e.to_string(), "4:6: `Q` is not a TCP flag (use S, F, R, P, U, E, W, `.` or `-`)");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("+0 f({}1{}) = 0\n", "[".repeat(100_000), "]".repeat(100_000));
    let e = error_in(&deep);
    assert_eq!(e.line, 4);
    assert!(matches!(e.kind, ErrorKind::NestingTooDeep(_)), "{e}");
    let ok = format!("+0 f({}1{}) = 0\n", "(".repeat(20), ")".repeat(20));
    assert!(parse_script(&ok).is_ok());
}
