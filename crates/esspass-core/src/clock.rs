//! Time enters the system only through a [`Clock`], so every rule and verification can pin "now".

use time::OffsetDateTime;

/// A source of the current instant (UTC).
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock. Only binaries construct it; libraries take `&dyn Clock`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock pinned to one instant, for tests and for `verify --at`.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

impl FixedClock {
    /// A clock at the given Unix time (seconds).
    pub fn at_unix(secs: i64) -> Self {
        Self(OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }
}

/// The system clock shifted by an adjustable number of seconds: lets a test move a running
/// service's "now" forward (expiry of tokens, codes, lists) without waiting.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    shift: std::sync::atomic::AtomicI64,
}

impl ShiftedClock {
    /// Move the clock forward (or back, with a negative number) by `secs`.
    pub fn advance(&self, secs: i64) {
        self.shift.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.shift.load(std::sync::atomic::Ordering::SeqCst))
    }
}
