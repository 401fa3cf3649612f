//! Service functions, one module per area.

pub mod import;
pub mod issuance;
pub mod status;
