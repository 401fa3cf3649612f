//! When and whether: `validity.token` (iat/nbf/exp), `validity.document` (date_of_issuance /
//! date_of_expiry), `validity.coverage` (starting_date / ending_date) and `status` (Token Status List).
//! NOW is 1_803_981_600 = 2027-03-02T10:00:00Z (so "today" is 2027-03-02).

use crate::common::*;
use crate::support::*;
use esspass_core::ErrorCode;
use esspass_credential::status::{StatusList, TokenClaims, sign_token};
use esspass_credential::verify::CheckResult;
use serde_json::json;

// ---- validity.token ----

#[test]
fn token_expired() {
    for exp in [NOW - 1, NOW, NOW - 86400 * 400] {
        let s = Scenario::pda1().set("exp", json!(exp));
        expect(&s.verify(&s.present(s.issue()))).invalid_at("validity.token", ErrorCode::TokenExpired);
    }
}

#[test]
fn token_expiring_a_second_from_now_is_valid() {
    // Positive control for token_expired (exp is exclusive).
    let s = Scenario::pda1().set("exp", json!(NOW + 1));
    expect(&s.verify(&s.present(s.issue()))).valid();
}

#[test]
fn token_not_yet_valid() {
    let s = Scenario::pda1().set("nbf", json!(NOW + 1));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("validity.token", ErrorCode::TokenNotYetValid);
    let s = Scenario::pda1().set("iat", json!(NOW + 60)).set("nbf", json!(NOW - 60));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("validity.token", ErrorCode::TokenNotYetValid);
}

#[test]
fn nbf_beyond_i64_is_not_ignored() {
    // An unsigned nbf too large for i64 lies in the future like any other: it must not be dropped.
    let s = Scenario::pda1().set("nbf", json!(u64::MAX));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("validity.token", ErrorCode::TokenNotYetValid);
    let s = Scenario::pda1().set("iat", json!(u64::MAX));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("validity.token", ErrorCode::TokenNotYetValid);
}

// ---- validity.document ----

#[test]
fn document_expired() {
    let s = Scenario::pda1().set("date_of_expiry", json!("2027-03-01"));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("validity.document", ErrorCode::DocumentExpired);
}

#[test]
fn document_issued_in_the_future() {
    let s = Scenario::pda1().set("date_of_issuance", json!("2027-03-03"));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("validity.document", ErrorCode::DocumentNotYetIssued);
}

#[test]
fn document_boundaries_are_inclusive() {
    // Issued today and expiring today: in force (positive control for the two tests above).
    let today = json!("2027-03-02");
    let s = Scenario::ehic().set("date_of_issuance", today.clone()).set("date_of_expiry", today.clone()).set("starting_date", today.clone()).set("ending_date", today);
    expect(&s.verify(&s.present(s.issue()))).valid();
}

// ---- validity.coverage ----

#[test]
fn coverage_ended() {
    let s = Scenario::pda1().set("ending_date", json!("2027-03-01"));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("validity.coverage", ErrorCode::CoverageEnded);
}

#[test]
fn coverage_not_started() {
    let s = Scenario::pda1().set("starting_date", json!("2027-03-03"));
    expect(&s.verify(&s.present(s.issue()))).invalid_at("validity.coverage", ErrorCode::CoverageNotStarted);
}

// ---- status ----

/// A scenario credential verified against `src`.
fn verify_with(s: &Scenario, src: &MemorySource) -> esspass_credential::verify::Report {
    run(&verifier(src), &s.present(s.issue()))
}

fn token(slug: &str, list: &StatusList, claims: TokenClaims) -> String {
    sign_token(&pki().signer(slug), &pki().chain(slug), list, &claims).unwrap()
}

fn fresh(sub: &str) -> TokenClaims {
    TokenClaims { sub: sub.into(), iat: NOW - 60, exp: Some(NOW + 3600), ttl: Some(300) }
}

