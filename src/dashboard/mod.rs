//! The dashboard: this period's figures against the last, and how recent campaigns did.

pub mod api;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;
pub mod view;
