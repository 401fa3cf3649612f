//! What was disclosed: `sd.disclosures` (RFC 9901 §7.1), `sd_jwt_vc.claims` (the SD-JWT VC rules)
//! and `type_metadata` (the shipped `sd` / `mandatory` rules and the document's validity).
//! Every payload here is signed with the institution's real key: the issuer itself is the attacker
//! (or is buggy), which is exactly what these checks exist for.

use crate::support::*;
use esspass_core::ErrorCode;
use esspass_credential::{Signer, b64};
use esspass_credential::sdjwt::Disclosure;
use esspass_credential::type_metadata::PathElem;
use serde_json::json;

fn key(p: &[PathElem], k: &str) -> bool {
    matches!(p, [PathElem::Key(x)] if x == k)
}

/// Every work address and each of its fields, which the rulebook marks sd=never: only a deviant
/// issuer makes them disclosures (the structural checks below need nested and array disclosures).
fn address_parts(p: &[PathElem]) -> bool {
    matches!(p, [PathElem::Key(a), PathElem::Key(b), PathElem::Index(_), ..] if a == "work_information" && b == "work_address")
}

/// Issue with the metadata policy, let `f` tamper with the result, sign, bind, verify.
fn tampered(s: &Scenario, f: impl FnOnce(&mut Cred)) -> esspass_credential::verify::Report {
    let mut c = s.cred();
    f(&mut c);
    s.verify(&s.present(c.sign(&s.signer())))
}

#[test]
fn tampered_disclosure_value() {
    // The holder rewrites the value of a disclosure (same salt, same name): its digest is nowhere.
    let s = Scenario::pda1();
    let mut sd = s.issue();
    let i = sd.disclosures.iter().position(|d| Disclosure::parse(d).unwrap().name.as_deref() == Some("document_number")).unwrap();
    let d = Disclosure::parse(&sd.disclosures[i]).unwrap();
    sd.disclosures[i] = Disclosure::with_salt(&d.salt, Some("document_number"), json!("EL-EFKA-PDA1-2026-999999")).encoded;
    expect(&s.verify(&s.present(sd))).invalid_at("sd.disclosures", ErrorCode::UnreferencedDisclosure);
}