fn serve(uri: &str, token: String) -> MemorySource {
    let src = MemorySource::default();
    src.0.lock().unwrap().insert(uri.into(), token);
    src
}

#[test]
fn revoked() {
    let s = Scenario::pda1();
    let src = MemorySource::default();
    publish(&src, s.slug, STATUS_URI, &[(IDX as usize, 1)]);
    let r = verify_with(&s, &src);
    expect(&r).invalid_at("status", ErrorCode::Revoked);
    assert_eq!(r.status.as_ref().and_then(|st| st.label), Some("INVALID"));
}

#[test]
fn suspended() {
    let s = Scenario::ehic();
    let src = MemorySource::default();
    publish(&src, s.slug, STATUS_URI, &[(IDX as usize, 2)]);
    expect(&verify_with(&s, &src)).invalid_at("status", ErrorCode::Suspended);
}

#[test]
fn application_specific_status_value() {
    let s = Scenario::pda1();
    let src = MemorySource::default();
    publish(&src, s.slug, STATUS_URI, &[(IDX as usize, 3)]);
    expect(&verify_with(&s, &src)).invalid_at("status", ErrorCode::StatusUnknownValue);
}

#[test]
fn neighbouring_revocation_does_not_leak() {
    // Positive control: entries IDX-1 and IDX+1 revoked, IDX itself valid (LSB-first packing).
    let s = Scenario::pda1();
    let src = MemorySource::default();
    publish(&src, s.slug, STATUS_URI, &[(IDX as usize - 1, 1), (IDX as usize + 1, 2)]);
    expect(&verify_with(&s, &src)).valid();
}

#[test]
fn status_token_sub_differs_from_uri() {
    let s = Scenario::pda1();
    let list = StatusList::new(2, 1024).unwrap();
    let src = serve(STATUS_URI, token(s.slug, &list, fresh("https://127.0.0.1:8441/status/2")));
    expect(&verify_with(&s, &src)).invalid_at("status", ErrorCode::StatusSubjectMismatch);
}

#[test]
fn status_index_out_of_range() {
    for idx in [1024u64, 1_000_000, u64::MAX] {
        let s = Scenario::pda1().set("status", json!({"status_list": {"idx": idx, "uri": STATUS_URI}}));
        let src = s.status_source();
        expect(&verify_with(&s, &src)).invalid_at("status", ErrorCode::StatusIndexOutOfRange);
    }
}

#[test]
fn status_list_signed_by_another_institution() {
    // ZZZS (SI) signs a list at the URI e-EFKA's PDA1 refers to.
    let s = Scenario::pda1();
    let src = MemorySource::default();
    publish(&src, "si-zzzs", STATUS_URI, &[]);
    expect(&verify_with(&s, &src)).invalid_at("status", ErrorCode::StatusSignerNotAuthorised);
}

#[test]
fn status_list_unreachable_is_an_error_and_later_checks_still_run() {
    let s = Scenario::pda1();
    let r = verify_with(&s, &MemorySource::default());
    expect(&r).error_at("status", ErrorCode::StatusUnavailable);
    assert_eq!(r.check("holder_binding").unwrap().result, CheckResult::Pass);
    assert!(r.claims.is_some(), "an error outcome still reports what was presented");
}

#[test]
fn status_list_unreachable_and_a_later_failure_is_invalid() {
    let s = Scenario::pda1();
    let sd = esspass_credential::sdjwt::present::bind(s.issue(), &s.holder, "another nonce", AUD, NOW).unwrap();
    let r = run(&verifier(&MemorySource::default()), &sd.serialize());
    expect(&r).allowing("status", CheckResult::Error).invalid_at("holder_binding", ErrorCode::KbJwtNonce);
    assert_eq!(r.check("status").unwrap().code, Some(ErrorCode::StatusUnavailable));
}

