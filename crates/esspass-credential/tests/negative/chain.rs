//! Who signed: `x5c.chain` (RFC 5280 + HAIP), `trusted_list` and `iss.san`. Certificates that the
//! demo PKI cannot produce are made here with `esspass_keys::pki` and rcgen.

use crate::common::*;
use crate::support::*;
use esspass_core::{CredentialType, ErrorCode};
use esspass_credential::EcdsaP256Signer;
use esspass_credential::status::{CachePolicy, StatusCache};
use esspass_credential::verify::{CheckResult, Verifier};
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_keys::pki::{Ca, LeafKind, LeafSpec, new_intermediate, new_leaf, new_root};
use serde_json::json;
use time::{Duration, OffsetDateTime};

const EVIL_ISS: &str = "https://127.0.0.1:9999";

fn days(n: i64) -> OffsetDateTime {
    now() + Duration::days(n)
}

fn root(cn: &str, path_len: Option<u8>) -> Ca {
    new_root(cn, days(-30), days(3650), path_len).unwrap()
}

fn ca_under(parent: &Ca, cn: &str, until: OffsetDateTime, path_len: Option<u8>) -> Ca {
    new_intermediate(parent, cn, days(-30), until, path_len).unwrap()
}

/// A credential-signing leaf under `parent` with SAN URI EVIL_ISS.
fn signing_leaf(parent: &Ca) -> (EcdsaP256Signer, Vec<u8>) {
    let (key, der) = new_leaf(
        parent,
        &LeafSpec { common_name: "Impostor", organization: Some("Impostor"), country: Some("GR"), san_uris: vec![EVIL_ISS.into()], kind: LeafKind::Signing, not_before: days(-30), not_after: days(365) },
    )
    .unwrap();
    (EcdsaP256Signer::from_pkcs8_der(&key.serialize_der()).unwrap(), der)
}

fn signer_of(ca: &Ca) -> EcdsaP256Signer {
    EcdsaP256Signer::from_pkcs8_der(&ca.key.serialize_der()).unwrap()
}

fn anchored(anchors: Vec<Certificate>, with_list: bool, src: &MemorySource) -> Verifier {
    Verifier::new(ChainValidator::new(anchors), with_list.then(|| pki().trusted_list()), Some(StatusCache::new(Box::new(src.clone()), CachePolicy::default())))
}

fn cert(ca: &Ca) -> Certificate {
    Certificate::from_der(&ca.der).unwrap()
}

/// A PDA1 whose `iss` is EVIL_ISS, signed by `key` with header chain `x5c`.
fn present_with_chain(key: &EcdsaP256Signer, x5c: &[Vec<u8>]) -> (Scenario, String) {
    let s = Scenario::pda1().set("iss", json!(EVIL_ISS)).header("x5c", x5c_value(x5c));
    let p = s.present(s.cred().sign(key));
    (s, p)
}

#[test]
fn missing_x5c() {
    let mut s = Scenario::pda1();
    s.header.remove("x5c");
    expect(&s.verify(&s.present(s.issue()))).invalid_at("x5c.chain", ErrorCode::MissingX5c);
    let s = Scenario::pda1().header("x5c", json!([]));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("x5c.chain", ErrorCode::MissingX5c);
}

#[test]
fn x5c_that_is_not_a_certificate() {
    for bad in [json!(["!!!not base64"]), json!([esspass_credential::b64::encode_std(b"not DER at all")])] {
        let s = Scenario::pda1().header("x5c", bad);
        expect(&s.verify(&s.present(s.issue()))).invalid_at("x5c.chain", ErrorCode::CertificateUnparsable);
    }
}

#[test]
fn untrusted_root() {
    let evil = root("esspass demo root CA", None);
    let inter = ca_under(&evil, "esspass demo issuing CA", days(1000), Some(0));
    let (key, leaf) = signing_leaf(&inter);
    let (s, p) = present_with_chain(&key, &[leaf, inter.der.clone()]);
    expect(&s.verify(&p)).invalid_at("x5c.chain", ErrorCode::ChainUntrusted);
}

