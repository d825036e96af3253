//! The customer list with its import, and one customer's page.

pub mod detail;
pub mod list;
