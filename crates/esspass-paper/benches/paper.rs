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
    // The same against an offline trust bundle carrying 1,000,000 revoked documents of this
    // institution (the signer by kid, then the revocation partition looked up).
    let anchors = vec![Certificate::from_pem(&std::fs::read_to_string(dir.join("root/ca.pem")).unwrap()).unwrap()];
    let chains = esspass_credential::x509::ChainValidator::new(anchors);
    let itl = esspass_credential::trust::TrustedList::verify(std::fs::read_to_string(dir.join("trusted-lists/issuers.jwt")).unwrap().trim(), &chains, now).unwrap();
    let esspass_credential::trust::ListBody::Issuers { issuers } = &itl.body else { panic!("not an issuer list") };
    let revoked: Vec<String> = (0..1_000_000).map(|i| esspass_paper::bundle::document_hash(&format!("EL-EFKA-PDA1-2026-{i:07}X"))).collect();
    let export = esspass_paper::bundle::RevocationExport { institution_id: "EL:EFKA01".into(), issued_at: now, revoked, suspended: vec![], status_lists: vec![] };
    let tb = Instant::now();
    let built = esspass_paper::bundle::build(&esspass_paper::bundle::BuildInput { operator: "bench", sequence: 1, now, issuers, exports: std::slice::from_ref(&export), status_tokens: &[] }).unwrap();
    let tsl = esspass_keys::files::load_signer(&dir.join("trust-operator/signing.key")).unwrap();
    let tsl_chain = esspass_keys::files::load_chain(&dir.join("trust-operator/chain.pem")).unwrap();
    let manifest = built.sign(&tsl, &tsl_chain).unwrap();
    let build_secs = tb.elapsed().as_secs_f64();
    let bytes: usize = built.parts.values().map(Vec::len).sum();
    let tl = Instant::now();
    let bundle = esspass_paper::bundle::Bundle::load(&manifest, &|p| built.parts.get(p).cloned(), &chains, now, 86_400).unwrap();
    let load_secs = tl.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..n {
        esspass_paper::verify_with_bundle(&paper.text, &bundle, now).unwrap();
    }
    let bundle_secs = t.elapsed().as_secs_f64();
    println!(
        "offline bundle with 1,000,000 revoked documents: built and signed in {build_secs:.2} s ({} partitions, {:.1} MiB), loaded and checked in {load_secs:.2} s; verification against it {:.0}/s ({:.1} µs each)",
        built.manifest.revocations.len(),
        bytes as f64 / 1_048_576.0,
        f64::from(n) / bundle_secs,
        bundle_secs * 1e6 / f64::from(n)
    );
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
