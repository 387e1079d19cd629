//! The stack-wide challenge-ACK budget (RFC 5961 7).
//!
//! RFC 5961 answers a blind attacker's RST, SYN or out-of-range ACK that lands in the
//! window with a "challenge ACK" instead of acting on it. Each challenge ACK is a segment
//! an attacker made the stack send, so section 7 asks for a brake: "An implementation
//! SHOULD include an ACK throttling mechanism to be conservative. While we have not
//! encountered a case where the lack of ACK throttling can be exploited, as a fail-safe
//! mechanism we recommend its use. An implementation may take an excessive number of
//! invocations of the mitigation as an indication of an attack ... such a limit SHOULD
//! be configurable".
//!
//! One budget for the whole stack (like Linux's `tcp_challenge_ack_limit`): a flood
//! aimed at many connections costs no more than one aimed at a single one. A global,
//! exactly known budget is itself a side channel (CVE-2016-5696, "Off-Path TCP Exploits:
//! Global Rate Limit Considered Dangerous", USENIX Security 2016): an off-path attacker
//! who spends the budget and counts the challenge ACKs it gets back learns whether a
//! victim connection spent one in the same second, and so finds its 4-tuple and
//! sequence numbers. As Linux has since 4.7, the budget of each second is therefore
//! drawn at random between half the limit and the limit; synack reads no entropy source,
//! so "at random" is a keyed hash of the second with the stack's secret.
//!
//! Time comes from the `now` passed to the stack: the core reads no clock.

use crate::isn::KeyedState;
use crate::time::Instant;
use core::hash::BuildHasher;

/// Domain separation of the budget's hash from the other uses of the secret.
const DOMAIN: u64 = 0x6368_616c_6c00;

/// The challenge ACKs the stack may still send in the current second.
#[derive(Clone, Debug)]
pub(crate) struct ChallengeAckLimiter {
    key: KeyedState,
    limit: u32,
    /// The second (since the driver's origin) `remaining` belongs to.
    second: Option<u64>,
    remaining: u32,
}

impl ChallengeAckLimiter {
    pub(crate) fn new(secret: &[u8; 16], limit: u32) -> Self {
        ChallengeAckLimiter { key: KeyedState::new(secret, DOMAIN), limit, second: None, remaining: 0 }
    }

    /// Whether one more challenge ACK may be sent at `now`; if so it is spent.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        let second = now.as_micros() / 1_000_000;
        if self.second != Some(second) {
            self.second = Some(second);
            self.remaining = self.budget(second);
        }
        if self.remaining == 0 {
            return false;
        }
        self.remaining -= 1;
        true
    }

    /// The budget of one second: in `[ceil(limit / 2), limit]`, never above the limit.
    fn budget(&self, second: u64) -> u32 {
        if self.limit == 0 {
            return 0;
        }
        let half = self.limit.div_ceil(2);
        let spread = u64::from(self.limit - half) + 1;
        half + (self.key.hash_one(second) % spread) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spent_in(l: &mut ChallengeAckLimiter, at: Instant, tries: u32) -> u32 {
        (0..tries).filter(|_| l.allow(at)).count() as u32
    }

    #[test]
    fn each_second_allows_between_half_the_limit_and_the_limit() {
        let mut l = ChallengeAckLimiter::new(&[3; 16], 100);
        let mut budgets = Vec::new();
        for s in 0..50u64 {
            let n = spent_in(&mut l, Instant::from_millis(s * 1000 + 500), 1000);
            assert!((50..=100).contains(&n), "second {s}: {n}");
            budgets.push(n);
        }
        // Drawn, not fixed: an attacker cannot predict how many remain.
        budgets.sort_unstable();
        budgets.dedup();
        assert!(budgets.len() > 10, "budgets vary from second to second: {budgets:?}");
    }

    #[test]
    fn the_budget_refills_only_when_the_second_changes() {
        let mut l = ChallengeAckLimiter::new(&[3; 16], 10);
        let first = spent_in(&mut l, Instant::from_millis(0), 100);
        assert_eq!(spent_in(&mut l, Instant::from_millis(999), 100), 0);
        assert!(first >= 5);
        assert!(spent_in(&mut l, Instant::from_millis(1000), 100) >= 5);
    }

    #[test]
    fn limit_one_allows_exactly_one_and_zero_allows_none() {
        let mut one = ChallengeAckLimiter::new(&[3; 16], 1);
        let mut zero = ChallengeAckLimiter::new(&[3; 16], 0);
        for s in 0..20 {
            let t = Instant::from_millis(s * 1000);
            assert_eq!(spent_in(&mut one, t, 5), 1);
            assert_eq!(spent_in(&mut zero, t, 5), 0);
        }
    }
}
