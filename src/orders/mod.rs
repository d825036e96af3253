//! Orders: accepted in bulk, queued, stored by the consumer, totalled per customer and per day.

pub mod api;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;
pub mod view;
