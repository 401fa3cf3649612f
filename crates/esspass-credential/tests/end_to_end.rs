#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod common;

use common::*;
use esspass_core::{Clock, CredentialType};
use esspass_credential::sdjwt::present::{Selection, bind, select};
use esspass_credential::verify::{CheckResult, Expectation, Outcome};

#[test]
fn pda1_and_ehic_issue_present_verify() {
    let src = MemorySource::default();
    for slug in ["el-efka", "si-zzzs"] {
        publish(&src, slug, &format!("{STATUS_URI}-{slug}"), &[]);
    }
    for t in CredentialType::DOCUMENTS {
        let slug = if t == CredentialType::Pda1 { "el-efka" } else { "si-zzzs" };
        let uri = format!("{STATUS_URI}-{slug}");
        let p = pki();
        let holder = esspass_credential::EcdsaP256Signer::generate().unwrap();
        use esspass_credential::Signer;
        let sd = esspass_credential::vc::issue(&esspass_credential::vc::IssueRequest {
            credential_type: t,
            claims: &claims(t),
            signer: &p.signer(slug),
            x5c: &p.chain(slug),
            holder_jwk: &holder.public_jwk(),
            iss: Some(&p.iss(slug)),
            iat: NOW - 10,
            nbf: None,
            exp: None,
            status: Some((&uri, 3)),
            decoys: true,
        })
        .unwrap();
        // Exactly the rulebook's sd=always claims are disclosures: 2 for an EHIC, 3 for a PDA1 (with
        // transitional_rules); everything else is plain.
        assert_eq!(sd.disclosures.len(), if t == CredentialType::Pda1 { 3 } else { 2 }, "{t:?}");
        let selected = select(&sd, &[Selection::parse("document_number").unwrap(), Selection::parse("personal_administrative_number").unwrap()]).unwrap();
        let presented = bind(selected, &holder, "n-123", "https://verifier.example", NOW).unwrap();
        let v = verifier(&src);
        let r = v.verify(&presented.serialize(), &Expectation { nonce: Some("n-123"), aud: Some("https://verifier.example") }, clock().now());
        assert_eq!(r.outcome, Outcome::Valid, "{t:?}: {}", serde_json::to_string_pretty(&r).unwrap());
        assert!(r.checks.iter().all(|c| c.result == CheckResult::Pass), "{:#?}", r.checks);
        let claims = r.claims.unwrap();
        assert!(claims.contains_key("document_number"));
        assert!(claims.contains_key("personal_administrative_number"));
        if t == CredentialType::Ehic {
            assert_eq!(claims["subject"]["forenames"], "Živa", "subject is sd=never: always visible");
        } else {
            assert_eq!(claims["work_information"]["work_address"].as_array().unwrap().len(), 2, "addresses are sd=never: always visible");
            assert!(!claims.contains_key("transitional_rules"), "transitional_rules was not disclosed");
        }
        // Revoke, and verify again after the cache's ttl.
        publish(&src, slug, &uri, &[(3, 1)]);
        let v2 = verifier(&src);
        let r = v2.verify(&presented.serialize(), &Expectation { nonce: Some("n-123"), aud: Some("https://verifier.example") }, clock().now());
        assert_eq!(r.outcome, Outcome::Invalid);
        assert_eq!(r.code.unwrap().code(), "ESP-4010");
    }
}

#[test]
fn no_trust_input_is_never_valid() {
    let src = MemorySource::default();
    publish(&src, "el-efka", STATUS_URI, &[]);
    let i = issue_default(CredentialType::Pda1);
    let v = esspass_credential::verify::Verifier::new(esspass_credential::x509::ChainValidator::new(vec![]), None, None).for_credential_only();
    let r = v.verify(&i.sd_jwt.serialize(), &Expectation::default(), clock().now());
    assert_eq!(r.outcome, Outcome::Error);
    assert_eq!(r.check("x5c.chain").unwrap().result, CheckResult::Error);
    assert_eq!(r.check("jws.signature").unwrap().result, CheckResult::Pass);
}

