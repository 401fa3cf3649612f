//! `holder_binding`: the KB-JWT (RFC 9901 §4.3, §7.3) — typ, signature by the cnf key, sd_hash,
//! nonce, aud, iat window, and its absence when one is required.

use crate::common::*;
use crate::support::*;
use esspass_core::ErrorCode;
use esspass_credential::EcdsaP256Signer;
use esspass_credential::sdjwt::present::bind;
use esspass_credential::verify::{CheckResult, Expectation};
use serde_json::json;

#[test]
fn wrong_nonce() {
    let s = Scenario::pda1();
    let p = bind(s.issue(), &s.holder, "replayed-nonce", AUD, NOW).unwrap().serialize();
    expect(&s.verify(&p)).invalid_at("holder_binding", ErrorCode::KbJwtNonce);
}

#[test]
fn wrong_aud() {
    let s = Scenario::pda1();
    let p = bind(s.issue(), &s.holder, NONCE, "https://127.0.0.1:8451", NOW).unwrap().serialize();
    expect(&s.verify(&p)).invalid_at("holder_binding", ErrorCode::KbJwtAudience);
}

#[test]
fn sd_hash_of_another_selection() {
    // The KB-JWT was made for all disclosures; one is dropped afterwards (the verifier sees fewer).
    let s = Scenario::pda1();
    let mut bound = bind(s.issue(), &s.holder, NONCE, AUD, NOW).unwrap();
    let i = bound.disclosures.iter().position(|d| esspass_credential::sdjwt::Disclosure::parse(d).unwrap().name.as_deref() == Some("document_number")).unwrap();
    bound.disclosures.remove(i);
    expect(&s.verify(&bound.serialize())).invalid_at("holder_binding", ErrorCode::KbJwtSdHash);
}

#[test]
fn kb_jwt_moved_to_another_credential() {
    // A valid KB-JWT of credential A appended to credential B of the same holder.
    let s = Scenario::pda1();
    let a = bind(s.issue(), &s.holder, NONCE, AUD, NOW).unwrap();
    let mut b = s.issue();
    b.kb_jwt = a.kb_jwt;
    expect(&s.verify(&b.serialize())).invalid_at("holder_binding", ErrorCode::KbJwtSdHash);
}

#[test]
fn stale_and_future_iat() {
    for iat in [NOW - 301, NOW + 301, 0] {
        let s = Scenario::pda1();
        let p = bind(s.issue(), &s.holder, NONCE, AUD, iat).unwrap().serialize();
        expect(&s.verify(&p)).invalid_at("holder_binding", ErrorCode::KbJwtIat);
    }
}

#[test]
fn iat_at_the_window_edge_is_accepted() {
    // Positive control for stale_and_future_iat: 300 s either way is inside the default window.
    for iat in [NOW - 300, NOW + 300] {
        let s = Scenario::pda1();
        let p = bind(s.issue(), &s.holder, NONCE, AUD, iat).unwrap().serialize();
        expect(&s.verify(&p)).valid();
    }
}

#[test]
fn kb_jwt_without_iat() {
    let s = Scenario::pda1();
    let mut sd = s.issue();
    let mut payload = kb_payload(&sd);
    payload.as_object_mut().unwrap().remove("iat");
    sd.kb_jwt = Some(kb_jwt(&s.holder, json!({"typ": "kb+jwt"}), payload));
    expect(&s.verify(&sd.serialize())).invalid_at("holder_binding", ErrorCode::KbJwtIat);
}

#[test]
fn kb_jwt_signed_by_a_key_other_than_cnf() {
    let s = Scenario::pda1();
    let thief = EcdsaP256Signer::generate().unwrap();
    let p = bind(s.issue(), &thief, NONCE, AUD, NOW).unwrap().serialize();
    expect(&s.verify(&p)).invalid_at("holder_binding", ErrorCode::KbJwtSignatureInvalid);
    // Nor by the issuer's key.
    let p = bind(s.issue(), &s.signer(), NONCE, AUD, NOW).unwrap().serialize();
    expect(&s.verify(&p)).invalid_at("holder_binding", ErrorCode::KbJwtSignatureInvalid);
}

#[test]
fn kb_jwt_with_wrong_typ() {
    for header in [json!({"typ": "JWT"}), json!({"typ": "dc+sd-jwt"}), json!({})] {
        let s = Scenario::pda1();
        let mut sd = s.issue();
        sd.kb_jwt = Some(kb_jwt(&s.holder, header, kb_payload(&sd)));
        expect(&s.verify(&sd.serialize())).invalid_at("holder_binding", ErrorCode::KbJwtTyp);
    }
}

#[test]
fn kb_jwt_with_alg_none() {
    let s = Scenario::pda1();
    let mut sd = s.issue();
    sd.kb_jwt = Some(format!("{}.{}.", b64_json(&json!({"alg": "none", "typ": "kb+jwt"})), b64_json(&kb_payload(&sd))));
    expect(&s.verify(&sd.serialize())).invalid_at("holder_binding", ErrorCode::AlgorithmNotAllowed);
}

#[test]
fn missing_kb_jwt_when_a_nonce_is_expected() {
    let s = Scenario::pda1();
    let sd = s.issue();
    expect(&s.verify(&sd.serialize())).invalid_at("holder_binding", ErrorCode::KbJwtMissing);
    // Only aud expected: still required.
    let r = run_with(&verifier(&s.status_source()), &sd.serialize(), &Expectation { nonce: None, aud: Some(AUD) });
    expect(&r).invalid_at("holder_binding", ErrorCode::KbJwtMissing);
}

#[test]
fn missing_kb_jwt_when_nothing_is_expected() {
    // The credential has a holder key (cnf): a verifier that expects no nonce or aud still needs
    // the KB-JWT (before, a bare credential passed as a presentation).
    let s = Scenario::pda1();
    let r = run_with(&verifier(&s.status_source()), &s.issue().serialize(), &Expectation::default());
    expect(&r).invalid_at("holder_binding", ErrorCode::KbJwtMissing);
    assert!(!r.credential_only);
}

#[test]
fn credential_only_is_explicit_and_reported() {
    // Positive control for missing_kb_jwt_when_nothing_is_expected: the caller asks to check the
    // credential alone; holder binding is skipped and the report says it was not checked.
    let s = Scenario::pda1();
    let v = verifier(&s.status_source()).for_credential_only();
    let r = run_with(&v, &s.issue().serialize(), &Expectation::default());
    expect(&r).allowing("holder_binding", CheckResult::Skipped).valid();
    assert!(r.credential_only);
    assert!(r.check("holder_binding").unwrap().detail.contains("NOT CHECKED at the caller's request"), "{:?}", r.check("holder_binding"));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["credential_only"], true);
    // Without the option the same verifier's report says holder binding was checked.
    let r = run(&verifier(&s.status_source()), &s.present(s.issue()));
    assert!(!r.credential_only);
    assert_eq!(serde_json::to_value(&r).unwrap()["credential_only"], false);
}