#[test]
fn chain_without_its_intermediate() {
    let s = Scenario::pda1();
    let leaf_only = vec![pki().chain("el-efka")[0].clone()];
    let s = s.header("x5c", x5c_value(&leaf_only));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("x5c.chain", ErrorCode::ChainUntrusted);
}

#[test]
fn trust_anchor_inside_x5c() {
    let mut chain = pki().chain("el-efka");
    chain.push(pki().anchor().der);
    let s = Scenario::pda1().header("x5c", x5c_value(&chain));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("x5c.chain", ErrorCode::TrustAnchorInX5c);
}

#[test]
fn self_signed_leaf() {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, "e-EFKA");
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    p.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    p.subject_alt_names.push(rcgen::SanType::URI(EVIL_ISS.try_into().unwrap()));
    p.not_before = days(-1);
    p.not_after = days(30);
    let der = p.self_signed(&key).unwrap().der().to_vec();
    let signer = EcdsaP256Signer::from_pkcs8_der(&key.serialize_der()).unwrap();
    let (s, p) = present_with_chain(&signer, &[der]);
    expect(&s.verify(&p)).invalid_at("x5c.chain", ErrorCode::SelfSignedLeaf);
}

#[test]
fn leaf_that_is_a_ca() {
    let r = root("test root", None);
    let inter = ca_under(&r, "test issuing CA", days(1000), None);
    let leaf_ca = ca_under(&inter, "e-EFKA (as a CA)", days(365), None);
    let (s, p) = present_with_chain(&signer_of(&leaf_ca), &[leaf_ca.der.clone(), inter.der.clone()]);
    let src = s.status_source();
    let rep = run(&anchored(vec![cert(&r)], false, &src), &p);
    expect(&rep).invalid_at("x5c.chain", ErrorCode::BasicConstraints);
}

#[test]
fn path_length_exceeded() {
    let r = root("test root", None);
    let top = ca_under(&r, "test CA allowing no sub-CA", days(1000), Some(0));
    let sub = ca_under(&top, "test sub-CA", days(1000), None);
    let (key, leaf) = signing_leaf(&sub);
    let (s, p) = present_with_chain(&key, &[leaf, sub.der.clone(), top.der.clone()]);
    let rep = run(&anchored(vec![cert(&r)], false, &s.status_source()), &p);
    expect(&rep).invalid_at("x5c.chain", ErrorCode::PathLength);
}

#[test]
fn path_length_respected_is_accepted() {
    // Positive control for path_length_exceeded: one CA below a root allowing one is fine.
    let r = root("test root", Some(1));
    let top = ca_under(&r, "test CA", days(1000), Some(0));
    let (key, leaf) = signing_leaf(&top);
    let (s, p) = present_with_chain(&key, &[leaf, top.der.clone()]);
    // The demo root is an anchor too, so that e-EFKA's status list token verifies; that list is not
    // the impostor's to use, which is where the pipeline stops once the chain has passed.
    let rep = run(&anchored(vec![cert(&r), pki().anchor()], false, &s.status_source()), &p);
    expect(&rep).allowing("trusted_list", CheckResult::Skipped).invalid_at("status", ErrorCode::StatusSignerNotAuthorised);
}

#[test]
fn expired_intermediate() {
    let r = root("test root", None);
    let inter = new_intermediate(&r, "expired issuing CA", days(-400), days(-1), None).unwrap();
    let (key, leaf) = signing_leaf(&inter);
    let (s, p) = present_with_chain(&key, &[leaf, inter.der.clone()]);
    let rep = run(&anchored(vec![cert(&r)], false, &s.status_source()), &p);
    expect(&rep).invalid_at("x5c.chain", ErrorCode::CertificateNotValidAtTime);
}

