//! SEDs and messages from partner institutions: reading never panics, and whatever is accepted
//! writes back to bytes that read to the same value (the codec's round-trip promise).
#![no_main]

use esspass_eessi::Message;
use esspass_eessi::codec::{DecodeOptions, decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = DecodeOptions::default();
    if let Ok(doc) = decode(data, &options) {
        let xml = encode(&doc.sed, doc.version).expect("an accepted SED is valid");
        let again = decode(xml.as_bytes(), &options).expect("what was written reads back");
        assert_eq!(again, doc);
    }
    if let Ok(message) = Message::decode(data, &options) {
        let xml = message.encode().expect("an accepted message is valid");
        assert_eq!(
            Message::decode(xml.as_bytes(), &options).expect("reads back"),
            message
        );
    }
});
