//! Time as a value: seconds since the Unix epoch, passed in by the caller.
//!
//! The core never reads a clock. Every rule that depends on time takes a
//! [`UnixTime`] argument, so tests pin the instant and production code reads
//! the clock once, at the edge.

/// Whole seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// The instant `secs` seconds later, saturating at the far future.
    #[must_use]
    pub fn plus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// Seconds from `self` until `later`, zero if `later` is not later.
    #[must_use]
    pub fn secs_until(self, later: UnixTime) -> u64 {
        later.0.saturating_sub(self.0)
    }
}
