//! Time as Realm stores it: milliseconds since the Unix epoch, in UTC.

/// One hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// A moment in milliseconds since the Unix epoch: the one conversion from `time`'s moments.
pub fn ms_of(moment: time::OffsetDateTime) -> i64 {
    (moment.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Now, in milliseconds since the Unix epoch (the server's clock; the browser's differs and is not asked).
#[cfg(feature = "ssr")]
pub fn now_ms() -> i64 {
    mongodb::bson::DateTime::now().timestamp_millis()
}
