//! The `notAfter` of an X.509 certificate, read straight from its DER.
//!
//! Only the path to `tbsCertificate.validity` is walked (RFC 5280 section 4.1): a full X.509
//! parser would be a large dependency for one date, and rustls checks everything else when the
//! certificate is used. Malformed input is an `Err`, never a panic.

use std::time::{Duration, SystemTime};

use providers_core::calendar;

const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0;
const INTEGER: u8 = 0x02;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// One DER element: its tag, its content, and what follows it.
pub(crate) fn element(input: &[u8]) -> Result<(u8, &[u8], &[u8]), &'static str> {
    let (&tag, rest) = input.split_first().ok_or("truncated element")?;
    let (&first, rest) = rest.split_first().ok_or("truncated length")?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err("unsupported length");
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
        (length, &rest[count..])
    };
    if rest.len() < length {
        return Err("truncated content");
    }
    Ok((tag, &rest[..length], &rest[length..]))
}

pub(crate) fn expect<'a>(
    input: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), &'static str> {
    let (found, content, rest) = element(input)?;
    if found != tag {
        return Err(what);
    }
    Ok((content, rest))
}

/// The leading fields of a certificate's `tbsCertificate` (RFC 5280 section 4.1), each the
/// content of its element, and what follows the subject (the public key and the extensions).
pub(crate) struct Tbs<'a> {
    pub(crate) serial: &'a [u8],
    pub(crate) issuer: &'a [u8],
    pub(crate) validity: &'a [u8],
    pub(crate) subject: &'a [u8],
    pub(crate) after_subject: &'a [u8],
}

/// Walks `tbsCertificate` up to its subject: the one walk of the certificate's DER.
pub(crate) fn tbs(der: &[u8]) -> Result<Tbs<'_>, &'static str> {
    let (certificate, _) = expect(der, SEQUENCE, "not a certificate")?;
    let (tbs, _) = expect(certificate, SEQUENCE, "no tbsCertificate")?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = element(rest)?.2;
    }
    let (serial, rest) = expect(rest, INTEGER, "no serial number")?;
    let (_, rest) = expect(rest, SEQUENCE, "no signature algorithm")?;
    let (issuer, rest) = expect(rest, SEQUENCE, "no issuer")?;
    let (validity, rest) = expect(rest, SEQUENCE, "no validity")?;
    let (subject, after_subject) = expect(rest, SEQUENCE, "no subject")?;
    Ok(Tbs {
        serial,
        issuer,
        validity,
        subject,
        after_subject,
    })
}

/// The certificate's validity period: `(notBefore, notAfter)`.
pub(crate) fn validity(der: &[u8]) -> Result<(SystemTime, SystemTime), &'static str> {
    let (not_before_tag, not_before, rest) = element(tbs(der)?.validity)?;
    let (not_after_tag, not_after, _) = element(rest)?;
    Ok((
        time(not_before_tag, not_before)?,
        time(not_after_tag, not_after)?,
    ))
}

fn digits(text: &[u8]) -> Result<u64, &'static str> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return Err("malformed time");
    }
    Ok(text
        .iter()
        .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0')))
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 1950 to 2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`), the
/// two forms RFC 5280 allows; anything else (fractions, offsets) is rejected.
fn time(tag: u8, text: &[u8]) -> Result<SystemTime, &'static str> {
    let (year, rest) = match (tag, text.len()) {
        (UTC_TIME, 13) => {
            let short = digits(&text[..2])?;
            (
                if short < 50 {
                    2000 + short
                } else {
                    1900 + short
                },
                &text[2..],
            )
        }
        (GENERALIZED_TIME, 15) => (digits(&text[..4])?, &text[4..]),
        _ => return Err("unsupported time format"),
    };
    if rest[10] != b'Z' {
        return Err("time is not in UTC");
    }
    let field = |at: usize| digits(&rest[at..at + 2]);
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err("time out of range");
    }
    // A date before 1970 (a `notBefore` of 1950, say) is only ever compared with "now": it
    // saturates to the epoch.
    let Some(days) = days_since_epoch(year, month, day) else {
        return Ok(SystemTime::UNIX_EPOCH);
    };
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days from 1970-01-01 to a date, `None` before 1970.
fn days_since_epoch(year: u64, month: u64, day: u64) -> Option<u64> {
    let days = calendar::days_from_civil(
        i64::try_from(year).ok()?,
        i64::try_from(month).ok()?,
        i64::try_from(day).ok()?,
    );
    u64::try_from(days).ok()
}

/// Formats a time as `YYYY-MM-DDTHH:MM:SSZ` for messages.
pub(crate) fn format_utc(time: SystemTime) -> String {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    calendar::format_utc(i64::try_from(seconds).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        let tag = if text.len() == 13 {
            UTC_TIME
        } else {
            GENERALIZED_TIME
        };
        time(tag, text.as_bytes()).expect("valid time")
    }

    #[test]
    fn both_time_forms_are_read_and_formatted_back() {
        assert_eq!(format_utc(at("700101000000Z")), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(at("000229123456Z")), "2000-02-29T12:34:56Z");
        assert_eq!(format_utc(at("491231235959Z")), "2049-12-31T23:59:59Z");
        assert_eq!(format_utc(at("991231235959Z")), "1999-12-31T23:59:59Z");
        assert_eq!(format_utc(at("20500101000000Z")), "2050-01-01T00:00:00Z");
        assert_eq!(format_utc(at("99991231235959Z")), "9999-12-31T23:59:59Z");
        assert_eq!(at("19691231235959Z"), SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn malformed_times_are_errors() {
        for (tag, text) in [
            (UTC_TIME, "7001010000Z"),
            (UTC_TIME, "700101000000+"),
            (UTC_TIME, "701301000000Z"),
            (UTC_TIME, "70010100000aZ"),
            (0x04, "700101000000Z"),
        ] {
            assert!(time(tag, text.as_bytes()).is_err(), "{text}");
        }
    }

    #[test]
    fn truncated_and_garbage_input_is_an_error_not_a_panic() {
        for input in [
            &b""[..],
            b"\x30",
            b"\x30\x84\xff\xff\xff\xff",
            b"\x30\x03\x30\x01",
            b"\x30\x02\x30\x00",
            b"\x30\x80",
        ] {
            assert!(validity(input).is_err(), "{input:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = validity(&bytes);
        }
    }
}
