//! The campaign list, one campaign's live page, and the editor.

pub mod detail;
pub mod editor;
pub mod list;
