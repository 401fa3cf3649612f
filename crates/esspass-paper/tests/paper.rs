//! Paper credentials: round trips for both document types, the QR size, the fallback to a minimal
//! payload, and every refusal with its code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_core::CredentialType;
use esspass_credential::EcdsaP256Signer;
use esspass_credential::x509::Certificate;
use esspass_paper::{IssueRequest, Paper, TrustedSigner, issue, kid, verify};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::OnceLock;

struct Pki {
    dir: PathBuf,
}

fn pki() -> &'static Pki {
    static P: OnceLock<Pki> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("esspass-paper-pki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        esspass_keys::pki::init_demo(&dir, time::OffsetDateTime::now_utc()).unwrap();
        Pki { dir }
    })
}

fn party(slug: &str) -> (EcdsaP256Signer, Vec<u8>) {
    let p = pki();
    let signer = esspass_keys::files::load_signer(&p.dir.join(format!("institutions/{slug}/signing.key"))).unwrap();
    let chain = esspass_keys::files::load_chain(&p.dir.join(format!("institutions/{slug}/chain.pem"))).unwrap();
    (signer, chain[0].clone())
}

/// The example document; the PDA1 with one employer and one work address (the size the profile
/// promises to carry whole).
fn example(t: CredentialType) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(root.join(format!("{}-claims.json", t.short_name()))).unwrap()).unwrap();
    if t == CredentialType::Pda1 {
        let first = v["work_information"]["work_address"][0].clone();
        v["work_information"]["work_address"] = Value::Array(vec![first]);
    }
    v
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn make(t: CredentialType, claims: &Value) -> Paper {
    let slug = if t == CredentialType::Pda1 { "el-efka" } else { "si-zzzs" };
    let (signer, cert) = party(slug);
    issue(&IssueRequest { credential_type: t, claims, signer: &signer, cert_der: &cert, iss: "EL:EFKA01", iat: now(), exp: now() + 86_400 * 365 }).unwrap()
}

/// The trust a verifier holds: el-efka for PDA1s, si-zzzs for EHICs.
fn trusted(k: &[u8]) -> Option<TrustedSigner> {
    for (slug, t) in [("el-efka", CredentialType::Pda1), ("si-zzzs", CredentialType::Ehic)] {
        let (_, cert) = party(slug);
        if kid(&cert) == k {
            return Some(TrustedSigner { certificate: Certificate::from_der(&cert).unwrap(), types: vec![t] });
        }
    }
    None
}

fn code(text: &str) -> String {
    verify(text, &trusted, now()).unwrap_err().code.code().to_owned()
}

