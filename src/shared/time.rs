//! Time as Realm stores it: milliseconds since the Unix epoch, in UTC.

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
