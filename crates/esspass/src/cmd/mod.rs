//! One module per subcommand.

pub mod audit;
pub mod demo;
pub mod import;
pub mod offers;
pub mod issue;
pub mod pki;
pub mod present;
pub mod rules;
pub mod serve;
pub mod status_list;
pub mod verify;

use crate::Failure;
use esspass_core::ErrorCode;
use std::path::Path;

/// Read a file, or standard input for `-`.
pub fn read_input(path: &str) -> Result<String, Failure> {
    if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut s).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("stdin: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(Path::new(path)).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{path}: {e}")))
    }
}

/// Parse an RFC 3339 instant.
pub fn parse_instant(s: &str) -> Result<time::OffsetDateTime, Failure> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|e| Failure::usage(ErrorCode::Usage, format!("{s:?} is not an RFC 3339 time: {e}")))
}
