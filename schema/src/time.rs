//! Calendar dates in UTC for letters, listings and command-line filters,
//! through the `time` crate (proleptic Gregorian calendar, no time-zone
//! database needed for UTC).

use ::time::format_description::BorrowedFormatItem;
use ::time::macros::format_description;
use ::time::{Date, OffsetDateTime};

const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");
const DATE_TIME: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");

/// Formats a Unix time with `format`; a time outside the years the `time`
/// crate represents (±9999) is shown as the raw number of seconds.
fn format_unix(unix: i64, format: &[BorrowedFormatItem<'static>]) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| format!("@{unix}"))
}

/// `YYYY-MM-DD` of a Unix time, UTC.
pub fn date(unix: i64) -> String {
    format_unix(unix, DATE)
}

/// `YYYY-MM-DD HH:MM:SSZ` of a Unix time, UTC.
pub fn date_time(unix: i64) -> String {
    format_unix(unix, DATE_TIME)
}

/// The Unix time of midnight UTC starting `YYYY-MM-DD` (years 1 to 9999),
/// if it is a real date.
pub fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    // The year is four digits with no sign (the `time` crate would accept `+2026`).
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let date = Date::parse(text, DATE).ok()?;
    (1..=9999)
        .contains(&date.year())
        .then(|| date.midnight().assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_impossible_ones_are_refused() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(-86_400), "1969-12-31");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date_time(1_798_761_599), "2026-12-31 23:59:59Z");
        assert_eq!(parse_date("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_date("1970-01-01"), Some(0));
        for bad in [
            "2026-02-30",
            "2025-02-29",
            "2026-13-01",
            "2026-1",
            "yesterday",
            "",
            "0000-01-01",
            "+2026-01-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        // Every 997th day from 0001-01-01 to 9999-12-31.
        for day in (-719_162..2_932_897).step_by(997) {
            let unix = day * 86_400;
            assert_eq!(parse_date(&date(unix)), Some(unix));
        }
        assert_eq!(date(i64::MAX), format!("@{}", i64::MAX));
    }
}
