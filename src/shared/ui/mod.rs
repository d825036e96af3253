//! Components the pages of every feature share.

pub mod bar_chart;
pub mod chunked_upload;
pub mod daily_orders;
pub mod data_table;
pub mod empty_state;
pub mod error_notice;
pub mod file_picker;
pub mod form;
pub mod layout;
pub mod links;
pub mod local_time;
pub mod not_found;
pub mod page_header;
pub mod poll;
pub mod stat_card;
pub mod status_badge;
