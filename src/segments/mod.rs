//! Segments: rules over customers, their live audience size, and the audiences campaigns freeze.

pub mod api;
pub mod legacy;
pub mod model;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod server;
pub mod view;