#[test]
fn status_token_expired() {
    let s = Scenario::pda1();
    let list = StatusList::new(2, 1024).unwrap();
    let src = serve(STATUS_URI, token(s.slug, &list, TokenClaims { exp: Some(NOW - 1), ..fresh(STATUS_URI) }));
    expect(&verify_with(&s, &src)).invalid_at("status", ErrorCode::StatusTokenExpired);
}

#[test]
fn status_token_with_a_forged_signature() {
    // e-EFKA's chain in the header, ZZZS's key signing.
    let s = Scenario::pda1();
    let list = StatusList::new(2, 1024).unwrap();
    let tok = sign_token(&pki().signer("si-zzzs"), &pki().chain("el-efka"), &list, &fresh(STATUS_URI)).unwrap();
    expect(&verify_with(&s, &serve(STATUS_URI, tok))).invalid_at("status", ErrorCode::StatusTokenSignatureInvalid);
}

#[test]
fn status_token_of_the_wrong_type() {
    // A credential of the issuer served as the status list.
    let s = Scenario::pda1();
    let other = s.issue().jwt;
    expect(&verify_with(&s, &serve(STATUS_URI, other))).invalid_at("status", ErrorCode::WrongTyp);
}

#[test]
fn status_token_with_alg_none() {
    let s = Scenario::pda1();
    let header = json!({"alg": "none", "typ": "statuslist+jwt", "x5c": x5c_value(&pki().chain(s.slug))});
    let payload = json!({"sub": STATUS_URI, "iat": NOW - 60, "status_list": StatusList::new(2, 1024).unwrap().to_json().unwrap()});
    let tok = format!("{}.{}.", b64_json(&header), b64_json(&payload));
    expect(&verify_with(&s, &serve(STATUS_URI, tok))).invalid_at("status", ErrorCode::AlgorithmNotAllowed);
}

#[test]
fn status_token_chain_with_the_anchor_inside() {
    let s = Scenario::pda1();
    let mut chain = pki().chain(s.slug);
    chain.push(pki().anchor().der);
    let tok = sign_token(&s.signer(), &chain, &StatusList::new(2, 1024).unwrap(), &fresh(STATUS_URI)).unwrap();
    expect(&verify_with(&s, &serve(STATUS_URI, tok))).invalid_at("status", ErrorCode::TrustAnchorInX5c);
}

#[test]
fn malformed_status_reference() {
    for st in [json!({"status_list": {"idx": "7", "uri": STATUS_URI}}), json!({"status_list": {"idx": -1, "uri": STATUS_URI}}), json!({"status_list": {"idx": 7}}), json!({"status_list": 7}), json!("revoked?")] {
        let s = Scenario::pda1().set("status", st);
        let src = s.status_source();
        expect(&verify_with(&s, &src)).invalid_at("status", ErrorCode::StatusListMalformed);
    }
}

#[test]
fn malformed_status_list_in_a_signed_token() {
    let s = Scenario::pda1();
    let header = json!({"typ": "statuslist+jwt", "x5c": x5c_value(&pki().chain(s.slug))});
    for list in [json!({"bits": 1, "lst": "AAAA"}), json!({"bits": 3, "lst": "eNrbuRgAAhcBXQ"}), json!({"bits": 1}), json!("eNrbuRgAAhcBXQ")] {
        let payload = json!({"sub": STATUS_URI, "iat": NOW - 60, "exp": NOW + 60, "status_list": list});
        let tok = esspass_credential::jose::sign_compact(&s.signer(), obj(header.clone()), &obj(payload)).unwrap();
        expect(&verify_with(&s, &serve(STATUS_URI, tok))).invalid_at("status", ErrorCode::StatusListMalformed);
    }
}