#[test]
fn disclosure_that_is_not_a_disclosure() {
    let s = Scenario::pda1();
    let bad = [
        "not*base64".to_string(),
        b64::encode("not json"),
        b64::encode(r#"{"salt": "s"}"#),
        b64::encode(r#"["s", "a", 1, 2]"#),
        b64::encode(r#"["s"]"#),
        b64::encode(r#"[1, "a", 2]"#),
        b64::encode(r#"["s", 7, 2]"#),
    ];
    for d in bad {
        let mut sd = s.issue();
        sd.disclosures.push(d.clone());
        let r = s.verify(&s.present(sd));
        expect(&r).invalid_at("sd.disclosures", ErrorCode::MalformedDisclosure);
    }
}

#[test]
fn duplicated_disclosure() {
    let s = Scenario::pda1();
    let mut sd = s.issue();
    let first = sd.disclosures[0].clone();
    sd.disclosures.push(first);
    expect(&s.verify(&s.present(sd))).invalid_at("sd.disclosures", ErrorCode::DuplicateDisclosure);
}

#[test]
fn disclosure_named_sd_or_ellipsis() {
    for name in ["_sd", "..."] {
        let s = Scenario::pda1();
        let r = tampered(&s, |c| c.add_top(&Disclosure::new(Some(name), json!(["AAAA"]))));
        expect(&r).invalid_at("sd.disclosures", ErrorCode::ForbiddenDisclosureName);
    }
}

#[test]
fn same_digest_twice_in_one_sd_array() {
    let s = Scenario::pda1();
    let r = tampered(&s, |c| {
        let d = c.disclosure("document_number").digest();
        c.top_sd().push(json!(d));
    });
    expect(&r).invalid_at("sd.disclosures", ErrorCode::DuplicateDigest);
}

#[test]
fn same_digest_at_two_levels() {
    // One digest under the top-level _sd and again inside issuing_authority: whichever place the
    // verifier meets second must be refused, not silently given the same disclosure twice.
    let s = Scenario::pda1();
    let r = tampered(&s, |c| {
        let d = c.disclosure("document_number").digest();
        c.payload["issuing_authority"]["_sd"] = json!([d]);
    });
    expect(&r).invalid_at("sd.disclosures", ErrorCode::DuplicateDigest);
}

#[test]
fn same_decoy_digest_twice() {
    // RFC 9901 §7.1 step 4 applies to every digest, including ones that match no disclosure.
    let s = Scenario::pda1();
    let r = tampered(&s, |c| {
        let decoy = c.decoys().first().cloned().expect("issuance adds decoys");
        c.top_sd().push(json!(decoy));
    });
    expect(&r).invalid_at("sd.disclosures", ErrorCode::DuplicateDigest);
}

#[test]
fn same_array_element_digest_twice() {
    // Work addresses issued as array-element disclosures ({"...": digest}); repeat one.
    let s = Scenario::pda1();
    let mut c = s.cred_with(&|p| s.metadata_says_disclosable(p) || address_parts(p));
    let wa = c.payload["work_information"]["work_address"].as_array_mut().unwrap();
    let first = wa.iter().find(|e| e.get("...").is_some()).cloned().unwrap();
    wa.push(first);
    let r = s.verify(&s.present(c.sign(&s.signer())));
    expect(&r).invalid_at("sd.disclosures", ErrorCode::DuplicateDigest);
}

#[test]
fn unreferenced_disclosure() {
    let s = Scenario::pda1();
    let mut sd = s.issue();
    sd.disclosures.push(Disclosure::new(Some("legislation_country"), json!("MT")).encoded);
    expect(&s.verify(&s.present(sd))).invalid_at("sd.disclosures", ErrorCode::UnreferencedDisclosure);
}

#[test]
fn nested_disclosure_without_its_parent() {
    // The postal code of a work address is revealed, but the address element that refers to it is not.
    let s = Scenario::pda1();
    let c = s.cred_with(&|p| s.metadata_says_disclosable(p) || address_parts(p));
    let sd = c.sign(&s.signer());
    let keep: Vec<String> = sd.disclosures.iter().filter(|d| Disclosure::parse(d).unwrap().name.as_deref() == Some("postal_code")).cloned().collect();
    assert!(!keep.is_empty());
    let partial = esspass_credential::sdjwt::SdJwt { disclosures: keep, ..sd };
    expect(&s.verify(&s.present(partial))).invalid_at("sd.disclosures", ErrorCode::UnreferencedDisclosure);
}

#[test]
fn unsupported_sd_alg() {
    for alg in [json!("sha-512"), json!("SHA-256"), json!("md5"), json!(256), json!(null)] {
        let s = Scenario::pda1();
        let r = tampered(&s, |c| {
            c.payload.insert("_sd_alg".into(), alg.clone());
        });
        expect(&r).invalid_at("sd.disclosures", ErrorCode::UnsupportedSdAlg);
    }
}

#[test]
fn deep_nesting_in_the_payload() {
    let s = Scenario::pda1();
    let r = tampered(&s, |c| {
        c.payload.insert("deep".into(), nested(100));
    });
    expect(&r).invalid_at("jws.header", ErrorCode::NestingTooDeep);
}

#[test]
fn deep_nesting_in_a_disclosure() {
    let s = Scenario::pda1();
    let r = tampered(&s, |c| c.add_top(&Disclosure::new(Some("deep"), nested(100))));
    expect(&r).invalid_at("sd.disclosures", ErrorCode::NestingTooDeep);
}

/// A chain of `n` array-element disclosures, each holding `[{"...": next}]`; returns the digest of
/// the outermost and the disclosures. Each one is shallow: only the processed result is deep.
fn chain_of_disclosures(n: usize) -> (String, Vec<String>) {
    let mut inner = Disclosure::new(None, json!("bottom"));
    let mut all = vec![inner.encoded.clone()];
    for _ in 1..n {
        inner = Disclosure::new(None, json!([{"...": inner.digest()}]));
        all.push(inner.encoded.clone());
    }
    (inner.digest(), all)
}

#[test]
fn deep_nesting_across_recursive_disclosures() {
    // Each disclosure is only two levels deep, so every one passes the parser's depth limit; the
    // processed claims are n levels deep. Before the walk was depth-bounded, n = 70 passed
    // sd.disclosures and n = 1500 (~125 KB, under MAX_INPUT_BYTES) overflowed the 2 MiB thread stack
    // and aborted the process.
    for n in [70usize, 1500] {
        let s = Scenario::pda1();
        let (top, chain) = chain_of_disclosures(n);
        let r = tampered(&s, |c| {
            c.payload.insert("deep".into(), json!([{"...": top}]));
            c.disclosures.extend(chain);
        });
        expect(&r).invalid_at("sd.disclosures", ErrorCode::NestingTooDeep);
    }
}

#[test]
fn disclosed_name_collides_with_a_plain_claim() {
    let s = Scenario::pda1();
    let r = tampered(&s, |c| {
        c.payload.insert("document_number".into(), json!("EL-EFKA-PDA1-2026-000999"));
    });
    expect(&r).invalid_at("sd.disclosures", ErrorCode::ClaimNameCollision);
}

#[test]
fn two_disclosures_of_one_name() {
    let s = Scenario::pda1();
    let r = tampered(&s, |c| c.add_top(&Disclosure::new(Some("document_number"), json!("EL-EFKA-PDA1-2026-000999"))));
    expect(&r).invalid_at("sd.disclosures", ErrorCode::ClaimNameCollision);
}

#[test]
fn array_element_disclosure_referenced_from_sd() {
    let s = Scenario::pda1();
    let r = tampered(&s, |c| c.add_top(&Disclosure::new(None, json!("GR"))));
    expect(&r).invalid_at("sd.disclosures", ErrorCode::MalformedDisclosure);
}

#[test]
fn property_disclosure_referenced_as_array_element() {
    let s = Scenario::pda1();
    let r = tampered(&s, |c| {
        let d = Disclosure::new(Some("postal_code"), json!("10138"));
        c.payload["work_information"]["work_address"].as_array_mut().unwrap().push(json!({"...": d.digest()}));
        c.disclosures.push(d.encoded);
    });
    expect(&r).invalid_at("sd.disclosures", ErrorCode::MalformedDisclosure);
}

#[test]
fn reserved_names_where_rfc_9901_does_not_allow_them() {
    type Tamper = Box<dyn Fn(&mut Cred)>;
    let cases: [(&str, Tamper); 5] = [
        ("... as an object key", Box::new(|c: &mut Cred| c.payload["issuing_authority"]["..."] = json!("x"))),
        ("_sd that is not an array", Box::new(|c: &mut Cred| c.payload["issuing_authority"]["_sd"] = json!("x"))),
        ("_sd holding a number", Box::new(|c: &mut Cred| c.payload["issuing_authority"]["_sd"] = json!([1]))),
        ("_sd_alg below the top level", Box::new(|c: &mut Cred| c.payload["issuing_authority"]["_sd_alg"] = json!("sha-256"))),
        ("array digest object with a second key", Box::new(|c: &mut Cred| c.payload["employer"].as_array_mut().unwrap().push(json!({"...": "x", "id": "y"})))),
    ];
    for (what, f) in cases {
        let s = Scenario::pda1();
        let r = tampered(&s, |c| f(c));
        assert_eq!(r.check("sd.disclosures").unwrap().code, Some(ErrorCode::MalformedSdPayload), "{what}");
        expect(&r).invalid_at("sd.disclosures", ErrorCode::MalformedSdPayload);
    }
}

#[test]
fn never_disclosable_jwt_claims_made_disclosures() {
    for claim in ["vct", "cnf", "iss", "exp", "status", "iat"] {
        let s = Scenario::pda1();
        let c = s.cred_with(&|p| s.metadata_says_disclosable(p) || key(p, claim));
        assert!(!c.payload.contains_key(claim), "{claim} is hidden in the payload");
        let r = s.verify(&s.present(c.sign(&s.signer())));
        expect(&r).invalid_at("sd_jwt_vc.claims", ErrorCode::NonDisclosableClaimDisclosed);
    }
}

#[test]
fn sub_claim_of_cnf_made_a_disclosure() {
    let s = Scenario::pda1();
    let c = s.cred_with(&|p| s.metadata_says_disclosable(p) || matches!(p, [PathElem::Key(a), PathElem::Key(b)] if a == "cnf" && b == "jwk"));
    assert!(c.payload["cnf"].get("jwk").is_none());
    let r = s.verify(&s.present(c.sign(&s.signer())));
    expect(&r).invalid_at("sd_jwt_vc.claims", ErrorCode::NonDisclosableClaimDisclosed);
}

#[test]
fn missing_vct() {
    let s = Scenario::pda1().without("vct");
    expect(&s.verify(&s.present(s.issue()))).invalid_at("sd_jwt_vc.claims", ErrorCode::MissingVct);
    let s = Scenario::pda1().set("vct", json!(["urn:eudi:pda1:1"]));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("sd_jwt_vc.claims", ErrorCode::MissingVct);
}

#[test]
fn missing_cnf() {
    let s = Scenario::pda1().without("cnf");
    expect(&s.verify(&s.present(s.issue()))).invalid_at("sd_jwt_vc.claims", ErrorCode::MissingCnf);
    let s = Scenario::pda1().set("cnf", json!({"kid": "holder-key-1"}));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("sd_jwt_vc.claims", ErrorCode::MissingCnf);
}

#[test]
fn private_key_inside_cnf_jwk() {
    let s = Scenario::pda1();
    let mut jwk = s.holder.public_jwk().to_value();
    jwk["d"] = json!(b64::encode([7u8; 32]));
    let s = s.set("cnf", json!({ "jwk": jwk }));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("sd_jwt_vc.claims", ErrorCode::MissingCnf);
}

#[test]
fn cnf_jwk_that_is_not_p256() {
    for jwk in [
        json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}),
        json!({"kty": "EC", "crv": "P-384", "x": "AAAA", "y": "AAAA"}),
        json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),
    ] {
        let s = Scenario::pda1().set("cnf", json!({ "jwk": jwk }));
        expect(&s.verify(&s.present(s.issue()))).invalid_at("sd_jwt_vc.claims", ErrorCode::MissingCnf);
    }
}

#[test]
fn jwt_claims_of_the_wrong_type() {
    for (k, v) in [("iat", json!("1803978000")), ("exp", json!(1.9e9)), ("nbf", json!(true)), ("iss", json!(8441))] {
        let s = Scenario::pda1().set(k, v);
        expect(&s.verify(&s.present(s.issue()))).invalid_at("sd_jwt_vc.claims", ErrorCode::WrongType);
    }
}

#[test]
fn unknown_vct() {
    let s = Scenario::pda1().set("vct", json!("urn:eudi:pda1:2"));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("type_metadata", ErrorCode::UnknownVct);
}

#[test]
fn sd_never_claim_made_a_disclosure() {
    let s = Scenario::pda1();
    let c = s.cred_with(&|p| s.metadata_says_disclosable(p) || key(p, "legislation_country"));
    let r = s.verify(&s.present(c.sign(&s.signer())));
    expect(&r).invalid_at("type_metadata", ErrorCode::TypeMetadataViolation);
}

#[test]
fn sd_never_sub_claim_and_array_element_made_disclosures() {
    let s = Scenario::pda1();
    let country = |p: &[PathElem]| matches!(p, [PathElem::Key(a), PathElem::Key(b)] if a == "issuing_authority" && b == "country");
    let c = s.cred_with(&|p| s.metadata_says_disclosable(p) || country(p));
    expect(&s.verify(&s.present(c.sign(&s.signer())))).invalid_at("type_metadata", ErrorCode::TypeMetadataViolation);
    let employer0 = |p: &[PathElem]| matches!(p, [PathElem::Key(a), PathElem::Index(0)] if a == "employer");
    let c = s.cred_with(&|p| s.metadata_says_disclosable(p) || employer0(p));
    expect(&s.verify(&s.present(c.sign(&s.signer())))).invalid_at("type_metadata", ErrorCode::TypeMetadataViolation);
}

#[test]
fn sd_always_claim_issued_in_plain() {
    for t in [Scenario::pda1(), Scenario::ehic()] {
        let c = t.cred_with(&|p| t.metadata_says_disclosable(p) && !key(p, "personal_administrative_number"));
        assert!(c.payload.contains_key("personal_administrative_number"));
        let r = t.verify(&t.present(c.sign(&t.signer())));
        expect(&r).invalid_at("type_metadata", ErrorCode::TypeMetadataViolation);
    }
}

#[test]
fn mandatory_claim_missing() {
    let s = Scenario::pda1().without("legislation_country");
    expect(&s.verify(&s.present(s.issue()))).invalid_at("type_metadata", ErrorCode::MandatoryClaimMissing);
}

#[test]
fn document_that_does_not_validate() {
    let s = Scenario::pda1().set("legislation_country", json!("XX"));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("type_metadata", ErrorCode::InvalidDocument);
    let s = Scenario::pda1().set("status_confirmation", json!("99"));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("type_metadata", ErrorCode::InvalidDocument);
}

#[test]
fn pda1_claims_under_the_ehic_vct() {
    // Type confusion: e-EFKA's PDA1 document labelled as an EHIC.
    let s = Scenario::pda1().set("vct", json!("urn:eudi:ehic:1"));
    let r = s.verify(&s.present(s.issue()));
    expect(&r).invalid_at("type_metadata", ErrorCode::InvalidDocument);
}

#[test]
fn work_address_made_a_disclosure() {
    // The rulebook marks work_information.work_address[*] and every address field sd=never (always
    // visible): an issuer that hides an address, or a field of one, behind a disclosure is refused
    // even when the holder discloses it.
    let s = Scenario::pda1();
    let element = |p: &[PathElem]| matches!(p, [PathElem::Key(a), PathElem::Key(b), PathElem::Index(_)] if a == "work_information" && b == "work_address");
    let c = s.cred_with(&|p| s.metadata_says_disclosable(p) || element(p));
    assert!(c.payload["work_information"]["work_address"][0].get("...").is_some(), "the address is an array-element disclosure");
    expect(&s.verify(&s.present(c.sign(&s.signer())))).invalid_at("type_metadata", ErrorCode::TypeMetadataViolation);
    let street = |p: &[PathElem]| matches!(p, [.., PathElem::Key(k)] if k == "street_address");
    let c = s.cred_with(&|p| s.metadata_says_disclosable(p) || street(p));
    expect(&s.verify(&s.present(c.sign(&s.signer())))).invalid_at("type_metadata", ErrorCode::TypeMetadataViolation);
}

#[test]
fn ehic_subject_made_a_disclosure() {
    // The representation block (subject.*) is sd=never in the EHIC rulebook.
    let s = Scenario::ehic();
    for sub in ["forenames", "familynames", "date_of_birth"] {
        let c = s.cred_with(&|p| s.metadata_says_disclosable(p) || matches!(p, [PathElem::Key(a), PathElem::Key(b)] if a == "subject" && b == sub));
        expect(&s.verify(&s.present(c.sign(&s.signer())))).invalid_at("type_metadata", ErrorCode::TypeMetadataViolation);
    }
    let c = s.cred_with(&|p| s.metadata_says_disclosable(p) || key(p, "subject"));
    expect(&s.verify(&s.present(c.sign(&s.signer())))).invalid_at("type_metadata", ErrorCode::TypeMetadataViolation);
}

#[test]
fn issuer_discloses_exactly_the_sd_always_claims() {
    // Positive control for the two tests above: what vc::issue and the scenario make.
    for s in [Scenario::pda1(), Scenario::ehic()] {
        let names: Vec<String> = s.cred().disclosures.iter().map(|d| Disclosure::parse(d).unwrap().name.unwrap()).collect();
        let mut names = names;
        names.sort();
        let want: &[&str] = if s.t == esspass_core::CredentialType::Pda1 { &["document_number", "personal_administrative_number", "transitional_rules"] } else { &["document_number", "personal_administrative_number"] };
        assert_eq!(names, want);
        expect(&s.verify(&s.present(s.issue()))).valid();
    }
}
