//! JSON parsing of untrusted input with limits: size and nesting depth are checked before serde
//! sees the bytes, so hostile input gets a stable error instead of a stack overflow.

use esspass_core::ErrorCode;
use serde_json::Value;

/// Deepest nesting of arrays/objects accepted in any JSON we parse from outside.
pub const MAX_DEPTH: usize = 64;

/// Parse untrusted JSON with the depth limit. serde_json itself refuses more than 128 levels (its
/// recursion limit, well within the stack); the parsed tree is then held to [`MAX_DEPTH`], which
/// is cheaper than scanning the text first.
pub fn parse(bytes: &[u8], what: &str) -> crate::Result<Value> {
    let too_deep = || crate::Error::new(ErrorCode::NestingTooDeep, format!("{what} nests deeper than {MAX_DEPTH} levels"));
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            too_deep()
        } else {
            crate::Error::new(ErrorCode::InvalidJson, format!("{what} is not valid JSON: {e}"))
        }
    })?;
    if depth_of(&v, 0) > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(v)
}

/// Nesting depth of a parsed value (stops counting past the limit).
fn depth_of(v: &Value, at: usize) -> usize {
    if at > MAX_DEPTH {
        return at;
    }
    match v {
        Value::Array(a) => a.iter().map(|c| depth_of(c, at + 1)).max().unwrap_or(at + 1),
        Value::Object(m) => m.values().map(|c| depth_of(c, at + 1)).max().unwrap_or(at + 1),
        _ => at,
    }
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
        assert!(parse(br#"{"a":[1,{"b":"[[[[["}]}"#, "x").is_ok());
        let at_limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(at_limit.as_bytes(), "x").is_ok());
        let over = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(over.as_bytes(), "x").unwrap_err().code, ErrorCode::NestingTooDeep);
        let deep = "[".repeat(100_000);
        assert_eq!(parse(deep.as_bytes(), "x").unwrap_err().code, ErrorCode::NestingTooDeep);
    }
}