#[test]
fn leaf_not_yet_valid() {
    let r = root("test root", None);
    let inter = ca_under(&r, "test issuing CA", days(1000), None);
    let (key, der) = new_leaf(
        &inter,
        &LeafSpec { common_name: "Future", organization: None, country: None, san_uris: vec![EVIL_ISS.into()], kind: LeafKind::Signing, not_before: days(1), not_after: days(365) },
    )
    .unwrap();
    let (s, p) = present_with_chain(&EcdsaP256Signer::from_pkcs8_der(&key.serialize_der()).unwrap(), &[der, inter.der.clone()]);
    let rep = run(&anchored(vec![cert(&r)], false, &s.status_source()), &p);
    expect(&rep).invalid_at("x5c.chain", ErrorCode::CertificateNotValidAtTime);
}

#[test]
fn leaf_issued_by_a_namesake_ca() {
    // Two CAs with the same name under the same root: the chain names one, the leaf was signed by the other.
    let r = root("test root", None);
    let real = ca_under(&r, "issuing CA", days(1000), None);
    let namesake = ca_under(&r, "issuing CA", days(1000), None);
    let (key, leaf) = signing_leaf(&namesake);
    let (s, p) = present_with_chain(&key, &[leaf, real.der.clone()]);
    let rep = run(&anchored(vec![cert(&r)], false, &s.status_source()), &p);
    expect(&rep).invalid_at("x5c.chain", ErrorCode::CertificateSignatureInvalid);
}

#[test]
fn leaf_without_digital_signature_usage() {
    let r = root("test root", None);
    let inter = ca_under(&r, "test issuing CA", days(1000), None);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, "key agreement only");
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    p.key_usages = vec![rcgen::KeyUsagePurpose::KeyAgreement];
    p.subject_alt_names.push(rcgen::SanType::URI(EVIL_ISS.try_into().unwrap()));
    p.not_before = days(-1);
    p.not_after = days(30);
    let der = p.signed_by(&key, &rcgen::Issuer::from_params(&inter.params, &inter.key)).unwrap().der().to_vec();
    let (s, pres) = present_with_chain(&EcdsaP256Signer::from_pkcs8_der(&key.serialize_der()).unwrap(), &[der, inter.der.clone()]);
    let rep = run(&anchored(vec![cert(&r)], false, &s.status_source()), &pres);
    expect(&rep).invalid_at("x5c.chain", ErrorCode::KeyUsage);
}

#[test]
fn chain_valid_but_issuer_not_in_the_trusted_list() {
    let r = root("second federation root", None);
    let inter = ca_under(&r, "second federation CA", days(1000), None);
    let (key, leaf) = signing_leaf(&inter);
    let (s, p) = present_with_chain(&key, &[leaf, inter.der.clone()]);
    let rep = run(&anchored(vec![pki().anchor(), cert(&r)], true, &s.status_source()), &p);
    expect(&rep).invalid_at("trusted_list", ErrorCode::IssuerNotListed);
}

#[test]
fn institution_not_authorised_for_the_vct() {
    // ZZZS is listed for EHIC only; here it issues a PDA1 naming itself as the issuing authority.
    let s = Scenario::new(CredentialType::Pda1, "si-zzzs").set("issuing_authority", json!({"id": "SI:ZZZS", "name": "ZZZS", "country": "SI"}));
    let r = s.verify(&s.present(s.issue()));
    expect(&r).invalid_at("trusted_list", ErrorCode::NotAuthorisedForType);
}

#[test]
fn issuing_authority_disagrees_with_the_certificate() {
    // e-EFKA's certificate, but the document claims INPS (IT) issued it.
    let s = Scenario::pda1().set("issuing_authority", json!({"id": "IT:INPS01", "name": "INPS", "country": "IT"}));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("trusted_list", ErrorCode::IssuingAuthorityMismatch);
    // Right institution id, wrong country.
    let s = Scenario::pda1().set("issuing_authority", json!({"id": "EL:EFKA01", "name": "e-EFKA", "country": "CY"}));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("trusted_list", ErrorCode::IssuingAuthorityMismatch);
}

#[test]
fn iss_not_in_the_leaf_san() {
    let s = Scenario::pda1().set("iss", json!("https://issuer.example"));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("iss.san", ErrorCode::IssNotInSan);
    // Another listed institution's identifier.
    let s = Scenario::pda1().set("iss", json!(pki().iss("si-zzzs")));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("iss.san", ErrorCode::IssNotInSan);
}

