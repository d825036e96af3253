//! Time as Realm stores it: milliseconds since the Unix epoch, in UTC; and the one reader of submitted dates.

use serde_json::Value;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use crate::shared::problem::Problem;

/// One hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// A moment in milliseconds since the Unix epoch: the one conversion from `time`'s moments.
pub fn ms_of(moment: OffsetDateTime) -> i64 {
    (moment.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Now, in milliseconds since the Unix epoch (the server's clock; the browser's differs and is not asked).
#[cfg(feature = "ssr")]
pub fn now_ms() -> i64 {
    mongodb::bson::DateTime::now().timestamp_millis()
}

/// How much of a moment a text named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// A date alone: the whole UTC day that starts at the moment read.
    Day,
    /// A date and a time.
    Instant,
}

/// The one reader of ISO 8601 dates: a date (`2026-11-27`, midnight UTC), a date-time with its offset (RFC 3339,
/// `2026-11-27T14:30:00+02:00`) or without one (`2026-11-27T14:30`, seconds and a fraction optional; read as UTC).
/// The forms without an offset are completed to RFC 3339 and read by `time`'s RFC 3339 reader, so that the browser
/// carries one date parser instead of a general format-description parser.
pub fn read_iso(text: &str) -> Option<(OffsetDateTime, Precision)> {
    if let Ok(moment) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some((moment, Precision::Instant));
    }
    let has_time = text.as_bytes().get(10) == Some(&b'T');
    let (completed, precision) = match text.len() {
        10 => (format!("{text}T00:00:00Z"), Precision::Day),
        16 if has_time => (format!("{text}:00Z"), Precision::Instant),
        19.. if has_time => (format!("{text}Z"), Precision::Instant),
        _ => return None,
    };
    OffsetDateTime::parse(&completed, &Rfc3339)
        .ok()
        .map(|moment| (moment, precision))
}

/// A submitted date (see `read_iso`), as a moment.
pub fn parse_date(value: &Value) -> Result<OffsetDateTime, Problem> {
    let invalid = || {
        Problem::new(
            "date",
            "expected an ISO 8601 date such as 2026-11-27 or 2026-11-27T14:30:00Z",
        )
    };
    let Value::String(text) = value else {
        return Err(invalid());
    };
    read_iso(text.trim())
        .map(|(moment, _)| moment)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_without_a_time_or_offset_are_read_as_utc() {
        assert_eq!(
            parse_date(&json!("2026-11-27")).unwrap().unix_timestamp(),
            1_795_737_600
        );
        assert_eq!(
            parse_date(&json!("2026-11-27T01:00:00"))
                .unwrap()
                .unix_timestamp(),
            1_795_741_200
        );
        assert_eq!(
            parse_date(&json!("2026-11-27T01:00:00.250"))
                .unwrap()
                .unix_timestamp(),
            1_795_741_200
        );
        assert_eq!(
            parse_date(&json!("2026-11-27T02:00:00+01:00"))
                .unwrap()
                .unix_timestamp(),
            1_795_741_200
        );
        assert!(parse_date(&json!("2026-13-01")).is_err());
    }

    #[test]
    fn every_iso_form_reads_with_its_precision() {
        let read =
            |text: &str| read_iso(text).map(|(moment, precision)| (ms_of(moment), precision));
        let day = 1_795_737_600_000;
        assert_eq!(read("2026-11-27"), Some((day, Precision::Day)));
        assert_eq!(
            read("2026-11-27T14:30"),
            Some((day + 52_200_000, Precision::Instant))
        );
        assert_eq!(
            read("2026-11-27T14:30:05"),
            Some((day + 52_205_000, Precision::Instant))
        );
        assert_eq!(
            read("2026-11-27T14:30:05.5"),
            Some((day + 52_205_500, Precision::Instant))
        );
        assert_eq!(
            read("2026-11-27T14:30:05Z"),
            Some((day + 52_205_000, Precision::Instant))
        );
        assert_eq!(
            read("2026-11-27T16:30:05+02:00"),
            Some((day + 52_205_000, Precision::Instant))
        );
    }

    #[test]
    fn a_text_that_is_not_a_whole_valid_date_is_refused() {
        for text in [
            "",
            "2026-11",
            "2026-02-30",
            "2026-11-27T",
            "2026-11-27T25:00",
            "2026-11-27 14:30",
            "2026-11-27T14:30Z",
            "2026-11-27T14:30:00+02:00Z",
            "27/11/2026",
            "2026-11-27T14:30:00 trailing",
        ] {
            assert_eq!(read_iso(text), None, "{text}");
        }
    }
}
