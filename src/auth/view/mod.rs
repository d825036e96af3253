//! The sign-in, setup and own-password pages, and the admin pages for users and API keys.

pub mod account;
pub mod api_keys;
pub mod setup;
pub mod sign_in;
pub mod users;
