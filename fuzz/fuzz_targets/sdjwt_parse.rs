//! Arbitrary UTF-8 as a presented SD-JWT: the compact splitter, the JWS parser on the issuer-signed
//! JWT and the KB-JWT, disclosure processing (RFC 9901 §7.1) on whatever payload parsed, and the
//! whole verification pipeline with no trust anchor.
//!
//! Invariants besides "no panic, no abort": the report always lists every check once, in order;
//! with no trust anchor the outcome is never `valid`; a failure always carries a code; a parsed
//! SD-JWT serialises back to a string that parses to the same parts.
#![no_main]

use esspass_credential::jose::CompactJws;
use esspass_credential::sdjwt::SdJwt;
use esspass_credential::sdjwt::process::process;
use esspass_credential::verify::{CHECKS, CheckResult, Expectation, Outcome, Verifier};
use esspass_credential::x509::ChainValidator;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static VERIFIER: OnceLock<Verifier> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };

    if let Ok(sd) = SdJwt::parse(input) {
        let again = SdJwt::parse(&sd.serialize()).expect("a parsed SD-JWT re-parses");
        assert_eq!(again, sd);
        if let Ok(jws) = CompactJws::parse(&sd.jwt) {
            if let Ok(p) = process(&jws.payload, &sd.disclosures) {
                assert_eq!(p.disclosed.len(), sd.disclosures.len(), "every disclosure was placed");
                assert!(!p.claims.contains_key("_sd") && !p.claims.contains_key("_sd_alg"));
            }
        }
        if let Some(kb) = &sd.kb_jwt {
            let _ = CompactJws::parse(kb);
        }
    }

    let v = VERIFIER.get_or_init(|| Verifier::new(ChainValidator::new(vec![]), None, None));
    let now = time::OffsetDateTime::from_unix_timestamp(1_803_981_600).expect("a valid instant");
    let r = v.verify(input, &Expectation { nonce: Some("n-0S6_WzA2Mj"), aud: Some("https://127.0.0.1:8452") }, now);
    let ids: Vec<&str> = r.checks.iter().map(|c| c.id).collect();
    assert_eq!(ids, CHECKS);
    assert_ne!(r.outcome, Outcome::Valid, "no trust anchor, yet valid");
    for c in &r.checks {
        assert_eq!(c.code.is_some(), matches!(c.result, CheckResult::Fail | CheckResult::Error), "{}", c.id);
    }
    assert!(r.code.is_some());
    let _ = serde_json::to_string(&r).expect("the report serialises");
});
