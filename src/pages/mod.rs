pub mod campaigns;
pub mod customers;
pub mod dashboard;
pub mod not_found;
pub mod orders;
pub mod segments;
