//! The offline trust bundle: revocation and suspension found by truncated hash under the signer's
//! kid, only changed partitions differ between builds, and every refusal with its code — a part
//! changed or missing, a manifest signed by a key without the TSL-signing purpose, an export signed by
//! another institution, a bundle too old or from the future, a path that climbs out of the bundle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_core::CredentialType;
use esspass_credential::trust::{IssuerEntry, ListBody, TrustedList};
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_paper::bundle::{BuildInput, Built, Bundle, RevocationExport, build, document_hash, safe_path};
use esspass_paper::{IssueRequest, issue, verify_with_bundle};
use std::path::PathBuf;
use std::sync::OnceLock;

fn pki() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("esspass-bundle-pki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        esspass_keys::pki::init_demo(&dir, time::OffsetDateTime::now_utc()).unwrap();
        dir
    })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn chains() -> ChainValidator {
    ChainValidator::new(vec![Certificate::from_pem(&std::fs::read_to_string(pki().join("root/ca.pem")).unwrap()).unwrap()])
}

fn issuers() -> Vec<IssuerEntry> {
    let list = TrustedList::verify(std::fs::read_to_string(pki().join("trusted-lists/issuers.jwt")).unwrap().trim(), &chains(), now()).unwrap();
    match list.body {
        ListBody::Issuers { issuers } => issuers,
        ListBody::Verifiers { .. } | ListBody::Institutions { .. } => panic!("not an issuer list"),
    }
}

fn key(who: &str) -> (esspass_credential::EcdsaP256Signer, Vec<Vec<u8>>) {
    (esspass_keys::files::load_signer(&pki().join(format!("{who}/signing.key"))).unwrap(), esspass_keys::files::load_chain(&pki().join(format!("{who}/chain.pem"))).unwrap())
}

fn ehic(number: &str) -> String {
    let (signer, chain) = key("institutions/si-zzzs");
    let mut claims: serde_json::Value = serde_json::from_str(include_str!("../../../examples/ehic-claims.json")).unwrap();
    claims["document_number"] = serde_json::json!(number);
    issue(&IssueRequest { credential_type: CredentialType::Ehic, claims: &claims, signer: &signer, cert_der: &chain[0], iss: "SI:ZZZS", iat: now(), exp: now() + 86_400 }).unwrap().text
}

fn export(revoked: &[&str], suspended: &[&str]) -> RevocationExport {
    RevocationExport { institution_id: "SI:ZZZS".into(), issued_at: now(), revoked: revoked.iter().map(|n| document_hash(n)).collect(), suspended: suspended.iter().map(|n| document_hash(n)).collect(), status_lists: vec![] }
}

fn built(exports: &[RevocationExport], sequence: u64, at: i64) -> (Built, String) {
    let b = build(&BuildInput { operator: "test operator", sequence, now: at, issuers: &issuers(), exports, status_tokens: &[] }).unwrap();
    let (signer, chain) = key("trust-operator");
    let m = b.sign(&signer, &chain).unwrap();
    (b, m)
}

fn load(b: &Built, manifest: &str) -> Result<Bundle, esspass_credential::Error> {
    Bundle::load(manifest, &|p| b.parts.get(p).cloned(), &chains(), now(), 86_400)
}

fn code<T: std::fmt::Debug>(r: Result<T, esspass_credential::Error>) -> String {
    r.unwrap_err().code.code().to_owned()
}

#[test]
fn revoked_and_suspended_documents_are_found_and_others_pass() {
    let (b, m) = built(&[export(&["SI-REVOKED-1"], &["SI-SUSPENDED-1"])], 1, now());
    let bundle = load(&b, &m).unwrap();
    assert_eq!(verify_with_bundle(&ehic("SI-VALID-1"), &bundle, now()).unwrap().claims["document_number"], "SI-VALID-1");
    assert_eq!(code(verify_with_bundle(&ehic("SI-REVOKED-1"), &bundle, now())), "ESP-8013");
    assert_eq!(code(verify_with_bundle(&ehic("SI-SUSPENDED-1"), &bundle, now())), "ESP-8014");
    // Each hash is filed under every certificate kid of the institution, by its first byte.
    let part = &b.manifest.revocations[0];
    assert_eq!(part.path, format!("revocations/{}/{}.json", part.kid.as_deref().unwrap(), part.prefix.as_deref().unwrap()));
    // A PDA1 signer of another institution is unknown to the EHIC check; the types are enforced.
    assert_eq!(bundle.manifest.issuers.len(), issuers().len(), "the whole Issuer Trusted List (the PID provider too: SD-JWT VCs are checked offline against it)");
}

