//! Calendar dates (`YYYY-MM-DD`, no time zone: dates in claims are calendar dates, compared in UTC)
//! and inclusive periods.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Month, OffsetDateTime};

/// A calendar date. Serialises as `YYYY-MM-DD`; parsing is strict (exactly ten characters).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(time::Date);

impl Date {
    /// Parse `YYYY-MM-DD` strictly (a real calendar day, four-digit year).
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let y = i32::try_from(digits(0..4)?).ok()?;
        let m = u8::try_from(digits(5..7)?).ok()?;
        let d = u8::try_from(digits(8..10)?).ok()?;
        Self::from_ymd(y, m, d)
    }

    /// Build from year, month (1–12) and day.
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Option<Self> {
        let month = Month::try_from(month).ok()?;
        time::Date::from_calendar_date(year, month, day).ok().map(Self)
    }

    pub fn year(&self) -> i32 {
        self.0.year()
    }
    pub fn month(&self) -> u8 {
        self.0.month() as u8
    }
    pub fn day(&self) -> u8 {
        self.0.day()
    }

    /// The UTC calendar date of an instant.
    pub fn of_instant(t: OffsetDateTime) -> Self {
        Self(t.to_offset(time::UtcOffset::UTC).date())
    }

    /// Add calendar months, clamping the day to the last day of the resulting month
    /// (31 January + 1 month = 28 or 29 February).
    pub fn add_months(&self, months: i32) -> Option<Self> {
        let total = self.0.year().checked_mul(12)?.checked_add(i32::from(self.month()) - 1)?.checked_add(months)?;
        let year = total.div_euclid(12);
        let month = u8::try_from(total.rem_euclid(12) + 1).ok()?;
        let month = Month::try_from(month).ok()?;
        let last = time::util::days_in_month(month, year);
        let day = self.0.day().min(last);
        time::Date::from_calendar_date(year, month, day).ok().map(Self)
    }

    /// Add (or subtract) whole days.
    pub fn add_days(&self, days: i64) -> Option<Self> {
        self.0.checked_add(time::Duration::days(days)).map(Self)
    }

    /// Days from `self` to `other` (positive when `other` is later).
    pub fn days_until(&self, other: Date) -> i64 {
        (other.0 - self.0).whole_days()
    }

    /// The day before.
    pub fn pred(&self) -> Option<Self> {
        self.0.previous_day().map(Self)
    }

    /// The day after.
    pub fn succ(&self) -> Option<Self> {
        self.0.next_day().map(Self)
    }

    /// The underlying `time::Date`.
    pub fn inner(&self) -> time::Date {
        self.0
    }

    /// Midnight UTC at the start of this date.
    pub fn start_utc(&self) -> OffsetDateTime {
        self.0.midnight().assume_utc()
    }
}

impl From<time::Date> for Date {
    fn from(d: time::Date) -> Self {
        Self(d)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0.year(), self.0.month() as u8, self.0.day())
    }
}

impl std::fmt::Debug for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Date {
    type Err = crate::ErrorCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Date::parse(s).ok_or(crate::ErrorCode::InvalidDate)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a date YYYY-MM-DD: {s:?}")))
    }
}

/// A period of calendar days; both ends inclusive. `end` is `None` for an open-ended period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    pub start: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
}

impl Period {
    /// A period; `None` if it ends before it starts.
    pub fn new(start: Date, end: Option<Date>) -> Option<Self> {
        match end {
            Some(e) if e < start => None,
            _ => Some(Self { start, end }),
        }
    }

    /// Whether the day lies within the period (ends inclusive).
    pub fn contains(&self, day: Date) -> bool {
        day >= self.start && self.end.is_none_or(|e| day <= e)
    }

    /// Whether two periods share at least one day.
    pub fn overlaps(&self, other: &Period) -> bool {
        let a_before_b = self.end.is_some_and(|e| e < other.start);
        let b_before_a = other.end.is_some_and(|e| e < self.start);
        !(a_before_b || b_before_a)
    }

    /// Number of days, both ends counted; `None` when open-ended.
    pub fn days(&self) -> Option<i64> {
        self.end.map(|e| self.start.days_until(e) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn strict_parse() {
        assert_eq!(d("2024-02-29").to_string(), "2024-02-29");
        for bad in ["2023-02-29", "2024-13-01", "2024-1-01", "24-01-01", "2024-01-01T00:00:00Z", "2024/01/01", "+024-01-01", "2024-01-0a", ""] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn months_clamp_to_month_end() {
        assert_eq!(d("2024-01-31").add_months(1).unwrap(), d("2024-02-29"));
        assert_eq!(d("2023-01-31").add_months(1).unwrap(), d("2023-02-28"));
        assert_eq!(d("2024-02-29").add_months(24).unwrap(), d("2026-02-28"));
        assert_eq!(d("2024-03-15").add_months(-3).unwrap(), d("2023-12-15"));
        assert_eq!(d("2024-12-01").add_months(1).unwrap(), d("2025-01-01"));
    }

    #[test]
    fn periods_are_inclusive() {
        let p = Period::new(d("2025-01-01"), Some(d("2025-01-31"))).unwrap();
        assert!(p.contains(d("2025-01-31")));
        assert!(!p.contains(d("2025-02-01")));
        assert_eq!(p.days(), Some(31));
        assert!(Period::new(d("2025-01-02"), Some(d("2025-01-01"))).is_none());
        let q = Period::new(d("2025-01-31"), None).unwrap();
        assert!(p.overlaps(&q));
        let r = Period::new(d("2025-02-01"), None).unwrap();
        assert!(!p.overlaps(&r));
    }

    proptest! {
        #[test]
        fn display_parse_roundtrip(days in -200_000i64..200_000) {
            let base = d("2000-01-01");
            if let Some(x) = base.add_days(days)
                && (1000..=9999).contains(&x.year()) {
                    prop_assert_eq!(Date::parse(&x.to_string()), Some(x));
                }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,12}") {
            let _ = Date::parse(&s);
        }
    }
}
