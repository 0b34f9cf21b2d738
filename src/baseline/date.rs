//! Calendar dates (`YYYY-MM-DD`, proleptic Gregorian, UTC) for the expiry of exceptions: parsing,
//! today's date, and "one year from a date". No time zones and no clock other than [`Date::today`],
//! which callers pass on, so that what counts as expired can be fixed in a test.

use std::fmt;

/// A day of the calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    /// `YYYY-MM-DD`, a real day of the calendar (no 2027-02-30).
    pub fn parse(text: &str) -> Result<Date, String> {
        let bad = || format!("`{text}` is not a date: expected YYYY-MM-DD, e.g. 2027-03-31");
        let parts: Vec<&str> = text.split('-').collect();
        let [year, month, day] = parts.as_slice() else { return Err(bad()) };
        if year.len() != 4 || month.len() != 2 || day.len() != 2 || !text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(bad());
        }
        let (year, month, day) = (year.parse().map_err(|_| bad())?, month.parse().map_err(|_| bad())?, day.parse().map_err(|_| bad())?);
        Date::new(year, month, day).ok_or_else(|| format!("`{text}` is not a day of the calendar"))
    }

    /// The date, if it exists.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(Date { year, month, day })
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Date::from_days((seconds / 86_400) as i64)
    }

    /// The same day a year later; 29 February becomes 28 February.
    pub fn one_year_later(self) -> Date {
        let year = self.year + 1;
        Date { year, month: self.month, day: self.day.min(days_in_month(year, self.month)) }
    }

    /// `days` days later (earlier when negative).
    pub fn plus_days(self, days: i64) -> Date {
        Date::from_days(self.days() + days)
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    fn days(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    fn from_days(days: i64) -> Date {
        let days = days + 719_468;
        let era = days.div_euclid(146_097);
        let day_of_era = days - era * 146_097;
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
        let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
        let year = (year_of_era + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_only_as_real_days() {
        assert_eq!(Date::parse("2028-02-29").unwrap().to_string(), "2028-02-29");
        for bad in ["2027-02-29", "2027-13-01", "2027-1-05", "27-01-05", "2027/01/05", "2027-01-05T00:00", "+027-01-05", "next year"] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn day_arithmetic_round_trips_through_the_epoch() {
        let epoch = Date::new(1970, 1, 1).unwrap();
        assert_eq!(epoch.days(), 0);
        assert_eq!(epoch.plus_days(20_000).to_string(), "2024-10-04");
        assert_eq!(Date::parse("2028-03-01").unwrap().plus_days(-1).to_string(), "2028-02-29");
        assert_eq!(Date::parse("2026-12-31").unwrap().plus_days(1).to_string(), "2027-01-01");
        let start = Date::parse("1999-12-25").unwrap();
        for offset in [-800, -1, 0, 1, 366, 10_000] {
            assert_eq!(Date::from_days(start.plus_days(offset).days()), start.plus_days(offset));
        }
    }

    #[test]
    fn a_year_later_is_the_same_day_or_the_last_of_february() {
        assert_eq!(Date::parse("2026-12-02").unwrap().one_year_later().to_string(), "2027-12-02");
        assert_eq!(Date::parse("2028-02-29").unwrap().one_year_later().to_string(), "2029-02-28");
    }
}
