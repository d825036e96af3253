pub mod bar_chart;
pub mod empty_state;
pub mod error_notice;
pub mod form;
pub mod layout;
pub mod page_header;
pub mod record_summary;
pub mod stat_card;
