//! What wallets send the institution node: token requests (form), credential, deferred and
//! notification requests (JSON), key proofs and DPoP proofs. None may panic; a proof that is not
//! signed by a real key never validates.
#![no_main]

use esspass_oid4vc::dpop::{DpopRequest, validate_dpop_proof};
use esspass_oid4vc::jwt::IatWindow;
use esspass_oid4vc::proof::validate_jwt_proof;
use esspass_oid4vc::vci::{CredentialRequest, DeferredCredentialRequest, NotificationRequest, TokenRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = TokenRequest::from_form(data);
    let _ = CredentialRequest::parse(data);
    let _ = DeferredCredentialRequest::parse(data);
    let _ = NotificationRequest::parse(data);
    if let Ok(s) = std::str::from_utf8(data) {
        // Forging an ES256 signature is out of a fuzzer's reach: nothing it makes may validate.
        assert!(validate_jwt_proof(s, "https://issuer.example", 1_700_000_000, IatWindow::default()).is_err());
        let req = DpopRequest { method: "POST", url: "https://issuer.example/token", access_token: None, accepted_nonces: &[], now: 1_700_000_000, window: IatWindow::default() };
        assert!(validate_dpop_proof(s, &req).is_err());
        let _ = esspass_oid4vc::dpop::normalize_htu(s);
    }
});
