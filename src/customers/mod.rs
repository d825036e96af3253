//! Customers: who they are, their tags and totals, imported one by one or in bulk.

pub mod api;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;
pub mod view;
