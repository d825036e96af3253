//! Campaigns: a message aimed at a segment, scheduled, sent at a rate, and measured.

pub mod api;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;
pub mod template;
pub mod view;
