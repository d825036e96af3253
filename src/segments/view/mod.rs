//! The segment list, one segment's page, and the editor with its rule builder.

pub mod detail;
pub mod editor;
pub mod list;
pub mod rule_builder;