#[test]
fn both_documents_round_trip_and_fit_the_qr_size() {
    for t in [CredentialType::Pda1, CredentialType::Ehic] {
        let claims = example(t);
        let p = make(t, &claims);
        assert!(!p.minimal, "{t:?}");
        assert!(p.qr_version <= 20, "{t:?} needs QR version {}", p.qr_version);
        assert!(p.text.starts_with(esspass_paper::prefix(t).unwrap()));
        assert!(p.text.chars().all(|c| "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(c)), "alphanumeric QR mode");
        let r = verify(&p.text, &trusted, now()).unwrap();
        assert_eq!(r.claims, claims, "{t:?}");
        assert_eq!(r.credential_type, t.short_name());
        assert!(p.svg().unwrap().starts_with("<?xml"));
    }
}

#[test]
fn a_document_too_large_for_version_20_falls_back_to_its_identifiers() {
    let mut claims = example(CredentialType::Pda1);
    let addresses: Vec<Value> = (0..12)
        .map(|i| json!({"street_address": format!("Via dei Cantieri numero {i} lato {}", i * 7919 % 1000), "house_number": format!("{}", 17 + i * 31), "postal_code": format!("{}", 20100 + i * 37), "locality": format!("Cantiere {i} di Milano Nord"), "company_name": format!("Impresa Edile Numero {i} S.r.l."), "country": "IT"}))
        .collect();
    claims["work_information"]["work_address"] = Value::Array(addresses);
    let p = make(CredentialType::Pda1, &claims);
    assert!(p.minimal && p.qr_version <= 20, "{} {}", p.minimal, p.qr_version);
    let r = verify(&p.text, &trusted, now()).unwrap();
    assert!(r.minimal);
    assert_eq!(r.claims["document_number"], claims["document_number"]);
    assert!(r.claims.get("work_information").is_none());
}

#[test]
fn refusals_have_their_codes() {
    let p = make(CredentialType::Pda1, &example(CredentialType::Pda1));
    let body = p.text.strip_prefix("PA1:").unwrap();
    assert_eq!(code(&format!("XX1:{body}")), "ESP-8001", "wrong prefix");
    assert_eq!(code("PA1:not base45!"), "ESP-8002", "bad Base45");
    // A zlib bomb: 1 MiB of zeros compresses to a few hundred bytes.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, &vec![0u8; 1 << 20]).unwrap();
    assert_eq!(code(&format!("PA1:{}", base45::encode(z.finish().unwrap()))), "ESP-8003", "zlib bomb");
    // Not COSE.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, b"hello").unwrap();
    assert_eq!(code(&format!("PA1:{}", base45::encode(z.finish().unwrap()))), "ESP-8004");
    // The same document behind the other prefix.
    assert_eq!(code(&format!("EH1:{body}")), "ESP-8007", "el-efka may not sign EHICs");
    // A signer nobody trusts.
    let stranger = EcdsaP256Signer::generate().unwrap();
    let (_, cert) = party("el-efka");
    let forged = issue(&IssueRequest { credential_type: CredentialType::Pda1, claims: &example(CredentialType::Pda1), signer: &stranger, cert_der: b"another certificate", iss: "X", iat: now(), exp: now() + 100 }).unwrap();
    assert_eq!(code(&forged.text), "ESP-8006", "unknown kid");
    // The right kid, the wrong key: the signature fails.
    let forged = issue(&IssueRequest { credential_type: CredentialType::Pda1, claims: &example(CredentialType::Pda1), signer: &stranger, cert_der: &cert, iss: "X", iat: now(), exp: now() + 100 }).unwrap();
    assert_eq!(code(&forged.text), "ESP-8008", "signature");
    // Expired, and not yet valid.
    let (signer, cert) = party("el-efka");
    let old = issue(&IssueRequest { credential_type: CredentialType::Pda1, claims: &example(CredentialType::Pda1), signer: &signer, cert_der: &cert, iss: "X", iat: now() - 1000, exp: now() - 10 }).unwrap();
    assert_eq!(code(&old.text), "ESP-8010");
    // Another algorithm in the protected header.
    assert_eq!(code(&reheader(&p.text)), "ESP-8005");
    // A payload of another type than the prefix: an EHIC signed by the EHIC issuer, sent as a PDA1.
    let e = make(CredentialType::Ehic, &example(CredentialType::Ehic));
    let as_pda1 = format!("PA1:{}", e.text.strip_prefix("EH1:").unwrap());
    let trust_all = |k: &[u8]| trusted(k).map(|mut s| {
        s.types = vec![CredentialType::Pda1, CredentialType::Ehic];
        s
    });
    assert_eq!(verify(&as_pda1, &trust_all, now()).unwrap_err().code.code(), "ESP-8011");
    // Invalid claims are never signed.
    let mut bad = example(CredentialType::Pda1);
    bad["legislation_country"] = json!("US");
    let (signer, cert) = party("el-efka");
    assert!(issue(&IssueRequest { credential_type: CredentialType::Pda1, claims: &bad, signer: &signer, cert_der: &cert, iss: "X", iat: now(), exp: now() + 100 }).is_err());
}

/// The same COSE_Sign1 with its protected header saying ES384 (the signature then covers other bytes,
/// but the algorithm is refused first).
fn reheader(text: &str) -> String {
    use coset::TaggedCborSerializable;
    let compressed = base45::decode(text.strip_prefix("PA1:").unwrap()).unwrap();
    let mut cose = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(compressed.as_slice()), &mut cose).unwrap();
    let mut s = coset::CoseSign1::from_tagged_slice(&cose).unwrap();
    s.protected = coset::ProtectedHeader { original_data: None, header: coset::HeaderBuilder::new().algorithm(coset::iana::Algorithm::ES384).key_id(s.protected.header.key_id.clone()).build() };
    let bytes = s.to_tagged_vec().unwrap();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, &bytes).unwrap();
    format!("PA1:{}", base45::encode(z.finish().unwrap()))
}