#[test]
fn work_addresses_are_plain_whatever_the_holder_selects() {
    // The rulebook marks every work address field sd=never: selecting one discloses nothing and
    // withholding them hides nothing; the whole document but the sd=always claims stays visible.
    let src = MemorySource::default();
    publish(&src, "el-efka", STATUS_URI, &[]);
    let i = issue_default(CredentialType::Pda1);
    let sel = select(&i.sd_jwt, &[Selection::parse("work_information.work_address.1.postal_code").unwrap()]).unwrap();
    assert!(sel.disclosures.is_empty(), "no address field is a disclosure");
    let r = verifier(&src).for_credential_only().verify(&sel.serialize(), &Expectation::default(), clock().now());
    assert_eq!(r.outcome, Outcome::Valid, "{}", serde_json::to_string_pretty(&r).unwrap());
    assert!(r.credential_only);
    let claims = r.claims.unwrap();
    let wa = &claims["work_information"]["work_address"];
    assert_eq!(wa.as_array().unwrap().len(), 2);
    assert_eq!(wa[0]["street_address"], "Via Torino");
    assert_eq!(wa[1]["postal_code"], "10138");
    for withheld in ["personal_administrative_number", "document_number", "transitional_rules"] {
        assert!(!claims.contains_key(withheld), "{withheld}");
    }
}

/// A PID (`urn:eudi:pid:1`) from the demo PID provider: every claim is a disclosure; presented with
/// only the names, birth date and personal number it verifies (the withheld dates are not missing;
/// `validity.document` is skipped and `iat`/`exp` hold); a disclosed `issuing_country` must be the
/// listed provider's; an institution's certificate is not authorised for the PID.
#[test]
fn a_pid_verifies_with_only_what_a_sign_in_needs() {
    let src = MemorySource::default();
    publish(&src, "si-pid", STATUS_URI, &[]);
    let i = issue_with(CredentialType::Pid, "si-pid", &claims(CredentialType::Pid), 5);
    assert!(i.sd_jwt.disclosures.len() >= 12, "every PID claim is selectively disclosable");
    let wanted: Vec<Selection> = ["family_name", "given_name", "birthdate", "personal_administrative_number"].iter().map(|s| Selection::parse(s).unwrap()).collect();
    let presented = bind(select(&i.sd_jwt, &wanted).unwrap(), &i.holder, "n-pid", "x509_hash:abc", NOW).unwrap();
    let r = verifier(&src).verify(&presented.serialize(), &Expectation { nonce: Some("n-pid"), aud: Some("x509_hash:abc") }, clock().now());
    assert_eq!(r.outcome, Outcome::Valid, "{}", serde_json::to_string_pretty(&r).unwrap());
    assert_eq!(r.check("validity.document").unwrap().result, CheckResult::Skipped);
    let claims = r.claims.unwrap();
    assert_eq!(claims["given_name"], "Živa");
    assert!(!claims.contains_key("place_of_birth") && !claims.contains_key("nationalities"));
    // issuing_country disclosed and not the provider's country.
    let mut c = common::claims(CredentialType::Pid);
    c["issuing_country"] = serde_json::json!("DE");
    let bad = issue_with(CredentialType::Pid, "si-pid", &c, 6);
    let all = bind(bad.sd_jwt.clone(), &bad.holder, "n", "a", NOW).unwrap();
    let r = verifier(&src).verify(&all.serialize(), &Expectation { nonce: Some("n"), aud: Some("a") }, clock().now());
    assert_eq!(r.check("trusted_list").unwrap().result, CheckResult::Fail, "{:#?}", r.checks);
    // An EHIC institution signing a PID: not authorised for the type.
    publish(&src, "si-zzzs", STATUS_URI, &[]);
    let mut c = common::claims(CredentialType::Pid);
    c["issuing_authority"] = serde_json::json!("ZZZS");
    let forged = issue_with(CredentialType::Pid, "si-zzzs", &c, 8);
    let all = bind(forged.sd_jwt.clone(), &forged.holder, "n", "a", NOW).unwrap();
    let r = verifier(&src).verify(&all.serialize(), &Expectation { nonce: Some("n"), aud: Some("a") }, clock().now());
    assert_eq!(r.code.unwrap().code(), esspass_core::ErrorCode::NotAuthorisedForType.code());
}
