//! The envelope: `format` (serialisation, size), `jws.header` (alg, typ, crit) and `jws.signature`.

use crate::common::*;
use crate::support::*;
use esspass_core::ErrorCode;
use esspass_credential::b64;
use esspass_credential::sdjwt::MAX_INPUT_BYTES;
use serde_json::{Value, json};

/// The three parts of the issuer-signed JWT of a presentation.
fn parts(jwt: &str) -> (String, String, String) {
    let mut it = jwt.split('.').map(str::to_owned);
    (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
}

#[test]
fn truncated_inside_the_issuer_jwt() {
    let s = Scenario::pda1();
    let full = s.present(s.issue());
    let r = s.verify(&full[..120]);
    expect(&r).invalid_at("format", ErrorCode::Malformed);
}

#[test]
fn truncated_inside_the_last_disclosure() {
    let s = Scenario::pda1();
    let sd = s.issue().without_kb();
    // Drop the final "~" and the second half of the last disclosure: the tail is neither empty nor a KB-JWT.
    let body = sd.trim_end_matches('~');
    let last_len = body.rsplit('~').next().unwrap().len();
    let cut = &body[..body.len() - last_len / 2];
    let r = s.verify(cut);
    expect(&r).invalid_at("format", ErrorCode::Malformed);
}

#[test]
fn truncated_issuer_signature() {
    let s = Scenario::pda1();
    let mut sd = s.issue();
    // 86 base64url characters carry the 64-byte ES256 signature; 84 decode cleanly to 63 bytes.
    sd.jwt.truncate(sd.jwt.len() - 2);
    let r = s.verify(&s.present(sd));
    expect(&r).invalid_at("jws.header", ErrorCode::MalformedJws);
}

#[test]
fn truncated_kb_jwt_signature() {
    let s = Scenario::pda1();
    let mut p = s.present(s.issue());
    p.truncate(p.len() - 2);
    let r = s.verify(&p);
    expect(&r).invalid_at("holder_binding", ErrorCode::KbJwtSignatureInvalid);
}

#[test]
fn ten_megabyte_input() {
    let s = Scenario::pda1();
    let sd = s.issue();
    let mut huge = sd.without_kb();
    huge.push_str(&"A".repeat(10 * 1024 * 1024));
    huge.push('~');
    let r = s.verify(&huge);
    expect(&r).invalid_at("format", ErrorCode::InputTooLarge);
}

#[test]
fn one_byte_over_the_size_limit() {
    let s = Scenario::pda1();
    let mut p = s.issue().without_kb();
    let pad = MAX_INPUT_BYTES + 1 - p.len() - 1;
    p.push_str(&"A".repeat(pad));
    p.push('~');
    assert_eq!(p.len(), MAX_INPUT_BYTES + 1);
    let r = s.verify(&p);
    expect(&r).invalid_at("format", ErrorCode::InputTooLarge);
}

#[test]
fn json_serialisation_and_bare_jwt_are_refused() {
    let s = Scenario::pda1();
    let sd = s.issue();
    let (h, p, sig) = parts(&sd.jwt);
    let flattened = json!({"protected": h, "payload": p, "signature": sig, "header": {"disclosures": sd.disclosures}}).to_string();
    expect(&s.verify(&flattened)).invalid_at("format", ErrorCode::Malformed);
    // A JWT without the "~" that makes it an SD-JWT.
    expect(&s.verify(&sd.jwt)).invalid_at("format", ErrorCode::Malformed);
    // An empty disclosure between two "~".
    expect(&s.verify(&format!("{}~~", sd.jwt))).invalid_at("format", ErrorCode::Malformed);
}

#[test]
fn alg_none() {
    let s = Scenario::pda1();
    let c = s.cred();
    let mut header = Value::Object(c.header.clone());
    header["alg"] = json!("none");
    let jwt = format!("{}.{}.", b64_json(&header), b64_json(&Value::Object(c.payload.clone())));
    let sd = esspass_credential::sdjwt::SdJwt { jwt, disclosures: c.disclosures.clone(), kb_jwt: None };
    let r = s.verify(&s.present(sd));
    expect(&r).invalid_at("jws.header", ErrorCode::AlgorithmNotAllowed);
}

#[test]
fn hs256_keyed_with_the_issuers_public_key() {
    use aws_lc_rs::hmac;
    let s = Scenario::pda1();
    let c = s.cred();
    let mut header = Value::Object(c.header.clone());
    header["alg"] = json!("HS256");
    let input = format!("{}.{}", b64_json(&header), b64_json(&Value::Object(c.payload.clone())));
    // The classic key-confusion attack: the verifier's own copy of the public key as the HMAC secret.
    let leaf = esspass_credential::x509::Certificate::from_der(&pki().chain("el-efka")[0]).unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA256, &leaf.public_key);
    let tag = hmac::sign(&key, input.as_bytes());
    let jwt = format!("{input}.{}", b64::encode(tag.as_ref()));
    let sd = esspass_credential::sdjwt::SdJwt { jwt, disclosures: c.disclosures.clone(), kb_jwt: None };
    let r = s.verify(&s.present(sd));
    expect(&r).invalid_at("jws.header", ErrorCode::AlgorithmNotAllowed);
}

