//! Arbitrary bytes as a SED document and as a whole EESSI message (envelope + SED), through the
//! guarded XML reader (no DTD, no entities, size and depth limits) and the typed decoders. Whatever
//! decodes must encode again and decode to the same value; nothing may panic.
#![no_main]

use esspass_eessi::{DecodeOptions, Message, decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = DecodeOptions::default();
    if let Ok(doc) = decode(data, &options) {
        if let Ok(xml) = encode(&doc.sed, doc.version) {
            let again = decode(xml.as_bytes(), &options).expect("what we encode we decode");
            assert_eq!(again, doc);
        }
    }
    if let Ok(m) = Message::decode(data, &options) {
        if let Ok(xml) = m.encode() {
            let again = Message::decode(xml.as_bytes(), &options).expect("what we encode we decode");
            assert_eq!(again, m);
        }
    }
});
