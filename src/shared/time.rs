//! Time as Realm stores it: milliseconds since the Unix epoch, in UTC; and the one reader of submitted dates.

use serde_json::Value;
use time::{
    format_description::well_known::Rfc3339, macros::format_description, Date, OffsetDateTime,
    PrimitiveDateTime,
};

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

/// An ISO 8601 date or date-time; a date alone means midnight UTC, a date-time without offset means UTC.
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
    let text = text.trim();
    if let Ok(moment) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(moment);
    }
    let local = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let local_fraction =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    if let Ok(moment) = PrimitiveDateTime::parse(text, &local)
        .or_else(|_| PrimitiveDateTime::parse(text, &local_fraction))
    {
        return Ok(moment.assume_utc());
    }
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map(|date| date.midnight().assume_utc())
        .map_err(|_| invalid())
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
}
