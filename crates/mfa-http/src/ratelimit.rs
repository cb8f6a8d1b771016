//! A per-address request limit held in memory, one per server instance.
//!
//! Fixed one-minute windows: simple, and at worst twice the limit in the 60 s
//! that straddle a window boundary. Addresses idle for a window are dropped
//! so the table cannot grow without bound.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

/// Counts requests per address and minute.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    state: Mutex<Windows>,
}

#[derive(Debug)]
struct Windows {
    started: Instant,
    counts: HashMap<IpAddr, u32>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests per address; 0 disables it.
    #[must_use]
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            state: Mutex::new(Windows {
                started: Instant::now(),
                counts: HashMap::new(),
            }),
        }
    }

    /// Counts one request from `ip` at `now`; `Err(seconds)` when over the limit.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let mut windows = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if now.duration_since(windows.started) >= WINDOW {
            windows.started = now;
            windows.counts.clear();
        }
        let count = windows.counts.entry(ip).or_insert(0);
        if *count >= self.per_minute {
            let left = WINDOW.saturating_sub(now.duration_since(windows.started));
            return Err((left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_address_per_window() {
        let limiter = RateLimiter::new(3);
        let start = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(a, start), Ok(()));
        }
        let wait = limiter
            .check(a, start + Duration::from_secs(15))
            .unwrap_err();
        assert_eq!(wait, 45);
        assert_eq!(limiter.check(b, start), Ok(()));
        assert_eq!(limiter.check(a, start + WINDOW), Ok(()));
    }

    #[test]
    fn zero_turns_it_off() {
        let limiter = RateLimiter::new(0);
        let ip: IpAddr = "::1".parse().unwrap();
        assert!((0..10_000).all(|_| limiter.check(ip, Instant::now()).is_ok()));
    }
}
