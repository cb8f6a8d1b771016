//! Back-off after consecutive failures, as a pure function of the count.
//!
//! NIST SP 800-63B caps consecutive failed attempts at 100 without a
//! lock-out; this policy locks after 5, for a time that doubles with each
//! further failure up to a cap.

use crate::time::UnixTime;

/// The consecutive failures recorded for one user and one kind of attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Failures {
    /// Failures since the last success.
    pub consecutive: u32,
    /// When the latest of them happened.
    pub last_at: Option<UnixTime>,
}

/// May an attempt go ahead now?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptDecision {
    /// Yes.
    Allowed,
    /// No: locked until this instant. Attempts refused now must not count.
    LockedUntil(UnixTime),
}

/// The lock-out rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Consecutive failures allowed before the first lock-out.
    pub free_attempts: u32,
    /// Length of the first lock-out, in seconds.
    pub base_lockout_secs: u64,
    /// Longest lock-out, in seconds.
    pub max_lockout_secs: u64,
}

impl Default for ThrottlePolicy {
    /// Five free attempts, then 30 s doubling per failure up to 15 minutes.
    fn default() -> Self {
        Self {
            free_attempts: 5,
            base_lockout_secs: 30,
            max_lockout_secs: 15 * 60,
        }
    }
}

impl ThrottlePolicy {
    /// How long the account stays locked after `consecutive` failures.
    #[must_use]
    pub fn lockout_secs(&self, consecutive: u32) -> Option<u64> {
        let over = consecutive.checked_sub(self.free_attempts)?;
        let factor = 1u64.checked_shl(over).unwrap_or(u64::MAX);
        Some(
            self.base_lockout_secs
                .saturating_mul(factor)
                .min(self.max_lockout_secs),
        )
    }

    /// Decides whether an attempt may be made at `now`.
    #[must_use]
    pub fn decide(&self, failures: Failures, now: UnixTime) -> AttemptDecision {
        let (Some(secs), Some(last)) = (self.lockout_secs(failures.consecutive), failures.last_at)
        else {
            return AttemptDecision::Allowed;
        };
        let until = last.plus_secs(secs);
        if now < until {
            AttemptDecision::LockedUntil(until)
        } else {
            AttemptDecision::Allowed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn failures(consecutive: u32, at: u64) -> Failures {
        Failures {
            consecutive,
            last_at: Some(UnixTime(at)),
        }
    }

    #[test]
    fn five_failures_are_free_then_thirty_seconds_doubling_to_fifteen_minutes() {
        let p = ThrottlePolicy::default();
        assert_eq!(p.lockout_secs(4), None);
        let expected = [
            (5, 30),
            (6, 60),
            (7, 120),
            (8, 240),
            (9, 480),
            (10, 900),
            (11, 900),
            (1000, 900),
        ];
        for (n, secs) in expected {
            assert_eq!(p.lockout_secs(n), Some(secs), "after {n} failures");
        }
        assert_eq!(p.lockout_secs(u32::MAX), Some(900));
    }

    #[test]
    fn the_lock_ends_exactly_at_its_deadline() {
        let p = ThrottlePolicy::default();
        assert_eq!(
            p.decide(failures(4, 100), UnixTime(100)),
            AttemptDecision::Allowed
        );
        assert_eq!(
            p.decide(failures(5, 100), UnixTime(100)),
            AttemptDecision::LockedUntil(UnixTime(130))
        );
        assert_eq!(
            p.decide(failures(5, 100), UnixTime(129)),
            AttemptDecision::LockedUntil(UnixTime(130))
        );
        assert_eq!(
            p.decide(failures(5, 100), UnixTime(130)),
            AttemptDecision::Allowed
        );
        assert_eq!(
            p.decide(failures(6, 100), UnixTime(130)),
            AttemptDecision::LockedUntil(UnixTime(160))
        );
        assert_eq!(
            p.decide(Failures::default(), UnixTime(0)),
            AttemptDecision::Allowed
        );
    }

    proptest! {
        #[test]
        fn never_a_hundred_failures_without_a_lock(n in 5u32..=100, at in 0u64..1 << 40) {
            let decision = ThrottlePolicy::default().decide(failures(n, at), UnixTime(at));
            prop_assert!(matches!(decision, AttemptDecision::LockedUntil(_)));
        }

        #[test]
        fn lockouts_never_shrink_as_failures_grow(n in 5u32..200) {
            let p = ThrottlePolicy::default();
            prop_assert!(p.lockout_secs(n + 1) >= p.lockout_secs(n));
        }
    }
}
