//! Shared fixtures for the integration tests: one demo PKI per test process, issuing helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_core::{CredentialType, FixedClock};
use esspass_credential::sdjwt::SdJwt;
use esspass_credential::status::{CachePolicy, StatusCache, StatusList, StatusListSource, TokenClaims};
use esspass_credential::trust::TrustedList;
use esspass_credential::vc::{IssueRequest, issue};
use esspass_credential::verify::Verifier;
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_credential::{EcdsaP256Signer, Signer};
use esspass_keys::pki::{self, Manifest};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use time::OffsetDateTime;

/// The instant the tests run "at": 2027-03-02T10:00:00Z (inside the example documents' validity).
pub const NOW: i64 = 1_803_981_600;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

pub struct Pki {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

static PKI: OnceLock<Pki> = OnceLock::new();

/// The demo PKI, created once per test binary, "now" being a year before NOW so everything is valid.
pub fn pki() -> &'static Pki {
    PKI.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("esspass-test-pki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let manifest = pki::init_demo(&dir, now() - time::Duration::days(30)).unwrap();
        Pki { dir, manifest }
    })
}

impl Pki {
    pub fn anchor(&self) -> Certificate {
        Certificate::from_pem(&std::fs::read_to_string(self.dir.join(&self.manifest.root)).unwrap()).unwrap()
    }
    pub fn signer(&self, slug: &str) -> EcdsaP256Signer {
        let i = self.manifest.institution(slug).unwrap();
        esspass_keys::files::load_signer(&self.dir.join(&i.signing_key)).unwrap()
    }
    pub fn chain(&self, slug: &str) -> Vec<Vec<u8>> {
        let i = self.manifest.institution(slug).unwrap();
        esspass_keys::files::load_chain(&self.dir.join(&i.chain)).unwrap()
    }
    pub fn iss(&self, slug: &str) -> String {
        self.manifest.institution(slug).unwrap().iss.clone()
    }
    /// A key and chain of the PKI by their paths in the manifest (a verifier's, a TLS server's, the
    /// trust operator's).
    pub fn key_and_chain(&self, key: &str, chain: &str) -> (EcdsaP256Signer, Vec<Vec<u8>>) {
        (esspass_keys::files::load_signer(&self.dir.join(key)).unwrap(), esspass_keys::files::load_chain(&self.dir.join(chain)).unwrap())
    }
    pub fn trusted_list(&self) -> TrustedList {
        let jws = std::fs::read_to_string(self.dir.join(&self.manifest.issuer_trusted_list)).unwrap();
        TrustedList::verify(&jws, &ChainValidator::new(vec![self.anchor()]), NOW).unwrap()
    }
}

/// Status lists served from memory.
#[derive(Clone, Default)]
pub struct MemorySource(pub Arc<Mutex<HashMap<String, String>>>);

impl StatusListSource for MemorySource {
    fn fetch(&self, uri: &str) -> Result<String, String> {
        self.0.lock().unwrap().get(uri).cloned().ok_or_else(|| format!("404 {uri}"))
    }
}

pub const STATUS_URI: &str = "https://127.0.0.1:8441/status/1";

/// Publish a status list for `slug` at `uri` with the given entries set.
pub fn publish(src: &MemorySource, slug: &str, uri: &str, set: &[(usize, u8)]) {
    let mut l = StatusList::new(2, 1024).unwrap();
    for (i, v) in set {
        l.set(*i, *v).unwrap();
    }
    let p = pki();
    let tok = esspass_credential::status::sign_token(&p.signer(slug), &p.chain(slug), &l, &TokenClaims { sub: uri.into(), iat: NOW - 60, exp: Some(NOW + 3600), ttl: Some(300) }).unwrap();
    src.0.lock().unwrap().insert(uri.into(), tok);
}

pub fn claims(t: CredentialType) -> serde_json::Value {
    let s = match t {
        CredentialType::Pda1 => include_str!("../../../examples/pda1-claims.json"),
        CredentialType::Ehic => include_str!("../../../examples/ehic-claims.json"),
        CredentialType::Pid => include_str!("../../../examples/pid-claims.json"),
    };
    serde_json::from_str(s).unwrap()
}

pub struct Issued {
    pub sd_jwt: SdJwt,
    pub holder: EcdsaP256Signer,
}

/// Issue a credential of type `t` from `slug` with status index `idx` at STATUS_URI.
pub fn issue_with(t: CredentialType, slug: &str, claims: &serde_json::Value, idx: u64) -> Issued {
    let p = pki();
    let holder = EcdsaP256Signer::generate().unwrap();
    let signer = p.signer(slug);
    let chain = p.chain(slug);
    let iss = p.iss(slug);
    let jwk = holder.public_jwk();
    let sd_jwt = issue(&IssueRequest {
        credential_type: t,
        claims,
        signer: &signer,
        x5c: &chain,
        holder_jwk: &jwk,
        iss: Some(&iss),
        iat: NOW - 3600,
        nbf: Some(NOW - 3600),
        exp: Some(NOW + 365 * 86400),
        status: Some((STATUS_URI, idx)),
        decoys: true,
    })
    .unwrap();
    Issued { sd_jwt, holder }
}

pub fn issue_default(t: CredentialType) -> Issued {
    let slug = if t == CredentialType::Pda1 { "el-efka" } else { "si-zzzs" };
    issue_with(t, slug, &claims(t), 7)
}

/// A verifier with the demo root, the Issuer Trusted List and the given status source.
pub fn verifier(src: &MemorySource) -> Verifier {
    let p = pki();
    Verifier::new(ChainValidator::new(vec![p.anchor()]), Some(p.trusted_list()), Some(StatusCache::new(Box::new(src.clone()), CachePolicy::default())))
}

pub fn clock() -> FixedClock {
    FixedClock(now())
}
