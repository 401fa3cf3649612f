//! Bulk decisions, one application per line (`esspass rules decide --jsonl`): each line of JSON in,
//! one line of JSON out, in the same order — the decision, or `{"error": …}` with every problem of
//! an invalid line. Pure: the caller reads and writes; this appends to a buffer.

use serde::Serialize;

/// What one input line gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineResult {
    /// A decision was written.
    Decided,
    /// The line is not a valid application; its problems were written.
    Invalid,
    /// The line is blank: nothing was written.
    Blank,
}

#[derive(Serialize)]
struct LineError<'a> {
    error: LineErrorBody<'a>,
}

#[derive(Serialize)]
struct LineErrorBody<'a> {
    code: Option<&'static str>,
    message: &'static str,
    problems: &'a esspass_core::Problems,
}

/// Decide one line and append the result, with a newline, to `out`.
pub fn decide_line(line: &str, out: &mut Vec<u8>) -> LineResult {
    if line.trim().is_empty() {
        return LineResult::Blank;
    }
    let result = match crate::parse_application(line) {
        Ok(app) => {
            let d = crate::decide(&app);
            serde_json::to_writer(&mut *out, &d).map(|()| LineResult::Decided)
        }
        Err(problems) => {
            let e = LineError {
                error: LineErrorBody { code: problems.0.first().map(|p| p.code.code()), message: "the application is invalid", problems: &problems },
            };
            serde_json::to_writer(&mut *out, &e).map(|()| LineResult::Invalid)
        }
    };
    out.push(b'\n');
    // Serialising into a Vec cannot fail for these types; report it as invalid if it ever did.
    result.unwrap_or(LineResult::Invalid)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn one_line_in_one_line_out() {
        let app = r#"{"decision_date":"2026-12-01","person":{"residence":"FR","nationalities":["FR"]},"activities":[{"kind":"employed","period":{"start":"2027-01-01","end":"2027-12-31"},"employer":{"name":"Banque","seat":"LU"},"states":[{"country":"LU"}]}]}"#;
        let mut out = Vec::new();
        assert_eq!(decide_line(app, &mut out), LineResult::Decided);
        assert_eq!(decide_line("   ", &mut out), LineResult::Blank);
        assert_eq!(decide_line("{\"person\": 1}", &mut out), LineResult::Invalid);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let d: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(d["legislation_country"], "LU");
        let e: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert!(e["error"]["problems"].as_array().is_some_and(|p| !p.is_empty()));
    }
}
