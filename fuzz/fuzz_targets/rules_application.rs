//! Applications sent to the rules engine: parsing never panics, and whatever parses is decided and
//! explained without panicking, deterministically; a line of `--jsonl` input gives exactly one line
//! of output (or none when blank).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(app) = esspass_rules::parse_application(s) {
        let d = esspass_rules::decide(&app);
        assert_eq!(d, esspass_rules::decide(&app));
        let _ = esspass_rules::explain(&d);
    }
    if !s.contains('\n') {
        let mut out = Vec::new();
        let r = esspass_rules::jsonl::decide_line(s, &mut out);
        let lines = out.iter().filter(|b| **b == b'\n').count();
        assert_eq!(lines, usize::from(r != esspass_rules::jsonl::LineResult::Blank));
    }
});
