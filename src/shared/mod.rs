//! What every feature uses: the one error type, reading CSV and JSON uploads, the kinds of records and the
//! building blocks of the pages.

pub mod email;
pub mod error;
pub mod hex;
pub mod import;
pub mod money;
pub mod problem;
pub mod records;
pub mod time;
pub mod ui;
