//! Calendar dates in UTC for letters, listings and command-line filters,
//! without a time-zone database: the proleptic Gregorian calendar
//! (H. Hinnant's `civil_from_days` / `days_from_civil`).

/// `YYYY-MM-DD` of a Unix time, UTC.
pub fn date(unix: i64) -> String {
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DD HH:MM:SSZ` of a Unix time, UTC.
pub fn date_time(unix: i64) -> String {
    let seconds = unix.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}Z",
        date(unix),
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// The Unix time of midnight UTC starting `YYYY-MM-DD`, if it is a real date.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Refuses 2026-02-30 and the like: the date must read back the same.
    (civil_from_days(days) == (year, month, day)).then_some(days * 86_400)
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
        for bad in ["2026-02-30", "2025-02-29", "2026-13-01", "2026-1", "yesterday", ""] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        // Every 997th day from 0001-01-01 to 9999-12-31.
        for day in (-719_162..2_932_897).step_by(997) {
            let unix = day * 86_400;
            assert_eq!(parse_date(&date(unix)), Some(unix));
        }
    }
}
