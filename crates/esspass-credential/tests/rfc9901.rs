#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! RFC 9901 (SD-JWT) examples as tests, byte for byte where the RFC gives bytes.
//!
//! Source: draft-ietf-oauth-selective-disclosure-jwt-22 (29 May 2025), whose examples the RFC
//! publishes unchanged. Sections: §4.2.1–§4.2.4 (Disclosures and digests), §5 (the example SD-JWT:
//! issuance, presentation with KB-JWT, processed payload), §6.1–§6.3 (flat, structured and
//! recursive disclosures), Appendix A.3 (SD-JWT VC, `typ: dc+sd-jwt`) and Appendix A.5 (the issuer
//! key). The RFC wraps base64 strings at 72 characters; [`j`] joins the lines again. JSON blocks
//! are compared as JSON values (the RFC pretty-prints them).

use esspass_credential::jose::CompactJws;
use esspass_credential::sdjwt::disclosure::digest_of;
use esspass_credential::sdjwt::process::process;
use esspass_credential::sdjwt::{Disclosure, SdJwt, sd_hash};
use esspass_credential::verify::{CheckResult, Expectation, Outcome, Verifier};
use esspass_credential::x509::ChainValidator;
use esspass_credential::{Jwk, b64};
use serde_json::{Map, Value, json};

/// Join an RFC-wrapped base64 string.
fn j(wrapped: &str) -> String {
    wrapped.split_whitespace().collect()
}

