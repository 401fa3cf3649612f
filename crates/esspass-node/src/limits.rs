//! Limits for strangers: a per-address rate limit for the unauthenticated endpoints (fixed windows
//! of one minute, in this process's memory — each process limits what reaches it), answered with
//! 429 and `Retry-After`. Sign-in attempts are limited in the database instead (shared by every
//! process, see `authorize`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The window of [`RateLimiter`], in seconds.
pub const WINDOW: i64 = 60;

#[derive(Debug)]
pub struct RateLimiter {
    per_window: u32,
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self { per_window: per_minute, windows: Mutex::new(HashMap::new()) }
    }

    /// Count a request from `ip`: `Err(seconds to wait)` when the address is over its limit.
    pub fn hit(&self, ip: IpAddr, now: i64) -> Result<(), i64> {
        let window = now.div_euclid(WINDOW);
        let Ok(mut m) = self.windows.lock() else { return Ok(()) };
        let e = m.entry(ip).or_insert((window, 0));
        if e.0 != window {
            *e = (window, 0);
        }
        e.1 = e.1.saturating_add(1);
        if e.1 > self.per_window { Err(((window + 1) * WINDOW - now).max(1)) } else { Ok(()) }
    }

    /// Drop the counters of windows that started before `before` (called in the background).
    pub fn forget_before(&self, before: i64) {
        let w = before.div_euclid(WINDOW);
        if let Ok(mut m) = self.windows.lock() {
            m.retain(|_, (start, _)| *start >= w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_limit_waits_for_the_next_window() {
        let l = RateLimiter::new(3);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let other: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..3 {
            assert!(l.hit(ip, 120).is_ok());
        }
        assert_eq!(l.hit(ip, 130), Err(50));
        assert!(l.hit(other, 130).is_ok(), "another address has its own budget");
        assert!(l.hit(ip, 180).is_ok(), "a new window");
        l.forget_before(240);
        assert!(l.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty());
    }
}