// ---- who may sign credentials (key purpose) ----

/// An EHIC naming ZZZS, with no status reference, `iss` = `iss` (or none), signed by `key` with
/// `chain` in x5c, presented with a KB-JWT.
fn ehic_signed_by(key: &EcdsaP256Signer, chain: &[Vec<u8>], iss: Option<&str>) -> (Scenario, String) {
    let mut s = Scenario::ehic().without("status").header("x5c", x5c_value(chain));
    s = match iss {
        Some(i) => s.set("iss", json!(i)),
        None => s.without("iss"),
    };
    let p = s.present(s.cred().sign(key));
    (s, p)
}

#[test]
fn relying_party_certificate_is_not_an_issuer() {
    // The hospital's verifier key, under the same root, signs an EHIC. Without a trusted list this
    // used to verify as valid (any chain to the anchor could sign).
    let v = &pki().manifest.verifiers[0];
    assert_eq!(v.slug, "es-hospital");
    let (key, chain) = pki().key_and_chain(&v.signing_key, &v.chain);
    let (s, p) = ehic_signed_by(&key, &chain, Some(&v.url));
    let rep = run(&anchored(vec![pki().anchor()], false, &s.status_source()), &p);
    expect(&rep).invalid_at("x5c.chain", ErrorCode::NotCredentialSigner);
    // With the Issuer Trusted List too: refused for its purpose, before the list is consulted.
    let rep = run(&anchored(vec![pki().anchor()], true, &s.status_source()), &p);
    expect(&rep).invalid_at("x5c.chain", ErrorCode::NotCredentialSigner);
}

#[test]
fn tls_and_list_signing_certificates_are_not_issuers() {
    let i = pki().manifest.institution("si-zzzs").unwrap();
    let m = &pki().manifest;
    for (key, chain) in [(&i.tls_key, &i.tls_chain), (&m.trust_operator_key, &m.trust_operator_chain)] {
        let (key, chain) = pki().key_and_chain(key, chain);
        let (s, p) = ehic_signed_by(&key, &chain, None);
        for with_list in [false, true] {
            let rep = run(&anchored(vec![pki().anchor()], with_list, &s.status_source()), &p);
            expect(&rep).invalid_at("x5c.chain", ErrorCode::NotCredentialSigner);
        }
    }
}

#[test]
fn leaf_without_the_credential_signing_purpose_needs_a_list() {
    // A digitalSignature leaf with no extended key usage, chained to the root: without a list it
    // is not an issuer.
    let r = root("test root", None);
    let inter = ca_under(&r, "test issuing CA", days(1000), None);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, "no purpose");
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    p.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    p.subject_alt_names.push(rcgen::SanType::URI(EVIL_ISS.try_into().unwrap()));
    p.not_before = days(-40);
    p.not_after = days(30);
    let der = p.signed_by(&key, &rcgen::Issuer::from_params(&inter.params, &inter.key)).unwrap().der().to_vec();
    let (s, pres) = present_with_chain(&EcdsaP256Signer::from_pkcs8_der(&key.serialize_der()).unwrap(), &[der, inter.der.clone()]);
    let rep = run(&anchored(vec![cert(&r)], false, &s.status_source()), &pres);
    expect(&rep).invalid_at("x5c.chain", ErrorCode::NotCredentialSigner);
}

#[test]
fn institution_certificate_without_a_list_is_accepted() {
    // Positive control for the three tests above: the demo institution certificates carry the
    // credential-signing purpose, so a verifier with only the root accepts them.
    for s in [Scenario::pda1(), Scenario::ehic()] {
        let rep = run(&anchored(vec![pki().anchor()], false, &s.status_source()), &s.present(s.issue()));
        expect(&rep).allowing("trusted_list", CheckResult::Skipped).valid();
        assert!(rep.check("x5c.chain").unwrap().detail.contains("credential-signing key purpose"), "{:?}", rep.check("x5c.chain"));
    }
}

// ---- issuer authorisation at the time of signing (iat) ----

