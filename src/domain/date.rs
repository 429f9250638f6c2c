//! Calendar dates as the clinical rules need them: how many days old a laboratory
//! value is on the exam's date (2.3.1: the eGFR must be current).
//!
//! Pure arithmetic on the proleptic Gregorian calendar; no clock, no time zone. The
//! exam's date is an input, like every other time in the domain.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A calendar date (year 1–9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CivilDate {
    year: i32,
    month: u32,
    day: u32,
}

/// Days in `month` of `year`.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

impl CivilDate {
    /// A date, if it exists.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        ((1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month))
        .then_some(CivilDate { year, month, day })
    }

    /// Parse `YYYY-MM-DD` (exactly that form).
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            text.get(r)
                .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))?
                .parse()
                .ok()
        };
        CivilDate::new(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        // Count from 1 March so that the leap day is the last day of the year.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Whole days from `earlier` to `self` (negative when `earlier` is later).
    pub fn days_after(self, earlier: CivilDate) -> i64 {
        self.days_since_epoch() - earlier.days_since_epoch()
    }
}

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl TryFrom<String> for CivilDate {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CivilDate::parse(&s).ok_or_else(|| format!("expected a date YYYY-MM-DD, got {s:?}"))
    }
}

impl From<CivilDate> for String {
    fn from(d: CivilDate) -> String {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days_since_epoch() {
        let d = |s| CivilDate::parse(s).unwrap().days_since_epoch();
        assert_eq!(d("1970-01-01"), 0);
        assert_eq!(d("1970-01-02"), 1);
        assert_eq!(d("1969-12-31"), -1);
        assert_eq!(d("2000-03-01"), 11_017);
        assert_eq!(d("2026-12-05"), 20_792);
    }

    #[test]
    fn impossible_dates_are_refused() {
        for s in [
            "2030-13-45",
            "2025-02-29",
            "2024-02-30",
            "2024-00-10",
            "24-02-01",
            "2024/02/01",
            "2024-02-1x",
            "+024-02-01",
            "0000-01-01",
        ] {
            assert_eq!(CivilDate::parse(s), None, "{s}");
        }
        assert!(CivilDate::parse("2024-02-29").is_some());
    }
}