#[test]
fn only_the_partitions_that_changed_differ_between_builds() {
    let many: Vec<String> = (0..2000).map(|i| format!("SI-{i:06}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let (a, _) = built(&[export(&refs, &[])], 1, now());
    let mut more = refs.clone();
    more.push("SI-NEWLY-REVOKED");
    let (b, _) = built(&[export(&more, &[])], 2, now());
    let changed: Vec<&String> = b.parts.iter().filter(|(p, bytes)| a.parts.get(*p) != Some(*bytes)).map(|(p, _)| p).collect();
    let prefix = &document_hash("SI-NEWLY-REVOKED")[..2];
    // Every certificate of the institution has its own partition of that prefix, nothing else changes.
    assert!(!changed.is_empty() && changed.iter().all(|p| p.ends_with(&format!("/{prefix}.json"))), "{changed:?}");
    assert!(b.parts.len() > 100, "2,000 hashes spread over the first-byte partitions");
}

#[test]
fn a_changed_or_missing_part_is_refused() {
    let (b, m) = built(&[export(&["SI-REVOKED-1"], &[])], 1, now());
    let path = b.manifest.revocations[0].path.clone();
    // A part emptied of its revocations (to make a revoked document pass) no longer matches its digest.
    let mut forged = b.clone();
    let mut part: serde_json::Value = serde_json::from_slice(&forged.parts[&path]).unwrap();
    part["revoked"] = serde_json::json!([]);
    forged.parts.insert(path.clone(), serde_json::to_vec(&part).unwrap());
    assert_eq!(code(load(&forged, &m)), "ESP-8015");
    forged.parts.remove(&path);
    assert_eq!(code(load(&forged, &m)), "ESP-8015");
}

#[test]
fn manifest_signature_signer_and_age_are_checked() {
    let (b, m) = built(&[], 1, now());
    assert!(load(&b, &m).is_ok());
    // One payload byte changed.
    let mut parts: Vec<String> = m.split('.').map(str::to_owned).collect();
    let mut payload: serde_json::Value = serde_json::from_slice(&esspass_credential::b64::decode(&parts[1]).unwrap()).unwrap();
    payload["issued_at"] = serde_json::json!(now() + 10);
    parts[1] = esspass_credential::b64::encode(serde_json::to_vec(&payload).unwrap());
    assert_eq!(code(load(&b, &parts.join("."))), "ESP-8015");
    // Signed by an institution: a valid chain, but not the TSL-signing purpose.
    let (signer, chain) = key("institutions/si-zzzs");
    assert_eq!(code(load(&b, &b.sign(&signer, &chain).unwrap())), "ESP-8015");
    // Two days old against a one-day maximum; issued in the future.
    let (old, m_old) = built(&[], 1, now() - 2 * 86_400);
    assert_eq!(code(load(&old, &m_old)), "ESP-8016");
    let (future, m_future) = built(&[], 1, now() + 3600);
    assert_eq!(code(load(&future, &m_future)), "ESP-8015");
}

#[test]
fn an_export_is_accepted_only_from_the_institution_it_names() {
    let e = export(&["SI-REVOKED-1"], &[]);
    let (si, si_chain) = key("institutions/si-zzzs");
    let ok = e.sign(&si, &si_chain).unwrap();
    assert_eq!(RevocationExport::verify(&ok, &chains(), &issuers(), now()).unwrap(), e);
    // Greece cannot revoke Slovenia's cards.
    let (el, el_chain) = key("institutions/el-efka");
    assert_eq!(code(RevocationExport::verify(&e.sign(&el, &el_chain).unwrap(), &chains(), &issuers(), now())), "ESP-8015");
    // Not a hash: refused rather than filed.
    let mut bad = e.clone();
    bad.revoked = vec!["SI-REVOKED-1".into()];
    assert_eq!(code(RevocationExport::verify(&bad.sign(&si, &si_chain).unwrap(), &chains(), &issuers(), now())), "ESP-8015");
    // An institution not in the list.
    let mut stranger = e;
    stranger.institution_id = "XX:NOBODY".into();
    assert_eq!(code(RevocationExport::verify(&stranger.sign(&si, &si_chain).unwrap(), &chains(), &issuers(), now())), "ESP-8015");
}

#[test]
fn part_paths_stay_inside_the_bundle() {
    for good in ["revocations/0011223344556677/ab.json", "status/00ff.jwt"] {
        assert!(safe_path(good), "{good}");
    }
    for bad in ["../etc/passwd", "/abs/path", "revocations//x", "a/./b", "", "a\\b", "status/x y.jwt"] {
        assert!(!safe_path(bad), "{bad}");
    }
}

fn pda1(number: &str) -> (String, serde_json::Value) {
    let (signer, chain) = key("institutions/el-efka");
    let mut claims: serde_json::Value = serde_json::from_str(include_str!("../../../examples/pda1-claims.json")).unwrap();
    let first = claims["work_information"]["work_address"][0].clone();
    claims["work_information"]["work_address"] = serde_json::Value::Array(vec![first]);
    claims["document_number"] = serde_json::json!(number);
    let p = issue(&IssueRequest { credential_type: CredentialType::Pda1, claims: &claims, signer: &signer, cert_der: &chain[0], iss: "EL:EFKA01", iat: now(), exp: now() + 86_400 }).unwrap();
    assert!(!p.minimal && p.qr_version <= 20, "the whole PDA1 is in the QR code");
    (p.text, claims)
}

/// Both documents: printed as PDF, the page rasterised by poppler's `pdftoppm` (as a verifier's
/// scanner would), turned and shrunk (as a phone camera would), the QR code read back from the image
/// and checked offline against a bundle — valid; then revoked in the next bundle.
#[test]
fn both_documents_survive_print_rasterise_scan_and_revocation() {
    let dir = std::env::temp_dir().join(format!("esspass-print-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ehic_claims = {
        let mut c: serde_json::Value = serde_json::from_str(include_str!("../../../examples/ehic-claims.json")).unwrap();
        c["document_number"] = serde_json::json!("SI-PRINTED-1");
        c
    };
    let docs = [(CredentialType::Ehic, ehic("SI-PRINTED-1"), ehic_claims), {
        let (text, claims) = pda1("EL-PRINTED-1");
        (CredentialType::Pda1, text, claims)
    }];
    let (b, m) = built(&[], 1, now());
    let clean = load(&b, &m).unwrap();
    let revoked_si = export(&["SI-PRINTED-1"], &[]);
    let mut revoked_el = export(&["EL-PRINTED-1"], &[]);
    revoked_el.institution_id = "EL:EFKA01".into();
    let (b2, m2) = built(&[revoked_si, revoked_el], 2, now());
    let revoked = load(&b2, &m2).unwrap();
    for (t, text, claims) in docs {
        let paper = esspass_paper::Paper { qr_version: 0, minimal: false, text: text.clone() };
        let pdf = esspass_paper::pdf(&esspass_paper::PrintRequest { paper: &paper, credential_type: t, claims: &claims, online_check: Some("https://institution.example") }).unwrap();
        let name = t.short_name();
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).unwrap();
        let ok = std::process::Command::new("pdftoppm")
            .args(["-r", "150", "-png", "-singlefile"])
            .arg(dir.join(format!("{name}.pdf")))
            .arg(dir.join(name))
            .status()
            .expect("pdftoppm (poppler-utils) is needed: .ci/run installs it");
        assert!(ok.success());
        let page = image::open(dir.join(format!("{name}.png"))).unwrap();
        // Turned a quarter and shrunk to 85 %, then JPEG-compressed: a phone photo, roughly.
        let turned = image::imageops::rotate90(&page.to_luma8());
        let small = image::imageops::resize(&turned, turned.width() * 85 / 100, turned.height() * 85 / 100, image::imageops::FilterType::Triangle);
        let mut jpeg = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageLuma8(small).to_rgb8().write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        for img in [std::fs::read(dir.join(format!("{name}.png"))).unwrap(), jpeg.into_inner()] {
            let read = esspass_paper::scan(&img).unwrap_or_else(|e| panic!("{name} ({} bytes): {e:?}", img.len()));
            assert_eq!(read, text, "{name}: the QR code read from the image is the one printed");
            let r = verify_with_bundle(&read, &clean, now()).unwrap();
            assert_eq!(r.claims, claims, "{name}");
            assert_eq!(code(verify_with_bundle(&read, &revoked, now())), "ESP-8013", "{name}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
