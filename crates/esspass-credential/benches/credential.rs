//! Criterion benchmarks: issuing, and a full presentation check against the cost of two bare ES256
//! verifications (the floor: the issuer signature and the KB-JWT signature).
//!
//! `cargo bench -p esspass-credential --bench credential`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use criterion::{Criterion, criterion_group, criterion_main};
use esspass_core::CredentialType;
use esspass_credential::sdjwt::present::{Selection, bind, select};
use esspass_credential::status::{CachePolicy, StatusCache, StatusList, StatusListSource, TokenClaims, sign_token};
use esspass_credential::trust::TrustedList;
use esspass_credential::vc::{IssueRequest, issue};
use esspass_credential::verify::{Expectation, Outcome, Verifier};
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_credential::{EcdsaP256Signer, Signer, jose};
use std::hint::black_box;

/// The allocator the `esspass` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Fixed(String);
impl StatusListSource for Fixed {
    fn fetch(&self, _uri: &str) -> Result<String, String> {
        Ok(self.0.clone())
    }
}

const URI: &str = "https://127.0.0.1:8441/status/el-efka";

fn bench(c: &mut Criterion) {
    let now = time::OffsetDateTime::now_utc();
    let t = now.unix_timestamp();
    let dir = std::env::temp_dir().join(format!("esspass-bench-{}", std::process::id()));
    let m = esspass_keys::pki::init_demo(&dir, now).unwrap();
    let inst = m.institution("el-efka").unwrap();
    let signer = esspass_keys::files::load_signer(&dir.join(&inst.signing_key)).unwrap();
    let chain = esspass_keys::files::load_chain(&dir.join(&inst.chain)).unwrap();
    let root = Certificate::from_pem(&std::fs::read_to_string(dir.join(&m.root)).unwrap()).unwrap();
    let itl = std::fs::read_to_string(dir.join(&m.issuer_trusted_list)).unwrap();
    let holder = EcdsaP256Signer::generate().unwrap();
    let mut claims: serde_json::Value = serde_json::from_str(include_str!("../../../examples/pda1-claims.json")).unwrap();
    let today = esspass_core::Date::of_instant(now);
    claims["date_of_issuance"] = today.to_string().into();
    claims["starting_date"] = today.to_string().into();
    let mut list = StatusList::new(2, 1 << 20).unwrap();
    list.set(5, 1).unwrap();
    let token = sign_token(&signer, &chain, &list, &TokenClaims { sub: URI.into(), iat: t, exp: Some(t + 86400), ttl: Some(86400) }).unwrap();
    let jwk = holder.public_jwk();
    let req = IssueRequest {
        credential_type: CredentialType::Pda1,
        claims: &claims,
        signer: &signer,
        x5c: &chain,
        holder_jwk: &jwk,
        iss: Some(&inst.iss),
        iat: t,
        nbf: Some(t),
        exp: Some(t + 86400 * 365),
        status: Some((URI, 77)),
        decoys: true,
    };
    c.bench_function("issue_pda1", |b| b.iter(|| black_box(issue(&req).unwrap())));

    let sd = issue(&req).unwrap();
    let sel = [Selection::parse("document_number").unwrap(), Selection::parse("personal_administrative_number").unwrap(), Selection::parse("transitional_rules").unwrap()];
    let presentation = bind(select(&sd, &sel).unwrap(), &holder, "nonce-1", "https://127.0.0.1:8452", t).unwrap().serialize();

    let chains = ChainValidator::new(vec![root]);
    let list = TrustedList::verify(&itl, &chains, t).unwrap();
    let verifier = Verifier::new(chains, Some(list), Some(StatusCache::new(Box::new(Fixed(token)), CachePolicy { default_ttl: 86400, max_age: 86400 })));
    let expect = Expectation { nonce: Some("nonce-1"), aud: Some("https://127.0.0.1:8452") };
    let first = verifier.verify(&presentation, &expect, now);
    assert_eq!(first.outcome, Outcome::Valid, "{:?}", first.checks);

    // The floor: two bare ES256 verifications of signatures of the same sizes.
    let issuer_jws = jose::CompactJws::parse(&sd.jwt).unwrap();
    let kb = presentation.rsplit('~').next().unwrap().to_owned();
    let kb_jws = jose::CompactJws::parse(&kb).unwrap();
    let issuer_point = signer.public_jwk().point().unwrap();
    let holder_point = jwk.point().unwrap();
    c.bench_function("two_bare_es256_verifications", |b| {
        b.iter(|| {
            assert!(jose::verify_es256(&issuer_point, issuer_jws.signing_input.as_bytes(), &issuer_jws.signature));
            assert!(jose::verify_es256(&holder_point, kb_jws.signing_input.as_bytes(), &kb_jws.signature));
        })
    });
    c.bench_function("verify_presentation_full", |b| b.iter(|| black_box(verifier.verify(black_box(&presentation), &expect, now))));

    // The ratio, measured interleaved (rounds alternate between the two) so that drift of a shared
    // machine hits both sides alike; the median of the per-round ratios is reported.
    let bare = || {
        assert!(jose::verify_es256(&issuer_point, issuer_jws.signing_input.as_bytes(), &issuer_jws.signature));
        assert!(jose::verify_es256(&holder_point, kb_jws.signing_input.as_bytes(), &kb_jws.signature));
    };
    let mut ratios = Vec::new();
    for _ in 0..25 {
        let t0 = std::time::Instant::now();
        for _ in 0..400 {
            bare();
        }
        let b = t0.elapsed().as_secs_f64() / 400.0;
        let t1 = std::time::Instant::now();
        for _ in 0..400 {
            black_box(verifier.verify(black_box(&presentation), &expect, now));
        }
        let f = t1.elapsed().as_secs_f64() / 400.0;
        ratios.push((f / b, b, f));
    }
    ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (r, b, f) = ratios[ratios.len() / 2];
    println!("full presentation check / two bare ES256 verifications (interleaved, median of 25 rounds): {r:.2}x  ({:.1} µs vs {:.1} µs)", f * 1e6, b * 1e6);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(60).measurement_time(std::time::Duration::from_secs(4)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