fn parse_json(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

fn object(s: &str) -> Map<String, Value> {
    match parse_json(s) {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// Appendix A.5: the issuer's public key for every example signature.
fn issuer_point() -> Vec<u8> {
    Jwk::from_value(&json!({
        "kty": "EC",
        "crv": "P-256",
        "x": "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
        "y": "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"
    }))
    .unwrap()
    .point()
    .unwrap()
}

/// The holder key of the examples (their `cnf.jwk`).
fn holder_point() -> Vec<u8> {
    Jwk::from_value(&json!({
        "kty": "EC",
        "crv": "P-256",
        "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
        "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"
    }))
    .unwrap()
    .point()
    .unwrap()
}

/// Check one row of a Disclosure table: the digest the RFC shows, and the decoded contents.
fn row(disclosure: &str, digest: &str, contents: Value) -> Disclosure {
    let d = Disclosure::parse(disclosure).unwrap_or_else(|e| panic!("{disclosure}: {e}"));
    assert_eq!(d.digest(), digest, "digest of {disclosure}");
    assert_eq!(d.encoded, disclosure, "kept as given");
    let expected = contents.as_array().unwrap();
    assert_eq!(Value::String(d.salt.clone()), expected[0]);
    match expected.len() {
        3 => {
            assert_eq!(d.name.as_deref(), expected[1].as_str());
            assert_eq!(d.value, expected[2]);
        }
        2 => {
            assert_eq!(d.name, None);
            assert_eq!(d.value, expected[1]);
        }
        n => panic!("a disclosure has 2 or 3 elements, not {n}"),
    }
    d
}

// ---------------------------------------------------------------------------------------------
// §4.2 Disclosures

const FAMILY_NAME: &str = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJm
   YW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";

#[test]
fn s4_2_1_object_property_disclosure_and_its_digest() {
    // §4.2.1 gives the Disclosure; §4.2.3 its digest.
    let d = row(&j(FAMILY_NAME), "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0", json!(["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"]));
    // The encoding of ["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"] (with the spaces).
    assert_eq!(b64::decode(&d.encoded).unwrap(), "[\"_26bc4LT-ac6q2KI6cBW5es\", \"family_name\", \"Möbius\"]".as_bytes());
}

#[test]
fn s4_2_1_equivalent_encodings_parse_alike_but_hash_differently() {
    let variants = [
        // A different way to encode the unicode umlaut.
        j("WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNX
           HUwMGY2Yml1cyJd"),
        // No white space.
        j("WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsImZhbWlseV9uYW1lIiwiTcO2Y
           ml1cyJd"),
        // Newline characters between elements.
        j("WwoiXzI2YmM0TFQtYWM2cTJLSTZjQlc1ZXMiLAoiZmFtaWx5X25hbWUiLAoiT
           cO2Yml1cyIKXQ"),
    ];
    let mut digests = vec![digest_of(&j(FAMILY_NAME))];
    for v in &variants {
        let d = Disclosure::parse(v).unwrap();
        assert_eq!((d.salt.as_str(), d.name.as_deref(), &d.value), ("_26bc4LT-ac6q2KI6cBW5es", Some("family_name"), &json!("Möbius")));
        digests.push(d.digest());
    }
    digests.sort();
    digests.dedup();
    assert_eq!(digests.len(), 4, "the digest is over the string as given, so each encoding has its own");
}

#[test]
fn s4_2_1_our_encoder_writes_the_no_white_space_variant() {
    let ours = Disclosure::with_salt("_26bc4LT-ac6q2KI6cBW5es", Some("family_name"), json!("Möbius"));
    assert_eq!(
        ours.encoded,
        j("WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsImZhbWlseV9uYW1lIiwiTcO2Y
           ml1cyJd")
    );
}

#[test]
fn s4_2_2_array_element_disclosure_and_s4_2_4_2_embedding() {
    let d = row("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0", "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs", json!(["lklxF5jMYlGTPUovMNIvCA", "FR"]));
    let payload = object(r#"{"nationalities": ["DE", {"...":"w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"}, "US"]}"#);
    // "...would output an array with only two elements, ["DE", "US"], unless the matching Disclosure
    // for the second element is received, in which case the output would be ... ["DE", "FR", "US"]."
    assert_eq!(Value::Object(process(&payload, &[]).unwrap().claims), json!({"nationalities": ["DE", "US"]}));
    assert_eq!(Value::Object(process(&payload, &[d.encoded]).unwrap().claims), json!({"nationalities": ["DE", "FR", "US"]}));
}

#[test]
fn s4_2_4_1_object_property_embedding() {
    let payload = object(r#"{"given_name": "Alice", "_sd": ["X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"]}"#);
    let p = process(&payload, &[j(FAMILY_NAME)]).unwrap();
    assert_eq!(Value::Object(p.claims), json!({"given_name": "Alice", "family_name": "Möbius"}));
    assert_eq!(Value::Object(process(&payload, &[]).unwrap().claims), json!({"given_name": "Alice"}));
}

// ---------------------------------------------------------------------------------------------
// §5 Example SD-JWT

const S5_INPUT: &str = r#"{
     "sub": "user_42",
     "given_name": "John",
     "family_name": "Doe",
     "email": "johndoe@example.com",
     "phone_number": "+1-202-555-0101",
     "phone_number_verified": true,
     "address": {
       "street_address": "123 Main St",
       "locality": "Anytown",
       "region": "Anystate",
       "country": "US"
     },
     "birthdate": "1940-01-01",
     "updated_at": 1570000000,
     "nationalities": [
       "US",
       "DE"
     ]
   }"#;

const S5_PAYLOAD: &str = r#"{
     "_sd": [
       "CrQe7S5kqBAHt-nMYXgc6bdt2SH5aTY1sU_M-PgkjPI",
       "JzYjH4svliH0R3PyEMfeZu6Jt69u5qehZo7F7EPYlSE",
       "PorFbpKuVu6xymJagvkFsFXAbRoc2JGlAUA2BA4o7cI",
       "TGf4oLbgwd5JQaHyKVQZU9UdGE0w5rtDsrZzfUaomLo",
       "XQ_3kPKt1XyX7KANkqVR6yZ2Va5NrPIvPYbyMvRKBMM",
       "XzFrzwscM6Gn6CJDc6vVK8BkMnfG8vOSKfpPIZdAfdE",
       "gbOsI4Edq2x2Kw-w5wPEzakob9hV1cRD0ATN3oQL9JM",
       "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4"
     ],
     "iss": "https://issuer.example.com",
     "iat": 1683000000,
     "exp": 1883000000,
     "sub": "user_42",
     "nationalities": [
       {
         "...": "pFndjkZ_VCzmyTa6UjlZo3dh-ko8aIKQc9DlGzhaVYo"
       },
       {
         "...": "7Cf6JkPudry3lcbwHgeZ8khAv1U1OSlerP0VkBJrWZ0"
       }
     ],
     "_sd_alg": "sha-256",
     "cnf": {
       "jwk": {
         "kty": "EC",
         "crv": "P-256",
         "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
         "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"
       }
     }
   }"#;

/// The Disclosure table of §5.1: (Disclosure, SHA-256 Hash, Contents).
fn s5_disclosures() -> Vec<(String, &'static str, Value)> {
    vec![
        (j("WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9o
            biJd"), "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4", json!(["2GLC42sKQveCfGfryNRN9w", "given_name", "John"])),
        (j("WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImZhbWlseV9uYW1lIiwgIkRv
            ZSJd"), "TGf4oLbgwd5JQaHyKVQZU9UdGE0w5rtDsrZzfUaomLo", json!(["eluV5Og3gSNII8EYnsxA_A", "family_name", "Doe"])),
        (j("WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImVtYWlsIiwgImpvaG5kb2VA
            ZXhhbXBsZS5jb20iXQ"), "JzYjH4svliH0R3PyEMfeZu6Jt69u5qehZo7F7EPYlSE", json!(["6Ij7tM-a5iVPGboS5tmvVA", "email", "johndoe@example.com"])),
        (j("WyJlSThaV205UW5LUHBOUGVOZW5IZGhRIiwgInBob25lX251bWJlciIsICIr
            MS0yMDItNTU1LTAxMDEiXQ"), "PorFbpKuVu6xymJagvkFsFXAbRoc2JGlAUA2BA4o7cI", json!(["eI8ZWm9QnKPpNPeNenHdhQ", "phone_number", "+1-202-555-0101"])),
        (j("WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgInBob25lX251bWJlcl92ZXJp
            ZmllZCIsIHRydWVd"), "XQ_3kPKt1XyX7KANkqVR6yZ2Va5NrPIvPYbyMvRKBMM", json!(["Qg_O64zqAxe412a108iroA", "phone_number_verified", true])),
        (j("WyJBSngtMDk1VlBycFR0TjRRTU9xUk9BIiwgImFkZHJlc3MiLCB7InN0cmVl
            dF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxvY2FsaXR5IjogIkFueXRv
            d24iLCAicmVnaW9uIjogIkFueXN0YXRlIiwgImNvdW50cnkiOiAiVVMifV0"), "XzFrzwscM6Gn6CJDc6vVK8BkMnfG8vOSKfpPIZdAfdE",
            json!(["AJx-095VPrpTtN4QMOqROA", "address", {"street_address": "123 Main St", "locality": "Anytown", "region": "Anystate", "country": "US"}])),
        (j("WyJQYzMzSk0yTGNoY1VfbEhnZ3ZfdWZRIiwgImJpcnRoZGF0ZSIsICIxOTQw
            LTAxLTAxIl0"), "gbOsI4Edq2x2Kw-w5wPEzakob9hV1cRD0ATN3oQL9JM", json!(["Pc33JM2LchcU_lHggv_ufQ", "birthdate", "1940-01-01"])),
        (j("WyJHMDJOU3JRZmpGWFE3SW8wOXN5YWpBIiwgInVwZGF0ZWRfYXQiLCAxNTcw
            MDAwMDAwXQ"), "CrQe7S5kqBAHt-nMYXgc6bdt2SH5aTY1sU_M-PgkjPI", json!(["G02NSrQfjFXQ7Io09syajA", "updated_at", 1570000000])),
        (j("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0"), "pFndjkZ_VCzmyTa6UjlZo3dh-ko8aIKQc9DlGzhaVYo", json!(["lklxF5jMYlGTPUovMNIvCA", "US"])),
        (j("WyJuUHVvUW5rUkZxM0JJZUFtN0FuWEZBIiwgIkRFIl0"), "7Cf6JkPudry3lcbwHgeZ8khAv1U1OSlerP0VkBJrWZ0", json!(["nPuoQnkRFq3BIeAm7AnXFA", "DE"])),
    ]
}

const S5_JWT: &str = "
   eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImV4YW1wbGUrc2Qtand0In0.eyJfc2QiOiBb
   IkNyUWU3UzVrcUJBSHQtbk1ZWGdjNmJkdDJTSDVhVFkxc1VfTS1QZ2tqUEkiLCAiSnpZ
   akg0c3ZsaUgwUjNQeUVNZmVadTZKdDY5dTVxZWhabzdGN0VQWWxTRSIsICJQb3JGYnBL
   dVZ1Nnh5bUphZ3ZrRnNGWEFiUm9jMkpHbEFVQTJCQTRvN2NJIiwgIlRHZjRvTGJnd2Q1
   SlFhSHlLVlFaVTlVZEdFMHc1cnREc3JaemZVYW9tTG8iLCAiWFFfM2tQS3QxWHlYN0tB
   TmtxVlI2eVoyVmE1TnJQSXZQWWJ5TXZSS0JNTSIsICJYekZyendzY002R242Q0pEYzZ2
   Vks4QmtNbmZHOHZPU0tmcFBJWmRBZmRFIiwgImdiT3NJNEVkcTJ4Mkt3LXc1d1BFemFr
   b2I5aFYxY1JEMEFUTjNvUUw5Sk0iLCAianN1OXlWdWx3UVFsaEZsTV8zSmx6TWFTRnpn
   bGhRRzBEcGZheVF3TFVLNCJdLCAiaXNzIjogImh0dHBzOi8vaXNzdWVyLmV4YW1wbGUu
   Y29tIiwgImlhdCI6IDE2ODMwMDAwMDAsICJleHAiOiAxODgzMDAwMDAwLCAic3ViIjog
   InVzZXJfNDIiLCAibmF0aW9uYWxpdGllcyI6IFt7Ii4uLiI6ICJwRm5kamtaX1ZDem15
   VGE2VWpsWm8zZGgta284YUlLUWM5RGxHemhhVllvIn0sIHsiLi4uIjogIjdDZjZKa1B1
   ZHJ5M2xjYndIZ2VaOGtoQXYxVTFPU2xlclAwVmtCSnJXWjAifV0sICJfc2RfYWxnIjog
   InNoYS0yNTYiLCAiY25mIjogeyJqd2siOiB7Imt0eSI6ICJFQyIsICJjcnYiOiAiUC0y
   NTYiLCAieCI6ICJUQ0FFUjE5WnZ1M09IRjRqNFc0dmZTVm9ISVAxSUxpbERsczd2Q2VH
   ZW1jIiwgInkiOiAiWnhqaVdXYlpNUUdIVldLVlE0aGJTSWlyc1ZmdWVjQ0U2dDRqVDlG
   MkhaUSJ9fX0.ow2VRoOnXDjBhV-c2XUX9zWmHhbd5hao3xa39DfE4UX_wlsBlh5KBsmK
   eDd59GgpIbWFIomQWRy3A4L-St_6aQ";

/// "Adding the Disclosures produces the SD-JWT": what follows the Issuer-signed JWT in §5.1.
const S5_ISSUANCE_TAIL: &str = "~WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgI
   mdpdmVuX25hbWUiLCAiSm9obiJd~WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImZh
   bWlseV9uYW1lIiwgIkRvZSJd~WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImVtYWl
   sIiwgImpvaG5kb2VAZXhhbXBsZS5jb20iXQ~WyJlSThaV205UW5LUHBOUGVOZW5IZGhR
   IiwgInBob25lX251bWJlciIsICIrMS0yMDItNTU1LTAxMDEiXQ~WyJRZ19PNjR6cUF4Z
   TQxMmExMDhpcm9BIiwgInBob25lX251bWJlcl92ZXJpZmllZCIsIHRydWVd~WyJBSngt
   MDk1VlBycFR0TjRRTU9xUk9BIiwgImFkZHJlc3MiLCB7InN0cmVldF9hZGRyZXNzIjog
   IjEyMyBNYWluIFN0IiwgImxvY2FsaXR5IjogIkFueXRvd24iLCAicmVnaW9uIjogIkFu
   eXN0YXRlIiwgImNvdW50cnkiOiAiVVMifV0~WyJQYzMzSk0yTGNoY1VfbEhnZ3ZfdWZR
   IiwgImJpcnRoZGF0ZSIsICIxOTQwLTAxLTAxIl0~WyJHMDJOU3JRZmpGWFE3SW8wOXN5
   YWpBIiwgInVwZGF0ZWRfYXQiLCAxNTcwMDAwMDAwXQ~WyJsa2x4RjVqTVlsR1RQVW92T
   U5JdkNBIiwgIlVTIl0~WyJuUHVvUW5rUkZxM0JJZUFtN0FuWEZBIiwgIkRFIl0~";

/// §5.2: what follows the Issuer-signed JWT ("as shown above in the beginning") in the SD-JWT+KB.
const S5_PRESENTATION_TAIL: &str = "~WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgI
   mZhbWlseV9uYW1lIiwgIkRvZSJd~WyJBSngtMDk1VlBycFR0TjRRTU9xUk9BIiwgImFk
   ZHJlc3MiLCB7InN0cmVldF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxvY2FsaXR5
   IjogIkFueXRvd24iLCAicmVnaW9uIjogIkFueXN0YXRlIiwgImNvdW50cnkiOiAiVVMi
   fV0~WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd
   ~WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0~eyJhbGciOiAiRVMyNTYiLCA
   idHlwIjogImtiK2p3dCJ9.eyJub25jZSI6ICIxMjM0NTY3ODkwIiwgImF1ZCI6ICJodH
   RwczovL3ZlcmlmaWVyLmV4YW1wbGUub3JnIiwgImlhdCI6IDE3NDg1MzcyNDMsICJzZF
   9oYXNoIjogIkczSTh6LWNGTUFUQUsyZXA4TVhXay12bmpJM1g2LWFhaFllVTlUdnp6M0
   UifQ.PqD8kiTmgP5PDvnRB8PzuzHYU5hH8bEw88jFN9aT5a5CblBjVcFig044UoWeJU6
   cUqBPAXVh0XAL8of4_Sp71g";

const S5_KB_PAYLOAD: &str = r#"{
     "nonce": "1234567890",
     "aud": "https://verifier.example.org",
     "iat": 1748537243,
     "sd_hash": "G3I8z-cFMATAK2ep8MXWk-vnjI3X6-aahYeU9Tvzz3E"
   }"#;

const S5_PROCESSED: &str = r#"{
     "iss": "https://issuer.example.com",
     "iat": 1683000000,
     "exp": 1883000000,
     "sub": "user_42",
     "nationalities": [
       "US"
     ],
     "cnf": {
       "jwk": {
         "kty": "EC",
         "crv": "P-256",
         "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
         "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"
       }
     },
     "family_name": "Doe",
     "address": {
       "street_address": "123 Main St",
       "locality": "Anytown",
       "region": "Anystate",
       "country": "US"
     },
     "given_name": "John"
   }"#;

#[test]
fn s5_1_disclosure_table() {
    let payload = object(S5_PAYLOAD);
    let embedded: Vec<String> = serde_json::to_string(&payload).unwrap().split('"').map(str::to_owned).collect();
    for (d, digest, contents) in s5_disclosures() {
        row(&d, digest, contents);
        assert!(embedded.iter().any(|s| s == digest), "{digest} is embedded in the §5.1 payload");
    }
}

#[test]
fn s5_1_issuer_signed_jwt_verifies_with_the_a5_key() {
    let jws = CompactJws::parse(&j(S5_JWT)).unwrap();
    assert_eq!(Value::Object(jws.header.clone()), json!({"alg": "ES256", "typ": "example+sd-jwt"}));
    assert_eq!(jws.payload, object(S5_PAYLOAD));
    assert!(jws.verify_with_point(&issuer_point()));
    // Not with the holder key, and not after changing one payload byte.
    assert!(!jws.verify_with_point(&holder_point()));
    let mut tampered = jws.clone();
    tampered.signing_input = tampered.signing_input.replacen("eyJfc2QiOiBb", "eyJfc2QiOiBc", 1);
    assert!(!tampered.verify_with_point(&issuer_point()));
}

#[test]
fn s5_1_issuance_splits_into_the_jwt_and_the_table() {
    let issuance = format!("{}{}", j(S5_JWT), j(S5_ISSUANCE_TAIL));
    let sd = SdJwt::parse(&issuance).unwrap();
    assert_eq!(sd.jwt, j(S5_JWT));
    assert_eq!(sd.kb_jwt, None);
    let table: Vec<String> = s5_disclosures().into_iter().map(|(d, _, _)| d).collect();
    assert_eq!(sd.disclosures, table);
    assert_eq!(sd.serialize(), issuance, "serialisation round-trips byte for byte");
}

#[test]
fn s5_1_processing_every_disclosure_restores_the_input_claims() {
    let issuance = format!("{}{}", j(S5_JWT), j(S5_ISSUANCE_TAIL));
    let sd = SdJwt::parse(&issuance).unwrap();
    let jws = CompactJws::parse(&sd.jwt).unwrap();
    let mut claims = process(&jws.payload, &sd.disclosures).unwrap().claims;
    // The Issuer added iss, iat, exp and cnf to the input JWT Claims Set; nothing else differs.
    assert_eq!(claims.remove("iss"), Some(json!("https://issuer.example.com")));
    assert_eq!(claims.remove("iat"), Some(json!(1683000000)));
    assert_eq!(claims.remove("exp"), Some(json!(1883000000)));
    assert!(claims.remove("cnf").is_some());
    assert_eq!(Value::Object(claims), parse_json(S5_INPUT));
}

#[test]
fn s5_2_presentation_kb_jwt_and_processed_payload() {
    let presentation = format!("{}{}", j(S5_JWT), j(S5_PRESENTATION_TAIL));
    let sd = SdJwt::parse(&presentation).unwrap();
    assert_eq!(sd.jwt, j(S5_JWT));
    assert_eq!(sd.disclosures.len(), 4, "given_name, family_name, address and one nationality");
    // sd_hash over "<Issuer-signed JWT>~<D1>~...~<Dn>~", byte for byte.
    assert_eq!(sd_hash(&sd.without_kb()), "G3I8z-cFMATAK2ep8MXWk-vnjI3X6-aahYeU9Tvzz3E");
    let kb = CompactJws::parse(sd.kb_jwt.as_deref().unwrap()).unwrap();
    assert_eq!(Value::Object(kb.header.clone()), json!({"alg": "ES256", "typ": "kb+jwt"}));
    assert_eq!(kb.typ(), Some("kb+jwt"));
    assert_eq!(kb.payload, object(S5_KB_PAYLOAD));
    // Signed by the key in cnf.jwk (A.5: "found in the examples as the content of the cnf claim").
    let issuer_jws = CompactJws::parse(&sd.jwt).unwrap();
    let cnf = Jwk::from_value(&issuer_jws.payload["cnf"]["jwk"]).unwrap();
    assert_eq!(cnf.point().unwrap(), holder_point());
    assert!(kb.verify_with_point(&holder_point()));
    assert!(!kb.verify_with_point(&issuer_point()));
    // The Processed SD-JWT Payload.
    let p = process(&issuer_jws.payload, &sd.disclosures).unwrap();
    assert_eq!(p.claims, object(S5_PROCESSED));
    assert_eq!(p.disclosed.len(), 4);
}

#[test]
fn s5_2_dropping_a_disclosure_changes_sd_hash() {
    let presentation = format!("{}{}", j(S5_JWT), j(S5_PRESENTATION_TAIL));
    let mut sd = SdJwt::parse(&presentation).unwrap();
    sd.disclosures.pop();
    assert_ne!(sd_hash(&sd.without_kb()), "G3I8z-cFMATAK2ep8MXWk-vnjI3X6-aahYeU9Tvzz3E");
}

#[test]
fn s5_example_is_not_an_sd_jwt_vc() {
    // typ example+sd-jwt: our verifier, which reads SD-JWT VCs only, stops at the header.
    let presentation = format!("{}{}", j(S5_JWT), j(S5_PRESENTATION_TAIL));
    let v = Verifier::new(ChainValidator::new(vec![]), None, None);
    let r = v.verify(&presentation, &Expectation { nonce: Some("1234567890"), aud: Some("https://verifier.example.org") }, time::OffsetDateTime::from_unix_timestamp(1748537243).unwrap());
    assert_eq!(r.outcome, Outcome::Invalid);
    assert_eq!(r.check("format").unwrap().result, CheckResult::Pass);
    assert_eq!(r.check("jws.header").unwrap().code, Some(esspass_core::ErrorCode::WrongTyp));
}

// ---------------------------------------------------------------------------------------------
// §6 Nested data

const S6_INPUT: &str = r#"{
     "sub": "6c5c0a49-b589-431d-bae7-219122a9ec2c",
     "address": {
       "street_address": "Schulstr. 12",
       "locality": "Schulpforta",
       "region": "Sachsen-Anhalt",
       "country": "DE"
     }
   }"#;

/// The processed claims without the iss/iat/exp the Issuer added.
fn without_jwt_claims(mut m: Map<String, Value>) -> Value {
    for k in ["iss", "iat", "exp"] {
        assert!(m.remove(k).is_some(), "{k} kept");
    }
    Value::Object(m)
}

fn s6_sub_claims() -> Vec<String> {
    vec![
        row(&j("WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgInN0cmVldF9hZGRyZXNzIiwg
                IlNjaHVsc3RyLiAxMiJd"), "9gjVuXtdFROCgRrtNcGUXmF65rdezi_6Er_j76kmYyM", json!(["2GLC42sKQveCfGfryNRN9w", "street_address", "Schulstr. 12"]))
        .encoded,
        row(&j("WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImxvY2FsaXR5IiwgIlNjaHVs
                cGZvcnRhIl0"), "6vh9bq-zS4GKM_7GpggVbYzzu6oOGXrmNVGPHP75Ud0", json!(["eluV5Og3gSNII8EYnsxA_A", "locality", "Schulpforta"]))
        .encoded,
        row(&j("WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgInJlZ2lvbiIsICJTYWNoc2Vu
                LUFuaGFsdCJd"), "KURDPh4ZC19-3tiz-Df39V8eidy1oV3a3H1Da2N0g88", json!(["6Ij7tM-a5iVPGboS5tmvVA", "region", "Sachsen-Anhalt"]))
        .encoded,
        row(&j("WyJlSThaV205UW5LUHBOUGVOZW5IZGhRIiwgImNvdW50cnkiLCAiREUiXQ"), "WN9r9dCBJ8HTCsS2jKASxTjEyW5m5x65_Z_2ro2jfXM", json!(["eI8ZWm9QnKPpNPeNenHdhQ", "country", "DE"])).encoded,
    ]
}

#[test]
fn s6_1_flat() {
    let payload = object(
        r#"{
     "_sd": [
       "fOBUSQvo46yQO-wRwXBcGqvnbKIueISEL961_Sjd4do"
     ],
     "iss": "https://issuer.example.com",
     "iat": 1683000000,
     "exp": 1883000000,
     "sub": "6c5c0a49-b589-431d-bae7-219122a9ec2c",
     "_sd_alg": "sha-256"
   }"#,
    );
    let address = row(
        &j("WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImFkZHJlc3MiLCB7InN0cmVl
            dF9hZGRyZXNzIjogIlNjaHVsc3RyLiAxMiIsICJsb2NhbGl0eSI6ICJTY2h1
            bHBmb3J0YSIsICJyZWdpb24iOiAiU2FjaHNlbi1BbmhhbHQiLCAiY291bnRy
            eSI6ICJERSJ9XQ"),
        "fOBUSQvo46yQO-wRwXBcGqvnbKIueISEL961_Sjd4do",
        json!(["2GLC42sKQveCfGfryNRN9w", "address", {"street_address": "Schulstr. 12", "locality": "Schulpforta", "region": "Sachsen-Anhalt", "country": "DE"}]),
    );
    let p = process(&payload, &[address.encoded]).unwrap();
    assert_eq!(without_jwt_claims(p.claims), parse_json(S6_INPUT));
}

#[test]
fn s6_2_structured_and_one_open() {
    let payload = object(
        r#"{
     "iss": "https://issuer.example.com",
     "iat": 1683000000,
     "exp": 1883000000,
     "sub": "6c5c0a49-b589-431d-bae7-219122a9ec2c",
     "address": {
       "_sd": [
         "6vh9bq-zS4GKM_7GpggVbYzzu6oOGXrmNVGPHP75Ud0",
         "9gjVuXtdFROCgRrtNcGUXmF65rdezi_6Er_j76kmYyM",
         "KURDPh4ZC19-3tiz-Df39V8eidy1oV3a3H1Da2N0g88",
         "WN9r9dCBJ8HTCsS2jKASxTjEyW5m5x65_Z_2ro2jfXM"
       ]
     },
     "_sd_alg": "sha-256"
   }"#,
    );
    let subs = s6_sub_claims();
    let p = process(&payload, &subs).unwrap();
    assert_eq!(without_jwt_claims(p.claims), parse_json(S6_INPUT));
    // No disclosure at all leaves an empty address object.
    assert_eq!(process(&payload, &[]).unwrap().claims["address"], json!({}));

    let one_open = object(
        r#"{
     "iss": "https://issuer.example.com",
     "iat": 1683000000,
     "exp": 1883000000,
     "sub": "6c5c0a49-b589-431d-bae7-219122a9ec2c",
     "address": {
       "_sd": [
         "6vh9bq-zS4GKM_7GpggVbYzzu6oOGXrmNVGPHP75Ud0",
         "9gjVuXtdFROCgRrtNcGUXmF65rdezi_6Er_j76kmYyM",
         "KURDPh4ZC19-3tiz-Df39V8eidy1oV3a3H1Da2N0g88"
       ],
       "country": "DE"
     },
     "_sd_alg": "sha-256"
   }"#,
    );
    // "there would be no Disclosure for country, since it is provided in the clear"
    let p = process(&one_open, &subs[..3]).unwrap();
    assert_eq!(without_jwt_claims(p.claims), parse_json(S6_INPUT));
    // Offering the country Disclosure anyway is an unreferenced Disclosure (§7.1 step 5).
    assert_eq!(process(&one_open, &subs).unwrap_err().code, esspass_core::ErrorCode::UnreferencedDisclosure);
}

#[test]
fn s6_3_recursive() {
    let payload = object(
        r#"{
     "_sd": [
       "HvrKX6fPV0v9K_yCVFBiLFHsMaxcD_114Em6VT8x1lg"
     ],
     "iss": "https://issuer.example.com",
     "iat": 1683000000,
     "exp": 1883000000,
     "sub": "6c5c0a49-b589-431d-bae7-219122a9ec2c",
     "_sd_alg": "sha-256"
   }"#,
    );
    let address = row(
        &j("WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgImFkZHJlc3MiLCB7Il9zZCI6
            IFsiNnZoOWJxLXpTNEdLTV83R3BnZ1ZiWXp6dTZvT0dYcm1OVkdQSFA3NVVk
            MCIsICI5Z2pWdVh0ZEZST0NnUnJ0TmNHVVhtRjY1cmRlemlfNkVyX2o3Nmtt
            WXlNIiwgIktVUkRQaDRaQzE5LTN0aXotRGYzOVY4ZWlkeTFvVjNhM0gxRGEy
            TjBnODgiLCAiV045cjlkQ0JKOEhUQ3NTMmpLQVN4VGpFeVc1bTV4NjVfWl8y
            cm8yamZYTSJdfV0"),
        "HvrKX6fPV0v9K_yCVFBiLFHsMaxcD_114Em6VT8x1lg",
        json!(["Qg_O64zqAxe412a108iroA", "address", {"_sd": [
            "6vh9bq-zS4GKM_7GpggVbYzzu6oOGXrmNVGPHP75Ud0",
            "9gjVuXtdFROCgRrtNcGUXmF65rdezi_6Er_j76kmYyM",
            "KURDPh4ZC19-3tiz-Df39V8eidy1oV3a3H1Da2N0g88",
            "WN9r9dCBJ8HTCsS2jKASxTjEyW5m5x65_Z_2ro2jfXM"]}]),
    );
    let subs = s6_sub_claims();
    let mut all = subs.clone();
    all.push(address.encoded.clone());
    let p = process(&payload, &all).unwrap();
    assert_eq!(without_jwt_claims(p.claims), parse_json(S6_INPUT));
    // The address alone: an empty object (§7.1 step 3.5).
    assert_eq!(process(&payload, std::slice::from_ref(&address.encoded)).unwrap().claims["address"], json!({}));
    // A sub-claim without the address Disclosure has nowhere to go: rejected (§4.2.6, §7.1 step 5).
    assert_eq!(process(&payload, &subs[..1]).unwrap_err().code, esspass_core::ErrorCode::UnreferencedDisclosure);
}

// ---------------------------------------------------------------------------------------------
// Appendix A.3: SD-JWT VC (typ dc+sd-jwt)

const A3_INPUT: &str = r#"{
     "vct": "urn:eudi:pid:de:1",
     "iss": "https://pid-issuer.bund.de.example",
     "given_name": "Erika",
     "family_name": "Mustermann",
     "birthdate": "1963-08-12",
     "address": {
       "street_address": "Heidestraße 17",
       "locality": "Köln",
       "postal_code": "51147",
       "country": "DE"
     },
     "nationalities": [
       "DE"
     ],
     "sex": 2,
     "birth_family_name": "Gabler",
     "place_of_birth": {
       "locality": "Berlin",
       "country": "DE"
     },
     "age_equal_or_over": {
       "12": true,
       "14": true,
       "16": true,
       "18": true,
       "21": true,
       "65": false
     },
     "age_in_years": 62,
     "age_birth_year": 1963,
     "issuance_date": "2020-03-11",
     "expiry_date": "2030-03-12",
     "issuing_authority": "DE",
     "issuing_country": "DE"
   }"#;

const A3_ISSUED: &str = "
   eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImRjK3NkLWp3dCJ9.eyJfc2QiOiBbIjBIWm1
   uU0lQejMzN2tTV2U3QzM0bC0tODhnekppLWVCSjJWel9ISndBVGciLCAiMUNybjAzV21
   VZVJXcDR6d1B2dkNLWGw5WmFRcC1jZFFWX2dIZGFHU1dvdyIsICIycjAwOWR6dkh1VnJ
   XclJYVDVrSk1tSG5xRUhIbldlME1MVlp3OFBBVEI4IiwgIjZaTklTRHN0NjJ5bWxyT0F
   rYWRqZEQ1WnVsVDVBMjk5Sjc4U0xoTV9fT3MiLCAiNzhqZzc3LUdZQmVYOElRZm9FTFB
   5TDBEWVBkbWZabzBKZ1ZpVjBfbEtDTSIsICI5MENUOEFhQlBibjVYOG5SWGtlc2p1MWk
   wQnFoV3FaM3dxRDRqRi1xREdrIiwgIkkwMGZjRlVvRFhDdWNwNXl5MnVqcVBzc0RWR2F
   XTmlVbGlOel9hd0QwZ2MiLCAiS2pBWGdBQTlONVdIRUR0UkloNHU1TW4xWnNXaXhoaFd
   BaVgtQTRRaXdnQSIsICJMYWk2SVU2ZDdHUWFnWFI3QXZHVHJuWGdTbGQzejhFSWdfZnY
   zZk9aMVdnIiwgIkxlemphYlJxaVpPWHpFWW1WWmY4Uk1pOXhBa2QzX00xTFo4VTdFNHM
   zdTQiLCAiUlR6M3FUbUZOSGJwV3JyT01aUzQxRjQ3NGtGcVJ2M3ZJUHF0aDZQVWhsTSI
   sICJXMTRYSGJVZmZ6dVc0SUZNanBTVGIxbWVsV3hVV2Y0Tl9vMmxka2tJcWM4IiwgIld
   UcEk3UmNNM2d4WnJ1UnBYemV6U2JrYk9yOTNQVkZ2V3g4d29KM2oxY0UiLCAiX29oSlZ
   JUUlCc1U0dXBkTlM0X3c0S2IxTUhxSjBMOXFMR3NoV3E2SlhRcyIsICJ5NTBjemMwSVN
   DaHlfYnNiYTFkTW9VdUFPUTVBTW1PU2ZHb0VlODF2MUZVIl0sICJpc3MiOiAiaHR0cHM
   6Ly9waWQtaXNzdWVyLmJ1bmQuZGUuZXhhbXBsZSIsICJpYXQiOiAxNjgzMDAwMDAwLCA
   iZXhwIjogMTg4MzAwMDAwMCwgInZjdCI6ICJ1cm46ZXVkaTpwaWQ6ZGU6MSIsICJfc2R
   fYWxnIjogInNoYS0yNTYiLCAiY25mIjogeyJqd2siOiB7Imt0eSI6ICJFQyIsICJjcnY
   iOiAiUC0yNTYiLCAieCI6ICJUQ0FFUjE5WnZ1M09IRjRqNFc0dmZTVm9ISVAxSUxpbER
   sczd2Q2VHZW1jIiwgInkiOiAiWnhqaVdXYlpNUUdIVldLVlE0aGJTSWlyc1ZmdWVjQ0U
   2dDRqVDlGMkhaUSJ9fX0.faxhsvoEKQ8spuwclkzyHKwRAAzYnIu6MSVLgIuzRJ1cccT
   jRp4bdSmYxmY2EB-F7-7UdnPANNL4j6JW-F8_gA~WyIyR0xDNDJzS1F2ZUNmR2ZyeU5S
   Tjl3IiwgImdpdmVuX25hbWUiLCAiRXJpa2EiXQ~WyJlbHVWNU9nM2dTTklJOEVZbnN4Q
   V9BIiwgImZhbWlseV9uYW1lIiwgIk11c3Rlcm1hbm4iXQ~WyI2SWo3dE0tYTVpVlBHYm
   9TNXRtdlZBIiwgImJpcnRoZGF0ZSIsICIxOTYzLTA4LTEyIl0~WyJlSThaV205UW5LUH
   BOUGVOZW5IZGhRIiwgInN0cmVldF9hZGRyZXNzIiwgIkhlaWRlc3RyYVx1MDBkZmUgMT
   ciXQ~WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgImxvY2FsaXR5IiwgIktcdTAwZjZ
   sbiJd~WyJBSngtMDk1VlBycFR0TjRRTU9xUk9BIiwgInBvc3RhbF9jb2RlIiwgIjUxMT
   Q3Il0~WyJQYzMzSk0yTGNoY1VfbEhnZ3ZfdWZRIiwgImNvdW50cnkiLCAiREUiXQ~WyJ
   HMDJOU3JRZmpGWFE3SW8wOXN5YWpBIiwgImFkZHJlc3MiLCB7Il9zZCI6IFsiQUxaRVJ
   zU241V05pRVhkQ2tzVzhJNXFRdzNfTnBBblJxcFNBWkR1ZGd3OCIsICJEX19XX3VZY3Z
   SejN0dlVuSUp2QkRIaVRjN0NfX3FIZDB4Tkt3SXNfdzlrIiwgImVCcENYVTFKNWRoSDJ
   nNHQ4UVlOVzVFeFM5QXhVVmJsVW9kb0xZb1BobzAiLCAieE9QeTktZ0pBTEs2VWJXS0Z
   MUjg1Y09CeVVEM0FiTndGZzNJM1lmUUVfSSJdfV0~WyJsa2x4RjVqTVlsR1RQVW92TU5
   JdkNBIiwgIm5hdGlvbmFsaXRpZXMiLCBbIkRFIl1d~WyJuUHVvUW5rUkZxM0JJZUFtN0
   FuWEZBIiwgInNleCIsIDJd~WyI1YlBzMUlxdVpOYTBoa2FGenp6Wk53IiwgImJpcnRoX
   2ZhbWlseV9uYW1lIiwgIkdhYmxlciJd~WyI1YTJXMF9OcmxFWnpmcW1rXzdQcS13Iiwg
   ImxvY2FsaXR5IiwgIkJlcmxpbiJd~WyJ5MXNWVTV3ZGZKYWhWZGd3UGdTN1JRIiwgImN
   vdW50cnkiLCAiREUiXQ~WyJIYlE0WDhzclZXM1FEeG5JSmRxeU9BIiwgInBsYWNlX29m
   X2JpcnRoIiwgeyJfc2QiOiBbIktVVmlhYUxuWTVqU01MOTBHMjlPT0xFTlBiYlhmaFNq
   U1BNalphR2t4QUUiLCAiWWJzVDBTNzZWcVhDVnNkMWpVU2x3S1BEZ21BTGVCMXVaY2xG
   SFhmLVVTUSJdfV0~WyJDOUdTb3VqdmlKcXVFZ1lmb2pDYjFBIiwgIjEyIiwgdHJ1ZV0~
   WyJreDVrRjE3Vi14MEptd1V4OXZndnR3IiwgIjE0IiwgdHJ1ZV0~WyJIM28xdXN3UDc2
   MEZpMnllR2RWQ0VRIiwgIjE2IiwgdHJ1ZV0~WyJPQktsVFZsdkxnLUFkd3FZR2JQOFpB
   IiwgIjE4IiwgdHJ1ZV0~WyJNMEpiNTd0NDF1YnJrU3V5ckRUM3hBIiwgIjIxIiwgdHJ1
   ZV0~WyJEc210S05ncFY0ZEFIcGpyY2Fvc0F3IiwgIjY1IiwgZmFsc2Vd~WyJlSzVvNXB
   IZmd1cFBwbHRqMXFoQUp3IiwgImFnZV9lcXVhbF9vcl9vdmVyIiwgeyJfc2QiOiBbIjF
   0RWl5elBSWU9Lc2Y3U3NZR01nUFpLc09UMWxRWlJ4SFhBMHI1X0J3a2siLCAiQ1ZLbmx
   5NVA5MHlKczNFd3R4UWlPdFVjemFYQ1lOQTRJY3pSYW9ock1EZyIsICJhNDQtZzJHcjh
   fM0FtSncyWFo4a0kxeTBRel96ZTlpT2NXMlczUkxwWEdnIiwgImdrdnkwRnV2QkJ2ajB
   oczJaTnd4Y3FPbGY4bXUyLWtDRTctTmIyUXh1QlUiLCAiaHJZNEhubUY1YjVKd0M5ZVR
   6YUZDVWNlSVFBYUlkaHJxVVhRTkNXYmZaSSIsICJ5NlNGclZGUnlxNTBJYlJKdmlUWnF
   xalFXejB0TGl1Q21NZU8wS3FhekdJIl19XQ~WyJqN0FEZGIwVVZiMExpMGNpUGNQMGV3
   IiwgImFnZV9pbl95ZWFycyIsIDYyXQ~WyJXcHhKckZ1WDh1U2kycDRodDA5anZ3IiwgI
   mFnZV9iaXJ0aF95ZWFyIiwgMTk2M10~WyJhdFNtRkFDWU1iSlZLRDA1bzNKZ3RRIiwgI
   mlzc3VhbmNlX2RhdGUiLCAiMjAyMC0wMy0xMSJd~WyI0S3lSMzJvSVp0LXprV3ZGcWJV
   TEtnIiwgImV4cGlyeV9kYXRlIiwgIjIwMzAtMDMtMTIiXQ~WyJjaEJDc3loeWgtSjg2S
   S1hd1FEaUNRIiwgImlzc3VpbmdfYXV0aG9yaXR5IiwgIkRFIl0~WyJmbE5QMW5jTXo5T
   GctYzlxTUl6XzlnIiwgImlzc3VpbmdfY291bnRyeSIsICJERSJd~";

const A3_PAYLOAD: &str = r#"{
     "_sd": [
       "0HZmnSIPz337kSWe7C34l--88gzJi-eBJ2Vz_HJwATg",
       "1Crn03WmUeRWp4zwPvvCKXl9ZaQp-cdQV_gHdaGSWow",
       "2r009dzvHuVrWrRXT5kJMmHnqEHHnWe0MLVZw8PATB8",
       "6ZNISDst62ymlrOAkadjdD5ZulT5A299J78SLhM__Os",
       "78jg77-GYBeX8IQfoELPyL0DYPdmfZo0JgViV0_lKCM",
       "90CT8AaBPbn5X8nRXkesju1i0BqhWqZ3wqD4jF-qDGk",
       "I00fcFUoDXCucp5yy2ujqPssDVGaWNiUliNz_awD0gc",
       "KjAXgAA9N5WHEDtRIh4u5Mn1ZsWixhhWAiX-A4QiwgA",
       "Lai6IU6d7GQagXR7AvGTrnXgSld3z8EIg_fv3fOZ1Wg",
       "LezjabRqiZOXzEYmVZf8RMi9xAkd3_M1LZ8U7E4s3u4",
       "RTz3qTmFNHbpWrrOMZS41F474kFqRv3vIPqth6PUhlM",
       "W14XHbUffzuW4IFMjpSTb1melWxUWf4N_o2ldkkIqc8",
       "WTpI7RcM3gxZruRpXzezSbkbOr93PVFvWx8woJ3j1cE",
       "_ohJVIQIBsU4updNS4_w4Kb1MHqJ0L9qLGshWq6JXQs",
       "y50czc0ISChy_bsba1dMoUuAOQ5AMmOSfGoEe81v1FU"
     ],
     "iss": "https://pid-issuer.bund.de.example",
     "iat": 1683000000,
     "exp": 1883000000,
     "vct": "urn:eudi:pid:de:1",
     "_sd_alg": "sha-256",
     "cnf": {
       "jwk": {
         "kty": "EC",
         "crv": "P-256",
         "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
         "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"
       }
     }
   }"#;

/// The A.3 Disclosure table, in the order of the issued SD-JWT: (claim name, SHA-256 Hash).
const A3_TABLE: [(&str, &str); 27] = [
    ("given_name", "0HZmnSIPz337kSWe7C34l--88gzJi-eBJ2Vz_HJwATg"),
    ("family_name", "I00fcFUoDXCucp5yy2ujqPssDVGaWNiUliNz_awD0gc"),
    ("birthdate", "Lai6IU6d7GQagXR7AvGTrnXgSld3z8EIg_fv3fOZ1Wg"),
    ("street_address", "ALZERsSn5WNiEXdCksW8I5qQw3_NpAnRqpSAZDudgw8"),
    ("locality", "D__W_uYcvRz3tvUnIJvBDHiTc7C__qHd0xNKwIs_w9k"),
    ("postal_code", "xOPy9-gJALK6UbWKFLR85cOByUD3AbNwFg3I3YfQE_I"),
    ("country", "eBpCXU1J5dhH2g4t8QYNW5ExS9AxUVblUodoLYoPho0"),
    ("address", "RTz3qTmFNHbpWrrOMZS41F474kFqRv3vIPqth6PUhlM"),
    ("nationalities", "y50czc0ISChy_bsba1dMoUuAOQ5AMmOSfGoEe81v1FU"),
    ("sex", "90CT8AaBPbn5X8nRXkesju1i0BqhWqZ3wqD4jF-qDGk"),
    ("birth_family_name", "KjAXgAA9N5WHEDtRIh4u5Mn1ZsWixhhWAiX-A4QiwgA"),
    ("locality", "KUViaaLnY5jSML90G29OOLENPbbXfhSjSPMjZaGkxAE"),
    ("country", "YbsT0S76VqXCVsd1jUSlwKPDgmALeB1uZclFHXf-USQ"),
    ("place_of_birth", "1Crn03WmUeRWp4zwPvvCKXl9ZaQp-cdQV_gHdaGSWow"),
    ("12", "gkvy0FuvBBvj0hs2ZNwxcqOlf8mu2-kCE7-Nb2QxuBU"),
    ("14", "y6SFrVFRyq50IbRJviTZqqjQWz0tLiuCmMeO0KqazGI"),
    ("16", "hrY4HnmF5b5JwC9eTzaFCUceIQAaIdhrqUXQNCWbfZI"),
    ("18", "CVKnly5P90yJs3EwtxQiOtUczaXCYNA4IczRaohrMDg"),
    ("21", "1tEiyzPRYOKsf7SsYGMgPZKsOT1lQZRxHXA0r5_Bwkk"),
    ("65", "a44-g2Gr8_3AmJw2XZ8kI1y0Qz_ze9iOcW2W3RLpXGg"),
    ("age_equal_or_over", "2r009dzvHuVrWrRXT5kJMmHnqEHHnWe0MLVZw8PATB8"),
    ("age_in_years", "WTpI7RcM3gxZruRpXzezSbkbOr93PVFvWx8woJ3j1cE"),
    ("age_birth_year", "LezjabRqiZOXzEYmVZf8RMi9xAkd3_M1LZ8U7E4s3u4"),
    ("issuance_date", "W14XHbUffzuW4IFMjpSTb1melWxUWf4N_o2ldkkIqc8"),
    ("expiry_date", "78jg77-GYBeX8IQfoELPyL0DYPdmfZo0JgViV0_lKCM"),
    ("issuing_authority", "6ZNISDst62ymlrOAkadjdD5ZulT5A299J78SLhM__Os"),
    ("issuing_country", "_ohJVIQIBsU4updNS4_w4Kb1MHqJ0L9qLGshWq6JXQs"),
];

/// A.3: the SD-JWT+KB disclosing nationalities and age_equal_or_over/18, after the Issuer-signed JWT.
const A3_PRESENTATION_TAIL: &str = "~WyJlSzVvNXBIZmd1cFBwbHRqMXFo
   QUp3IiwgImFnZV9lcXVhbF9vcl9vdmVyIiwgeyJfc2QiOiBbIjF0RWl5elBSWU9Lc2Y3
   U3NZR01nUFpLc09UMWxRWlJ4SFhBMHI1X0J3a2siLCAiQ1ZLbmx5NVA5MHlKczNFd3R4
   UWlPdFVjemFYQ1lOQTRJY3pSYW9ock1EZyIsICJhNDQtZzJHcjhfM0FtSncyWFo4a0kx
   eTBRel96ZTlpT2NXMlczUkxwWEdnIiwgImdrdnkwRnV2QkJ2ajBoczJaTnd4Y3FPbGY4
   bXUyLWtDRTctTmIyUXh1QlUiLCAiaHJZNEhubUY1YjVKd0M5ZVR6YUZDVWNlSVFBYUlk
   aHJxVVhRTkNXYmZaSSIsICJ5NlNGclZGUnlxNTBJYlJKdmlUWnFxalFXejB0TGl1Q21N
   ZU8wS3FhekdJIl19XQ~WyJPQktsVFZsdkxnLUFkd3FZR2JQOFpBIiwgIjE4IiwgdHJ1Z
   V0~WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIm5hdGlvbmFsaXRpZXMiLCBbIkRFI
   l1d~eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImtiK2p3dCJ9.eyJub25jZSI6ICIxMjM
   0NTY3ODkwIiwgImF1ZCI6ICJodHRwczovL3ZlcmlmaWVyLmV4YW1wbGUub3JnIiwgIml
   hdCI6IDE3NDg1MzcyNDMsICJzZF9oYXNoIjogIjQtQU5pZVFLcGFDSDlYRExpanp0dm1
   KQ25vRkliZG9JMXpRbDcyQ1lFeHMifQ.ntC_25hVM0v4VO-fjqNBE74gl0AyCoxQjvfF
   Dl5DrmVPeTkrVdmCdkF3nFGPh8Ob3CZWv5-WGdDbp1JOFXAH8g";

const A3_PROCESSED: &str = r#"{
     "iss": "https://pid-issuer.bund.de.example",
     "iat": 1683000000,
     "exp": 1883000000,
     "vct": "urn:eudi:pid:de:1",
     "cnf": {
       "jwk": {
         "kty": "EC",
         "crv": "P-256",
         "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
         "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"
       }
     },
     "age_equal_or_over": {
       "18": true
     },
     "nationalities": [
       "DE"
     ]
   }"#;

#[test]
fn a3_issued_sd_jwt_vc() {
    let sd = SdJwt::parse(&j(A3_ISSUED)).unwrap();
    let jws = CompactJws::parse(&sd.jwt).unwrap();
    assert_eq!(jws.typ(), Some("dc+sd-jwt"));
    assert_eq!(jws.payload, object(A3_PAYLOAD));
    assert!(jws.verify_with_point(&issuer_point()));
    assert_eq!(sd.disclosures.len(), A3_TABLE.len());
    for (d, (name, digest)) in sd.disclosures.iter().zip(A3_TABLE) {
        let parsed = Disclosure::parse(d).unwrap();
        assert_eq!(parsed.name.as_deref(), Some(name));
        assert_eq!(parsed.digest(), digest, "{name}");
    }
    // "Heidestra\u00dfe 17" and "K\u00f6ln" are JSON escapes inside the Disclosures.
    let street = Disclosure::parse(&sd.disclosures[3]).unwrap();
    assert_eq!((street.salt.as_str(), &street.value), ("eI8ZWm9QnKPpNPeNenHdhQ", &json!("Heidestraße 17")));
    assert!(String::from_utf8(b64::decode(&street.encoded).unwrap()).unwrap().contains(r"Heidestra\u00dfe 17"));
    // Everything disclosed: the input claims plus the iat, exp and cnf the Issuer added.
    let mut claims = process(&jws.payload, &sd.disclosures).unwrap().claims;
    assert_eq!(claims.remove("iat"), Some(json!(1683000000)));
    assert_eq!(claims.remove("exp"), Some(json!(1883000000)));
    assert_eq!(claims.remove("cnf"), Some(object(A3_PAYLOAD)["cnf"].clone()));
    assert_eq!(Value::Object(claims), parse_json(A3_INPUT));
}

#[test]
fn a3_presentation_sd_hash_kb_jwt_and_processed_payload() {
    let issued = SdJwt::parse(&j(A3_ISSUED)).unwrap();
    let sd = SdJwt::parse(&format!("{}{}", issued.jwt, j(A3_PRESENTATION_TAIL))).unwrap();
    assert_eq!(sd_hash(&sd.without_kb()), "4-ANieQKpaCH9XDLijztvmJCnoFIbdoI1zQl72CYExs");
    let kb = CompactJws::parse(sd.kb_jwt.as_deref().unwrap()).unwrap();
    assert_eq!(kb.typ(), Some("kb+jwt"));
    assert_eq!(
        Value::Object(kb.payload.clone()),
        json!({"nonce": "1234567890", "aud": "https://verifier.example.org", "iat": 1748537243, "sd_hash": "4-ANieQKpaCH9XDLijztvmJCnoFIbdoI1zQl72CYExs"})
    );
    assert!(kb.verify_with_point(&holder_point()));
    let jws = CompactJws::parse(&sd.jwt).unwrap();
    let p = process(&jws.payload, &sd.disclosures).unwrap();
    assert_eq!(p.claims, object(A3_PROCESSED));
    // The three presented Disclosures are the table's age_equal_or_over, 18 and nationalities.
    let digests: Vec<String> = sd.disclosures.iter().map(|d| digest_of(d)).collect();
    assert_eq!(digests, ["2r009dzvHuVrWrRXT5kJMmHnqEHHnWe0MLVZw8PATB8", "CVKnly5P90yJs3EwtxQiOtUczaXCYNA4IczRaohrMDg", "y50czc0ISChy_bsba1dMoUuAOQ5AMmOSfGoEe81v1FU"]);
}

#[test]
fn a3_through_our_pipeline_stops_for_want_of_x5c() {
    // The example's header is an SD-JWT VC header (accepted), but it carries its key out of band
    // (A.5) rather than in x5c, which our profile requires.
    let issued = SdJwt::parse(&j(A3_ISSUED)).unwrap();
    let presentation = format!("{}{}", issued.jwt, j(A3_PRESENTATION_TAIL));
    let v = Verifier::new(ChainValidator::new(vec![]), None, None);
    let r = v.verify(&presentation, &Expectation { nonce: Some("1234567890"), aud: Some("https://verifier.example.org") }, time::OffsetDateTime::from_unix_timestamp(1748537243).unwrap());
    assert_eq!(r.outcome, Outcome::Invalid);
    assert_eq!(r.check("jws.header").unwrap().result, CheckResult::Pass);
    assert_eq!(r.check("x5c.chain").unwrap().code, Some(esspass_core::ErrorCode::MissingX5c));
}