/// The demo Issuer Trusted List with e-EFKA's PDA1 authorisation ending on `until`.
fn list_with_efka_pda1_until(until: &str) -> esspass_credential::trust::TrustedList {
    let mut list = pki().trusted_list();
    let esspass_credential::trust::ListBody::Issuers { issuers } = &mut list.body else { panic!("issuer list") };
    let efka = issuers.iter_mut().find(|e| e.institution_id == "EL:EFKA01").unwrap();
    efka.credential_types[0].valid_until = Some(esspass_core::Date::parse(until).unwrap());
    list
}

fn with_list(list: esspass_credential::trust::TrustedList, s: &Scenario) -> Verifier {
    Verifier::new(ChainValidator::new(vec![pki().anchor()]), Some(list), Some(StatusCache::new(Box::new(s.status_source()), CachePolicy::default())))
}

#[test]
fn backdated_date_of_issuance_does_not_revive_an_ended_authorisation() {
    // e-EFKA may issue PDA1s until 2027-02-28. On 2027-03-02 (iat) it signs one dated 2027-02-20:
    // authorisation used to be judged on the asserted date_of_issuance and passed.
    let s = Scenario::pda1().set("date_of_issuance", json!("2027-02-20"));
    let rep = run(&with_list(list_with_efka_pda1_until("2027-02-28"), &s), &s.present(s.issue()));
    expect(&rep).invalid_at("trusted_list", ErrorCode::NotAuthorisedForType);
}

#[test]
fn signed_while_authorised_is_accepted() {
    // Positive control: signed on 2027-02-27 (iat), inside the authorisation.
    let s = Scenario::pda1().set("date_of_issuance", json!("2027-02-20")).set("iat", json!(NOW - 3 * 86400));
    let rep = run(&with_list(list_with_efka_pda1_until("2027-02-28"), &s), &s.present(s.issue()));
    expect(&rep).valid();
    assert!(rep.check("trusted_list").unwrap().detail.contains("2027-02-27"), "{:?}", rep.check("trusted_list"));
}

#[test]
fn date_of_issuance_after_the_signing_date() {
    // Signed on 2027-02-27 (iat) but dated 2027-03-01.
    let s = Scenario::pda1().set("date_of_issuance", json!("2027-03-01")).set("iat", json!(NOW - 3 * 86400));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("validity.document", ErrorCode::IssuedAfterSigning);
}

#[test]
fn signed_before_the_certificate_existed() {
    // The demo certificates start 31 days before NOW; iat 40 days before NOW.
    let s = Scenario::pda1().set("iat", json!(NOW - 40 * 86400));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("validity.token", ErrorCode::CertificateNotValidAtTime);
}

#[test]
fn credential_without_iat() {
    let s = Scenario::pda1().without("iat");
    expect(&s.verify(&s.present(s.issue()))).invalid_at("sd_jwt_vc.claims", ErrorCode::MissingField);
}

// ---- trusted list rollback ----

#[test]
fn trusted_list_with_a_lower_sequence_is_refused() {
    use esspass_credential::trust::{ListHistory, TrustedList};
    let m = &pki().manifest;
    let (key, chain) = pki().key_and_chain(&m.trust_operator_key, &m.trust_operator_chain);
    let chains = ChainValidator::new(vec![pki().anchor()]);
    let signed = |sequence: u64| TrustedList { sequence, ..pki().trusted_list() }.sign(&key, &chain).unwrap();
    let mut history = ListHistory::default();
    TrustedList::verify_with_history(&signed(7), &chains, NOW, &mut history).unwrap();
    TrustedList::verify_with_history(&signed(7), &chains, NOW, &mut history).unwrap();
    let old = signed(6);
    // Valid on its own (signature, chain, window): only the history refuses it.
    TrustedList::verify(&old, &chains, NOW).unwrap();
    let e = TrustedList::verify_with_history(&old, &chains, NOW, &mut history).unwrap_err();
    assert_eq!(e.code, ErrorCode::TrustedListRollback, "{e}");
    TrustedList::verify_with_history(&signed(8), &chains, NOW, &mut history).unwrap();
}
