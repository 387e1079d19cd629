//! Rules acting on chosen segments: "drop the first FIN from the server", "delay the
//! SYN-ACK by 3 s", "drop the client's first ACK after the server's FIN".

use crate::link::RuleEffect;
use crate::scenario::{RuleAction, RuleSpec, SegMatch};

/// The letters tcpdump uses for TCP flags, `.` standing for ACK.
pub(crate) const FLAG_LETTERS: &str = "SFPRUEW.";

/// Whether `s` is flags as tcpdump prints them (letters of [`FLAG_LETTERS`], each at
/// most once, or `none`).
pub(crate) fn valid_flags(s: &str) -> bool {
    if s == "none" {
        return true;
    }
    !s.is_empty() && s.chars().all(|c| FLAG_LETTERS.contains(c)) && {
        let mut seen = String::new();
        s.chars().all(|c| {
            let fresh = !seen.contains(c);
            seen.push(c);
            fresh
        })
    }
}

/// What a rule sees of a segment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SegView<'a> {
    pub(crate) link: usize,
    pub(crate) flags: &'a str,
    pub(crate) payload: bool,
}

impl SegMatch {
    pub(crate) fn matches(&self, v: &SegView<'_>) -> bool {
        self.link.is_none_or(|l| l == v.link)
            && self.flags.as_deref().is_none_or(|f| f == v.flags)
            && self.has.as_deref().is_none_or(|h| h.chars().all(|c| v.flags.contains(c)))
            && self.payload.is_none_or(|p| p == v.payload)
    }
}

#[derive(Debug)]
struct RuleState {
    spec: RuleSpec,
    /// The `after` condition is met (or there is none).
    armed: bool,
    /// Matching segments seen while armed.
    count: u32,
}

/// Every rule of a run, with its counters.
#[derive(Debug)]
pub(crate) struct Rules {
    rules: Vec<RuleState>,
}

impl Rules {
    pub(crate) fn new(specs: &[RuleSpec]) -> Rules {
        let rules =
            specs.iter().map(|s| RuleState { spec: s.clone(), armed: s.after.is_none(), count: 0 }).collect();
        Rules { rules }
    }

    /// Count `v` against every rule and return what they do to it. A segment that
    /// meets a rule's `after` condition arms it for the segments that follow.
    pub(crate) fn apply(&mut self, v: &SegView<'_>) -> RuleEffect {
        let mut eff = RuleEffect::default();
        for r in &mut self.rules {
            if !r.armed || !r.spec.matcher.matches(v) {
                continue;
            }
            r.count = r.count.saturating_add(1);
            let first = r.spec.nth.max(1);
            let in_window = r.count >= first && (r.spec.times == 0 || r.count - first < r.spec.times);
            if in_window {
                match r.spec.action {
                    RuleAction::Drop => eff.drop = true,
                    RuleAction::Delay(d) => eff.delay = eff.delay + d,
                    RuleAction::Duplicate => eff.duplicate = true,
                }
            }
        }
        for r in &mut self.rules {
            if !r.armed && r.spec.after.as_ref().is_some_and(|a| a.matches(v)) {
                r.armed = true;
            }
        }
        eff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack::Duration;

    fn rule(m: SegMatch, after: Option<SegMatch>, nth: u32, action: RuleAction) -> RuleSpec {
        RuleSpec { matcher: m, after, nth, times: 1, action }
    }

    fn flags(link: usize, f: &str) -> SegMatch {
        SegMatch { link: Some(link), flags: Some(f.into()), ..SegMatch::default() }
    }

    #[test]
    fn flags_are_validated_as_tcpdump_letters() {
        for ok in ["S", "S.", ".", "P.", "F.", "R", "R.", "FP.", "none"] {
            assert!(valid_flags(ok), "{ok}");
        }
        for bad in ["", "SYN", "s", "F..", "X"] {
            assert!(!valid_flags(bad), "{bad}");
        }
    }

    #[test]
    fn the_nth_matching_segment_is_acted_on_once() {
        let mut r = Rules::new(&[rule(flags(1, "F."), None, 2, RuleAction::Drop)]);
        let fin = SegView { link: 1, flags: "F.", payload: false };
        let other_link = SegView { link: 0, flags: "F.", payload: false };
        assert!(!r.apply(&fin).drop);
        assert!(!r.apply(&other_link).drop);
        assert!(r.apply(&fin).drop);
        assert!(!r.apply(&fin).drop);
    }

    #[test]
    fn after_arms_the_rule_only_for_later_segments() {
        let m =
            SegMatch { link: Some(0), flags: Some(".".into()), payload: Some(false), ..SegMatch::default() };
        let after = SegMatch { link: Some(1), has: Some("F".into()), ..SegMatch::default() };
        let mut r = Rules::new(&[rule(m, Some(after), 1, RuleAction::Delay(Duration::from_secs(3)))]);
        let ack = SegView { link: 0, flags: ".", payload: false };
        assert_eq!(r.apply(&ack).delay, Duration::ZERO);
        assert_eq!(r.apply(&SegView { link: 1, flags: "FP.", payload: true }).delay, Duration::ZERO);
        assert_eq!(r.apply(&ack).delay, Duration::from_secs(3));
        assert_eq!(r.apply(&ack).delay, Duration::ZERO);
    }
}