#[test]
fn status_list_rollback_is_refused() {
    // The list is refetched on every verification (ttl 0). After a token that revokes IDX has been
    // seen, an older token that still says VALID (a replay) is refused rather than believed.
    let s = Scenario::pda1();
    let older = token(s.slug, &StatusList::new(2, 1024).unwrap(), TokenClaims { iat: NOW - 600, ttl: Some(0), ..fresh(STATUS_URI) });
    let mut revoked = StatusList::new(2, 1024).unwrap();
    revoked.set(IDX as usize, 1).unwrap();
    let newer = token(s.slug, &revoked, TokenClaims { iat: NOW - 60, ttl: Some(0), ..fresh(STATUS_URI) });
    let src = serve(STATUS_URI, older.clone());
    let v = verifier(&src);
    let p = s.present(s.issue());
    expect(&run(&v, &p)).valid();
    src.0.lock().unwrap().insert(STATUS_URI.into(), newer);
    expect(&run(&v, &p)).invalid_at("status", ErrorCode::Revoked);
    src.0.lock().unwrap().insert(STATUS_URI.into(), older);
    let r = run(&v, &p);
    expect(&r).invalid_at("status", ErrorCode::StatusListRollback);
}

/// A status source that counts fetches.
#[derive(Clone, Default)]
struct Counting(MemorySource, std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl esspass_credential::status::StatusListSource for Counting {
    fn fetch(&self, uri: &str) -> Result<String, String> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.fetch(uri)
    }
}

#[test]
fn status_uri_of_an_unauthenticated_credential_is_not_fetched() {
    // No trust anchor: the chain cannot be validated (outcome error), so the status URI the
    // credential names is attacker-controlled and must not be fetched.
    use esspass_credential::status::{CachePolicy, StatusCache};
    use esspass_credential::verify::Verifier;
    use esspass_credential::x509::ChainValidator;
    let s = Scenario::pda1();
    let src = Counting(s.status_source(), Default::default());
    let v = Verifier::new(ChainValidator::new(vec![]), None, Some(StatusCache::new(Box::new(src.clone()), CachePolicy::default())));
    let r = run(&v, &s.present(s.issue()));
    expect(&r).allowing("trusted_list", CheckResult::Skipped).allowing("status", CheckResult::Skipped).error_at("x5c.chain", ErrorCode::NoTrustInput);
    assert_eq!(src.1.load(std::sync::atomic::Ordering::SeqCst), 0, "the status list was fetched: {:?}", r.check("status"));
    assert!(r.check("status").unwrap().detail.contains("not fetched"));
    // Positive control: with the anchor, the same source is used.
    let v = Verifier::new(ChainValidator::new(vec![pki().anchor()]), Some(pki().trusted_list()), Some(StatusCache::new(Box::new(src.clone()), CachePolicy::default())));
    expect(&run(&v, &s.present(s.issue()))).valid();
    assert_eq!(src.1.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn cache_only_verification_never_fetches_and_says_when_it_would() {
    // The verifier node runs the pipeline on its async threads only when every status list is
    // fresh in the cache: a cold cache must be reported (and nothing fetched), a warm one used.
    use esspass_credential::status::{CachePolicy, StatusCache, from_cache_only};
    use esspass_credential::verify::Verifier;
    use esspass_credential::x509::ChainValidator;
    let s = Scenario::pda1();
    let src = Counting(s.status_source(), Default::default());
    let v = Verifier::new(ChainValidator::new(vec![pki().anchor()]), Some(pki().trusted_list()), Some(StatusCache::new(Box::new(src.clone()), CachePolicy::default())));
    let p = s.present(s.issue());
    assert!(from_cache_only(|| run(&v, &p)).is_none(), "a cold cache needs a fetch");
    assert_eq!(src.1.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing fetched under from_cache_only");
    expect(&run(&v, &p)).valid();
    assert_eq!(src.1.load(std::sync::atomic::Ordering::SeqCst), 1);
    let warm = from_cache_only(|| run(&v, &s.present(s.issue()))).expect("fresh in the cache");
    expect(&warm).valid();
    assert_eq!(src.1.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Outside from_cache_only, lookups fetch again as before (the flag does not stick).
    assert!(from_cache_only(|| 1).is_some());
}
