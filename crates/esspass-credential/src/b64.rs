//! base64url without padding (JOSE) and standard base64 (x5c).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use esspass_core::ErrorCode;

pub fn encode(data: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Strict base64url decoding: no padding, no whitespace, canonical trailing bits.
pub fn decode(s: &str) -> crate::Result<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).map_err(|e| crate::Error::new(ErrorCode::InvalidBase64, format!("invalid base64url: {e}")))
}

pub fn encode_std(data: impl AsRef<[u8]>) -> String {
    STANDARD.encode(data)
}

pub fn decode_std(s: &str) -> crate::Result<Vec<u8>> {
    STANDARD.decode(s).map_err(|e| crate::Error::new(ErrorCode::InvalidBase64, format!("invalid base64: {e}")))
}
