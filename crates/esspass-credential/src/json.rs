//! JSON parsing of untrusted input with limits: size and nesting depth are checked before serde
//! sees the bytes, so hostile input gets a stable error instead of a stack overflow.

use esspass_core::ErrorCode;
use serde_json::Value;

/// Deepest nesting of arrays/objects accepted in any JSON we parse from outside.
pub const MAX_DEPTH: usize = 64;

/// Nesting depth of a JSON text, counting `[`/`{` outside strings. Stops early past `limit`.
pub fn depth_exceeds(bytes: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    for &b in bytes {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Parse untrusted JSON with the depth limit.
pub fn parse(bytes: &[u8], what: &str) -> crate::Result<Value> {
    if depth_exceeds(bytes, MAX_DEPTH) {
        return Err(crate::Error::new(ErrorCode::NestingTooDeep, format!("{what} nests deeper than {MAX_DEPTH} levels")));
    }
    serde_json::from_slice(bytes).map_err(|e| crate::Error::new(ErrorCode::InvalidJson, format!("{what} is not valid JSON: {e}")))
}

/// Parse untrusted JSON that must be an object.
pub fn parse_object(bytes: &[u8], what: &str) -> crate::Result<serde_json::Map<String, Value>> {
    match parse(bytes, what)? {
        Value::Object(m) => Ok(m),
        _ => Err(crate::Error::new(ErrorCode::InvalidJson, format!("{what} is not a JSON object"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth() {
        assert!(!depth_exceeds(br#"{"a":[1,{"b":"[[[[["}]}"#, 3));
        assert!(depth_exceeds(br#"[[[[1]]]]"#, 3));
        let deep = "[".repeat(100_000);
        assert_eq!(parse(deep.as_bytes(), "x").unwrap_err().code, ErrorCode::NestingTooDeep);
    }
}
