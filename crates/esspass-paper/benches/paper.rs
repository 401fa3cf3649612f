//! Offline verification of paper credentials per second on one core (prefix, Base45, zlib, COSE,
//! ES256 signature, CWT, the document's validation), and issuance. Target: ≥ 10,000 verifications/s.
//!
//! `cargo bench -p esspass-paper --bench paper`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_core::CredentialType;
use esspass_credential::x509::Certificate;
use esspass_paper::{IssueRequest, TrustedSigner, issue, kid, verify};
use std::time::Instant;

fn main() {
    let dir = std::env::temp_dir().join(format!("esspass-bench-paper-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    esspass_keys::pki::init_demo(&dir, time::OffsetDateTime::now_utc()).unwrap();
    let signer = esspass_keys::files::load_signer(&dir.join("institutions/el-efka/signing.key")).unwrap();
    let cert = esspass_keys::files::load_chain(&dir.join("institutions/el-efka/chain.pem")).unwrap().remove(0);
    let mut claims: serde_json::Value = serde_json::from_str(include_str!("../../../examples/pda1-claims.json")).unwrap();
    let first = claims["work_information"]["work_address"][0].clone();
    claims["work_information"]["work_address"] = serde_json::Value::Array(vec![first]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let req = IssueRequest { credential_type: CredentialType::Pda1, claims: &claims, signer: &signer, cert_der: &cert, iss: "EL:EFKA01", iat: now, exp: now + 86_400 };
    let n_issue = 500;
    let t = Instant::now();
    let mut paper = None;
    for _ in 0..n_issue {
        paper = Some(issue(&req).unwrap());
    }
    let issue_rate = f64::from(n_issue) / t.elapsed().as_secs_f64();
    let paper = paper.unwrap();
    let signer_entry = TrustedSigner { certificate: Certificate::from_der(&cert).unwrap(), types: vec![CredentialType::Pda1] };
    let k = kid(&cert);
    let trusted = |x: &[u8]| (x == k).then(|| signer_entry.clone());
    let n: u32 = std::env::var("ESSPASS_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    for _ in 0..1000 {
        verify(&paper.text, &trusted, now).unwrap();
    }
    let t = Instant::now();
    for _ in 0..n {
        verify(&paper.text, &trusted, now).unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "paper PDA1 (one employer, one work address; QR version {} at Q, {} characters): {:.0} offline verifications/s ({:.1} µs each, one core, signature included); issuance {:.0}/s (QR sizing included)",
        paper.qr_version,
        paper.text.len(),
        f64::from(n) / secs,
        secs * 1e6 / f64::from(n),
        issue_rate
    );
    let _ = std::fs::remove_dir_all(&dir);
}
