//! Applications sent to the rules engine: parsing never panics, and whatever parses is decided and
//! explained without panicking, deterministically.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(app) = esspass_rules::parse_application(s) {
        let d = esspass_rules::decide(&app);
        assert_eq!(d, esspass_rules::decide(&app));
        let _ = esspass_rules::explain(&d);
    }
});
