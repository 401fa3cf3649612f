//! Property tests: any text the writer is given comes back unchanged, valid generated SEDs round
//! trip, and the reader never panics on arbitrary or mutated input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use esspass_eessi::codec::{DecodeOptions, encode_unchecked};
use esspass_eessi::sed::Sed;
use esspass_eessi::{CdmVersion, Message, decode, encode};
use proptest::prelude::*;

/// Text XML 1.0 can carry, including markup characters, quotes, CR/LF/tab and non-ASCII.
fn xml_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('<'),
            Just('>'),
            Just('&'),
            Just('"'),
            Just('\''),
            Just('\r'),
            Just('\n'),
            Just('\t'),
            Just(' '),
            proptest::char::range('a', 'z'),
            proptest::char::range('\u{e0}', '\u{17f}'),
            Just('\u{263a}'),
            Just('\u{1F600}'),
        ],
        1..40,
    )
    .prop_map(|v| v.into_iter().collect::<String>())
    .prop_filter("not blank", |s| !s.trim().is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn free_text_and_names_round_trip(name in xml_text(), info in xml_text(), questions in proptest::collection::vec(xml_text(), 1..4), days in 0i64..20_000) {
        let mut x = match minimal().remove(4) { Sed::A005(x) => x, _ => unreachable!() };
        x.person.family_name = name;
        x.person.birth_date = d("1930-01-01").add_days(days).unwrap();
        x.additional_information = Some(info);
        x.question = questions;
        let sed = Sed::A005(x);
        let xml = encode(&sed, CdmVersion::V4_3).unwrap();
        let back = decode(xml.as_bytes(), &DecodeOptions::default()).unwrap();
        prop_assert_eq!(back.sed, sed);
    }

    #[test]
    fn samples_with_random_text_round_trip(i in 0usize..20, text in xml_text()) {
        let mut sed = full().remove(i);
        if let Some(p) = match &mut sed { Sed::A009(x) => Some(&mut x.person), Sed::A001(x) => Some(&mut x.person), _ => None } {
            p.forename = text.clone();
        }
        let xml = encode_unchecked(&sed, CdmVersion::V4_4);
        let back = decode(xml.as_bytes(), &DecodeOptions::default()).unwrap();
        prop_assert_eq!(back.sed, sed);
    }

    #[test]
    fn reader_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes, &DecodeOptions::default());
        let _ = Message::decode(&bytes, &DecodeOptions::default());
    }

    #[test]
    fn reader_never_panics_on_mutated_seds(i in 0usize..20, cut in 0usize..4000, insert in "[<>&;/a-z\"=!\\[\\]#x0-9 ]{0,12}") {
        let xml = encode_unchecked(&full()[i], CdmVersion::V4_2);
        let mut at = cut.min(xml.len());
        while !xml.is_char_boundary(at) { at -= 1; }
        let mutated = format!("{}{}{}", &xml[..at], insert, &xml[at..]);
        let _ = decode(mutated.as_bytes(), &DecodeOptions::default());
    }
}