#[test]
fn header_without_alg() {
    let s = Scenario::pda1();
    let c = s.cred();
    let jwt = format!("{}.{}.{}", b64_json(&Value::Object(c.header.clone())), b64_json(&Value::Object(c.payload.clone())), b64::encode([0u8; 64]));
    let sd = esspass_credential::sdjwt::SdJwt { jwt, disclosures: c.disclosures.clone(), kb_jwt: None };
    expect(&s.verify(&s.present(sd))).invalid_at("jws.header", ErrorCode::AlgorithmNotAllowed);
}

#[test]
fn wrong_typ() {
    for typ in [json!("JWT"), json!("example+sd-jwt"), json!("kb+jwt"), json!(1)] {
        let s = Scenario::pda1().header("typ", typ.clone());
        let r = s.verify(&s.present(s.issue()));
        expect(&r).invalid_at("jws.header", ErrorCode::WrongTyp);
    }
    let mut s = Scenario::pda1();
    s.header.remove("typ");
    expect(&s.verify(&s.present(s.issue()))).invalid_at("jws.header", ErrorCode::WrongTyp);
}

#[test]
fn legacy_typ_is_still_read() {
    // Positive control for wrong_typ: the older vc+sd-jwt is accepted when reading.
    let s = Scenario::pda1().header("typ", json!("vc+sd-jwt"));
    expect(&s.verify(&s.present(s.issue()))).valid();
}

#[test]
fn status_list_token_presented_as_a_credential() {
    // A genuine, issuer-signed token of another type: typ stops it before anything else is read.
    let s = Scenario::pda1();
    let src = s.status_source();
    let token = src.0.lock().unwrap()[STATUS_URI].clone();
    let r = s.verify(&format!("{token}~"));
    expect(&r).invalid_at("jws.header", ErrorCode::WrongTyp);
}

#[test]
fn crit_header() {
    let s = Scenario::pda1().header("crit", json!(["exp"]));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("jws.header", ErrorCode::MalformedJws);
}

#[test]
fn header_that_is_not_base64url_or_json() {
    let s = Scenario::pda1();
    let sd = s.issue();
    let (_, p, sig) = parts(&sd.jwt);
    let cases = [("e+J/".to_string(), ErrorCode::InvalidBase64), (b64::encode("{\"alg\":"), ErrorCode::InvalidJson), (b64::encode("[\"ES256\"]"), ErrorCode::InvalidJson)];
    for (h, code) in cases {
        let forged = esspass_credential::sdjwt::SdJwt { jwt: format!("{h}.{p}.{sig}"), ..sd.clone() };
        expect(&s.verify(&s.present(forged))).invalid_at("jws.header", code);
    }
}

#[test]
fn forged_signature_over_a_changed_payload() {
    let s = Scenario::pda1();
    let sd = s.issue();
    let (h, p, sig) = parts(&sd.jwt);
    let mut payload: Value = serde_json::from_slice(&b64::decode(&p).unwrap()).unwrap();
    payload["legislation_country"] = json!("IT");
    let forged = esspass_credential::sdjwt::SdJwt { jwt: format!("{h}.{}.{sig}", b64_json(&payload)), ..sd };
    let r = s.verify(&s.present(forged));
    expect(&r).invalid_at("jws.signature", ErrorCode::SignatureInvalid);
}

#[test]
fn signed_by_another_institution_under_this_chain() {
    // ZZZS signs, but the header carries e-EFKA's certificate chain.
    let s = Scenario::pda1();
    let sd = s.cred().sign(&pki().signer("si-zzzs"));
    let r = s.verify(&s.present(sd));
    expect(&r).invalid_at("jws.signature", ErrorCode::SignatureInvalid);
}

#[test]
fn zero_signature() {
    let s = Scenario::pda1();
    let sd = s.issue();
    let (h, p, _) = parts(&sd.jwt);
    let forged = esspass_credential::sdjwt::SdJwt { jwt: format!("{h}.{p}.{}", b64::encode([0u8; 64])), ..sd };
    expect(&s.verify(&s.present(forged))).invalid_at("jws.signature", ErrorCode::SignatureInvalid);
}

#[test]
fn forged_signature_without_trust_anchors_is_still_invalid() {
    // With no anchor the chain is an error ("could not check"), but the signature is still checked
    // against the x5c leaf and its failure makes the outcome invalid.
    let s = Scenario::pda1();
    let sd = s.cred().sign(&pki().signer("si-zzzs"));
    let v = esspass_credential::verify::Verifier::new(esspass_credential::x509::ChainValidator::new(vec![]), None, None);
    let r = run(&v, &s.present(sd));
    expect(&r).allowing("x5c.chain", esspass_credential::verify::CheckResult::Error).invalid_at("jws.signature", ErrorCode::SignatureInvalid);
    assert_eq!(r.check("x5c.chain").unwrap().code, Some(ErrorCode::NoTrustInput));
}
