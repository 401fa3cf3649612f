//! Arbitrary bytes as a Token Status List: the first byte is `bits`, the rest is fed three ways —
//! as the compressed `lst` (base64url of the bytes: exercises the zlib inflater and its size cap),
//! as the `lst` text itself, and as an uncompressed list that must survive encode → decode. The
//! whole input is also tried as a `statuslist+jwt` with `status::verify_token` (no trust anchor:
//! JWS parsing, header checks and certificate parsing are what run).
#![no_main]

use esspass_credential::b64;
use esspass_credential::status::{StatusList, verify_token};
use esspass_credential::x509::ChainValidator;
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use std::sync::OnceLock;

static CHAINS: OnceLock<ChainValidator> = OnceLock::new();

/// Every index of a decoded list reads a value that fits in `bits`; the first index past it reads nothing.
fn check_list(l: &StatusList) {
    let n = l.len();
    assert_eq!(n, l.as_bytes().len() * 8 / usize::from(l.bits()));
    for i in [0, n / 2, n.saturating_sub(1)] {
        if i < n {
            let v = l.get(i).expect("an index inside the list reads");
            assert!(u16::from(v) < 1u16 << l.bits());
        }
    }
    assert_eq!(l.get(n), None);
    assert_eq!(l.get(usize::MAX), None);
}

fuzz_target!(|data: &[u8]| {
    let Some((&bits, rest)) = data.split_first() else { return };

    if let Ok(l) = StatusList::from_json(&json!({"bits": bits, "lst": b64::encode(rest)})) {
        check_list(&l);
        let again = StatusList::from_json(&l.to_json().expect("a decoded list encodes")).expect("and decodes again");
        assert_eq!(again, l);
    }
    if let Ok(text) = std::str::from_utf8(rest) {
        if let Ok(l) = StatusList::from_json(&json!({"bits": bits, "lst": text})) {
            check_list(&l);
        }
    }
    let valid_bits = [1u8, 2, 4, 8][usize::from(bits % 4)];
    let l = StatusList::from_bytes(valid_bits, rest.to_vec()).expect("valid bits");
    let back = StatusList::from_json(&l.to_json().expect("encodes")).expect("what we encode we decode");
    assert_eq!(back, l);
    check_list(&back);

    if let Ok(token) = std::str::from_utf8(data) {
        let chains = CHAINS.get_or_init(|| ChainValidator::new(vec![]));
        assert!(verify_token(token, "https://127.0.0.1:8441/status/1", chains, 1_803_981_600).is_err(), "no anchor, yet a verified token");
    }
});
