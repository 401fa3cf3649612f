//! Service functions, one module per area.

pub mod import;
