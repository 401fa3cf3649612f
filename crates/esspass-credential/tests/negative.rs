#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! Negative suite for the verification pipeline: malformed and malicious presentations, each
//! checked for its outcome, the exact failing check and code, that every earlier check passed (or
//! was legitimately skipped), that nothing later ran, and that nothing panicked (`support::run`).
//!
//! The groups follow `verify::CHECKS`: `envelope` (format, jws.header, jws.signature), `chain`
//! (x5c.chain, trusted_list, iss.san), `disclosures` (sd.disclosures, sd_jwt_vc.claims,
//! type_metadata), `validity_status` (validity.*, status) and `holder` (holder_binding).

mod common;
#[path = "negative/support.rs"]
mod support;

#[path = "negative/chain.rs"]
mod chain;
#[path = "negative/disclosures.rs"]
mod disclosures;
#[path = "negative/envelope.rs"]
mod envelope;
#[path = "negative/holder.rs"]
mod holder;
#[path = "negative/validity_status.rs"]
mod validity_status;

use support::*;

/// The unmodified scenarios verify: every negative test starts from a credential that is valid.
#[test]
fn baseline_scenarios_are_valid() {
    for s in [Scenario::pda1(), Scenario::ehic()] {
        let r = s.verify(&s.present(s.issue()));
        expect(&r).valid();
        assert!(r.disclosed.iter().any(|d| d == "personal_administrative_number"), "{:?}", r.disclosed);
    }
}

/// The helper itself: a valid report is not accepted as a failure, and a failure at one check is
/// not accepted as a failure at another (guards against a vacuous `expect`).
#[test]
fn the_assertion_helper_can_fail() {
    let s = Scenario::pda1();
    let valid = s.verify(&s.present(s.issue()));
    let as_invalid = std::panic::catch_unwind(|| expect(&valid).invalid_at("status", esspass_core::ErrorCode::Revoked));
    assert!(as_invalid.is_err());
    let expired = Scenario::pda1().set("exp", serde_json::json!(common::NOW - 1));
    let r = expired.verify(&expired.present(expired.issue()));
    let wrong_check = std::panic::catch_unwind(|| expect(&r).invalid_at("validity.document", esspass_core::ErrorCode::TokenExpired));
    assert!(wrong_check.is_err());
    let wrong_code = std::panic::catch_unwind(|| expect(&r).invalid_at("validity.token", esspass_core::ErrorCode::TokenNotYetValid));
    assert!(wrong_code.is_err());
    expect(&r).invalid_at("validity.token", esspass_core::ErrorCode::TokenExpired);
}
