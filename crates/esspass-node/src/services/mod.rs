//! Service functions, one module per area.

pub mod applications;
pub mod audit;
pub mod import;
pub mod issuance;
pub mod paper;
pub mod pid_sign_in;
pub mod status;
