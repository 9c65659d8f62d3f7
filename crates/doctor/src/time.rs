//! Times as people read them: UTC dates from seconds since the epoch, spans such as `59m 40s`, and
//! the HTTP `Date` header (IMF-fixdate, RFC 9110 section 5.6.7) read back into seconds.

use std::time::{SystemTime, UNIX_EPOCH};

use providers_core::calendar::days_from_civil;
/// `2026-12-06T02:40:00Z`: the calendar's one way of writing a time.
pub(crate) use providers_core::calendar::format_utc as utc;

/// Seconds since the epoch (negative before it).
pub(crate) fn epoch_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A span without its sign: `3d 4h`, `1h 5m`, `59m 40s`, `12s`.
pub(crate) fn span(seconds: i64) -> String {
    let seconds = seconds.unsigned_abs();
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {secs}s")
    } else {
        format!("{secs}s")
    }
}

/// `in 59m 40s` or `12s ago`, for `at` seen from `now`.
pub(crate) fn relative(at: i64, now: i64) -> String {
    if at >= now {
        format!("in {}", span(at - now))
    } else {
        format!("{} ago", span(now - at))
    }
}

/// Seconds since the epoch of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`; `None` for
/// anything else.
pub(crate) fn parse_http_date(text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut fields = text.split_whitespace();
    let _weekday = fields.next()?.strip_suffix(',')?;
    let day: i64 = fields.next()?.parse().ok()?;
    let month_name = fields.next()?;
    let month = MONTHS.iter().position(|name| *name == month_name)?;
    let year: i64 = fields.next()?.parse().ok()?;
    let mut clock = fields.next()?.split(':');
    let mut part = || -> Option<i64> { clock.next()?.parse().ok() };
    let (hour, minute, second) = (part()?, part()?, part()?);
    if fields.next()? != "GMT" || fields.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let month = i64::try_from(month).ok()? + 1;
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_the_calendar() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_524_800), "2026-12-06T02:40:00Z");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
    }

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(12), "12s");
        assert_eq!(span(3580), "59m 40s");
        assert_eq!(span(3900), "1h 5m");
        assert_eq!(span(90_000), "1d 1h");
        assert_eq!(relative(100, 40), "in 1m 0s");
        assert_eq!(relative(40, 100), "1m 0s ago");
    }
}
