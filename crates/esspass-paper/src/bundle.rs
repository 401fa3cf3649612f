//! The offline trust bundle: what a verifier without a network needs, published by the trust
//! operator and refreshed daily (docs/paper.md, "Offline trust bundle").
//!
//! - **Revocation exports** (`revocation-list+jwt`): each institution node publishes, signed with its
//!   credential-signing key, the hashes of the document numbers it has revoked or suspended —
//!   SHA-256 of the document number truncated to 128 bits, as the EU DCC did in 2022 — and the URIs
//!   of its Token Status Lists.
//! - **The bundle**: a directory of parts and a signed manifest (`offline-bundle+jwt`, signed like the
//!   trusted lists with the operator's TSL-signing key). The manifest carries the issuers with their
//!   certificates and authorisations (from the Issuer Trusted List), and the SHA-256 digest of every
//!   part: revocation partitions by signer `kid` and first hash byte, and Token Status List tokens.
//!   A verifier downloads the manifest and then only the parts whose digest changed.
//!
//! Everything here is pure: reading and writing files or URLs is the caller's job.

use crate::{TrustedSigner, err, kid};
use esspass_core::{CredentialType, Date, ErrorCode};
use esspass_credential::trust::{IssuerEntry, ListBody, TrustedList};
use esspass_credential::x509::{Certificate, ChainValidator, EKU_TSL_SIGNING};
use esspass_credential::{Result, Signer, b64, jose::CompactJws};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const MANIFEST_TYP: &str = "offline-bundle+jwt";
pub const EXPORT_TYP: &str = "revocation-list+jwt";
/// The manifest's file name inside a bundle directory (and under a bundle URL).
pub const MANIFEST_FILE: &str = "manifest.jwt";

/// The revocation hash of a document: SHA-256 of its document number (UTF-8) truncated to 128 bits,
/// lowercase hex.
pub fn document_hash(document_number: &str) -> String {
    hex(esspass_credential::sha256(document_number.as_bytes()).get(..16).unwrap_or_default())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(bytes: &[u8]) -> String {
    b64::encode(esspass_credential::sha256(bytes))
}

fn is_hash(h: &str) -> bool {
    h.len() == 32 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn jws_payload<T: Serialize>(v: &T) -> Result<Map<String, Value>> {
    match serde_json::to_value(v).map_err(|e| err(ErrorCode::Internal, e.to_string()))? {
        Value::Object(m) => Ok(m),
        _ => Err(err(ErrorCode::Internal, "not an object")),
    }
}

fn sign<T: Serialize>(typ: &str, v: &T, signer: &dyn Signer, x5c: &[Vec<u8>]) -> Result<String> {
    let mut header = Map::new();
    header.insert("typ".into(), json!(typ));
    header.insert("x5c".into(), Value::Array(x5c.iter().map(|c| Value::String(b64::encode_std(c))).collect()));
    esspass_credential::jose::sign_compact(signer, header, &jws_payload(v)?)
}

/// Check a compact JWS of type `typ` signed by a chain to the anchors; the leaf and the payload.
fn open(jws: &str, typ: &str, chains: &ChainValidator, now: i64, code: ErrorCode) -> Result<(std::sync::Arc<Certificate>, Value)> {
    let parsed = CompactJws::parse(jws.trim()).map_err(|e| err(code, e.detail))?;
    if parsed.typ() != Some(typ) {
        return Err(err(code, format!("typ {}, expected {typ}", parsed.typ().unwrap_or("(none)"))));
    }
    let x5c: Vec<&str> = parsed.header.get("x5c").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let chain = chains.validate_x5c(&x5c, now).map_err(|e| err(code, format!("signer chain: {}", e.detail)))?;
    let point = chain.leaf.p256_point().ok_or_else(|| err(code, "the signer's key is not P-256"))?;
    if !parsed.verify_with_point(point) {
        return Err(err(code, "the signature does not verify"));
    }
    Ok((chain.leaf, Value::Object(parsed.payload)))
}

/// An institution's revocation export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationExport {
    /// The institution's EESSI id (`SI:ZZZS`): must be the issuer whose certificate signed it.
    pub institution_id: String,
    pub issued_at: i64,
    /// [`document_hash`] of each revoked document.
    pub revoked: Vec<String>,
    /// [`document_hash`] of each suspended document.
    pub suspended: Vec<String>,
    /// The URIs of the institution's Token Status Lists, for the bundle to carry.
    #[serde(default)]
    pub status_lists: Vec<String>,
}

impl RevocationExport {
    pub fn sign(&self, signer: &dyn Signer, x5c: &[Vec<u8>]) -> Result<String> {
        sign(EXPORT_TYP, self, signer, x5c)
    }

    /// Verify an export against the trust anchors and the issuers of the Issuer Trusted List: the
    /// chain, the signature, and that the signer is a certificate (or a delegated status issuer) of
    /// the institution it names.
    pub fn verify(jws: &str, chains: &ChainValidator, issuers: &[IssuerEntry], now: i64) -> Result<Self> {
        let (leaf, payload) = open(jws, EXPORT_TYP, chains, now, ErrorCode::BundleInvalid)?;
        let export: RevocationExport = serde_json::from_value(payload).map_err(|e| err(ErrorCode::BundleInvalid, format!("revocation export format: {e}")))?;
        let entry = issuers.iter().find(|e| e.institution_id == export.institution_id).ok_or_else(|| err(ErrorCode::BundleInvalid, format!("{} is not in the Issuer Trusted List", export.institution_id)))?;
        let own = b64::encode_std(&leaf.der);
        if !entry.certificates.contains(&own) && !entry.status_issuers.contains(&own) {
            return Err(err(ErrorCode::BundleInvalid, format!("the revocation export for {} is signed by a certificate that institution does not hold", export.institution_id)));
        }
        if let Some(bad) = export.revoked.iter().chain(&export.suspended).find(|h| !is_hash(h)) {
            return Err(err(ErrorCode::BundleInvalid, format!("{bad:?} is not a 128-bit hex hash")));
        }
        Ok(export)
    }
}

/// One revocation partition: the hashes under one signer `kid` whose first byte is `prefix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    pub kid: String,
    pub prefix: String,
    pub revoked: Vec<String>,
    pub suspended: Vec<String>,
}

/// A part of the bundle as the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartRef {
    /// Relative path of the part (`revocations/<kid>/<prefix>.json`, `status/<hash>.jwt`).
    pub path: String,
    /// base64url SHA-256 of the part's bytes.
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The status list URI a `status/…` part is the token of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// The signed manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub operator: String,
    pub sequence: u64,
    pub issued_at: i64,
    /// The issuers, their certificates and authorisations, as the Issuer Trusted List gives them.
    pub issuers: Vec<IssuerEntry>,
    pub revocations: Vec<PartRef>,
    pub status_lists: Vec<PartRef>,
}

/// A bundle as built: the manifest (to sign) and the parts' bytes by path.
#[derive(Debug, Clone)]
pub struct Built {
    pub manifest: Manifest,
    pub parts: BTreeMap<String, Vec<u8>>,
}

impl Built {
    pub fn sign(&self, signer: &dyn Signer, x5c: &[Vec<u8>]) -> Result<String> {
        sign(MANIFEST_TYP, &self.manifest, signer, x5c)
    }
}

/// What goes into a bundle.
#[derive(Debug)]
pub struct BuildInput<'a> {
    pub operator: &'a str,
    pub sequence: u64,
    pub now: i64,
    /// The issuers of a verified Issuer Trusted List.
    pub issuers: &'a [IssuerEntry],
    /// Verified revocation exports ([`RevocationExport::verify`]).
    pub exports: &'a [RevocationExport],
    /// Token Status List tokens by URI, as fetched (each verified again by the verifier that uses it).
    pub status_tokens: &'a [(String, String)],
}

fn status_path(uri: &str) -> String {
    format!("status/{}.jwt", hex(esspass_credential::sha256(uri.as_bytes()).get(..16).unwrap_or_default()))
}

/// Build a bundle: partition every export's hashes by each certificate `kid` of its institution and
/// by the hash's first byte, and name every part with its digest.
pub fn build(input: &BuildInput<'_>) -> Result<Built> {
    // (kid, prefix) → (revoked, suspended)
    let mut parts: BTreeMap<(String, String), (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for export in input.exports {
        let Some(entry) = input.issuers.iter().find(|e| e.institution_id == export.institution_id) else {
            return Err(err(ErrorCode::BundleInvalid, format!("{} is not in the Issuer Trusted List", export.institution_id)));
        };
        for cert in &entry.certificates {
            let der = b64::decode_std(cert).map_err(|_| err(ErrorCode::BundleInvalid, "an issuer certificate is not base64"))?;
            let k = hex(&kid(&der));
            for (set, revoked) in [(&export.revoked, true), (&export.suspended, false)] {
                for h in set {
                    let slot = parts.entry((k.clone(), h.get(..2).unwrap_or("00").to_owned())).or_default();
                    if revoked { slot.0.insert(h.clone()) } else { slot.1.insert(h.clone()) };
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut revocations = Vec::new();
    for ((k, prefix), (revoked, suspended)) in parts {
        // A document both revoked and suspended (an earlier export) is revoked.
        let suspended: Vec<String> = suspended.difference(&revoked).cloned().collect();
        let p = Partition { kid: k.clone(), prefix: prefix.clone(), revoked: revoked.into_iter().collect(), suspended };
        let bytes = serde_json::to_vec(&p).map_err(|e| err(ErrorCode::Internal, e.to_string()))?;
        let path = format!("revocations/{k}/{prefix}.json");
        revocations.push(PartRef { path: path.clone(), digest: digest(&bytes), kid: Some(k), prefix: Some(prefix), uri: None });
        out.insert(path, bytes);
    }
    let mut status_lists = Vec::new();
    for (uri, token) in input.status_tokens {
        let path = status_path(uri);
        let bytes = token.trim().as_bytes().to_vec();
        status_lists.push(PartRef { path: path.clone(), digest: digest(&bytes), kid: None, prefix: None, uri: Some(uri.clone()) });
        out.insert(path, bytes);
    }
    let manifest = Manifest { operator: input.operator.to_owned(), sequence: input.sequence, issued_at: input.now, issuers: input.issuers.to_vec(), revocations, status_lists };
    Ok(Built { manifest, parts: out })
}

/// Verify a manifest: typ, signature, a chain to the anchors whose leaf has the TSL-signing EKU, and
/// its part paths (relative, no `..`).
pub fn verify_manifest(jws: &str, chains: &ChainValidator, now: i64) -> Result<Manifest> {
    let (leaf, payload) = open(jws, MANIFEST_TYP, chains, now, ErrorCode::BundleInvalid)?;
    if !leaf.has_eku(EKU_TSL_SIGNING) {
        return Err(err(ErrorCode::BundleInvalid, "the bundle's signer lacks the TSL-signing extended key usage"));
    }
    let m: Manifest = serde_json::from_value(payload).map_err(|e| err(ErrorCode::BundleInvalid, format!("manifest format: {e}")))?;
    for p in m.revocations.iter().chain(&m.status_lists) {
        if !safe_path(&p.path) {
            return Err(err(ErrorCode::BundleInvalid, format!("part path {:?} is not a plain relative path", p.path)));
        }
    }
    Ok(m)
}

/// A relative path of plain segments: what a part may be called on disk and under a URL.
pub fn safe_path(p: &str) -> bool {
    !p.is_empty() && p.len() < 200 && p.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_'))
}

/// Whether `bytes` are the part the manifest names.
pub fn part_matches(part: &PartRef, bytes: &[u8]) -> bool {
    digest(bytes) == part.digest
}

/// The revocation state the bundle records for a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Revocation {
    Revoked,
    Suspended,
}

/// A verified bundle, loaded: every part's digest checked.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub manifest: Manifest,
    partitions: HashMap<(String, String), Partition>,
    status: HashMap<String, String>,
    signers: Vec<([u8; 8], TrustedSigner)>,
}

impl Bundle {
    /// Verify the manifest and load its parts with `read` (a relative path → bytes), refusing a part
    /// whose digest differs or that is missing; refuse a bundle issued longer than `max_age` seconds
    /// before `now`.
    pub fn load(manifest_jws: &str, read: &dyn Fn(&str) -> Option<Vec<u8>>, chains: &ChainValidator, now: i64, max_age: i64) -> Result<Self> {
        let manifest = verify_manifest(manifest_jws, chains, now)?;
        if now - manifest.issued_at > max_age {
            return Err(err(ErrorCode::BundleTooOld, format!("the bundle was issued {} ago; at most {} is accepted", age_text(now - manifest.issued_at), age_text(max_age))));
        }
        if manifest.issued_at > now + 300 {
            return Err(err(ErrorCode::BundleInvalid, "the bundle is issued in the future"));
        }
        let mut partitions = HashMap::new();
        for p in &manifest.revocations {
            let bytes = read(&p.path).ok_or_else(|| err(ErrorCode::BundleInvalid, format!("part {} is missing", p.path)))?;
            if !part_matches(p, &bytes) {
                return Err(err(ErrorCode::BundleInvalid, format!("part {} does not match its digest", p.path)));
            }
            let mut part: Partition = serde_json::from_slice(&bytes).map_err(|e| err(ErrorCode::BundleInvalid, format!("part {}: {e}", p.path)))?;
            if Some(&part.kid) != p.kid.as_ref() || Some(&part.prefix) != p.prefix.as_ref() {
                return Err(err(ErrorCode::BundleInvalid, format!("part {} is not the partition the manifest names", p.path)));
            }
            part.revoked.sort_unstable();
            part.suspended.sort_unstable();
            partitions.insert((part.kid.clone(), part.prefix.clone()), part);
        }
        let mut status = HashMap::new();
        for p in &manifest.status_lists {
            let bytes = read(&p.path).ok_or_else(|| err(ErrorCode::BundleInvalid, format!("part {} is missing", p.path)))?;
            if !part_matches(p, &bytes) {
                return Err(err(ErrorCode::BundleInvalid, format!("part {} does not match its digest", p.path)));
            }
            let uri = p.uri.clone().ok_or_else(|| err(ErrorCode::BundleInvalid, format!("part {} names no status list URI", p.path)))?;
            status.insert(uri, String::from_utf8(bytes).map_err(|_| err(ErrorCode::BundleInvalid, format!("part {} is not text", p.path)))?);
        }
        let today = Date::of_instant(time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH));
        let signers = signers(&manifest.issuers, today);
        Ok(Self { manifest, partitions, status, signers })
    }

    /// Seconds since the bundle was issued.
    pub fn age(&self, now: i64) -> i64 {
        now - self.manifest.issued_at
    }

    /// The trusted paper signer with this `kid`.
    pub fn signer(&self, k: &[u8]) -> Option<TrustedSigner> {
        self.signers.iter().find(|(kid, _)| kid.as_slice() == k).map(|(_, s)| s.clone())
    }

    /// What the bundle records for the document with this number, signed under `kid` (hex).
    pub fn revocation(&self, kid_hex: &str, document_number: &str) -> Option<Revocation> {
        let h = document_hash(document_number);
        let part = self.partitions.get(&(kid_hex.to_owned(), h.get(..2)?.to_owned()))?;
        if part.revoked.binary_search(&h).is_ok() {
            Some(Revocation::Revoked)
        } else if part.suspended.binary_search(&h).is_ok() {
            Some(Revocation::Suspended)
        } else {
            None
        }
    }

    /// The Token Status List token the bundle carries for `uri`.
    pub fn status_token(&self, uri: &str) -> Option<&str> {
        self.status.get(uri).map(String::as_str)
    }

    /// The issuers as an (already verified) Issuer Trusted List, for verifying SD-JWT VCs offline.
    pub fn trusted_list(&self) -> TrustedList {
        TrustedList {
            operator: self.manifest.operator.clone(),
            sequence: self.manifest.sequence,
            issued_at: self.manifest.issued_at,
            next_update: i64::MAX,
            body: ListBody::Issuers { issuers: self.manifest.issuers.clone() },
        }
    }
}

/// The paper signers of an Issuer Trusted List's entries on `day`: each certificate by its `kid`,
/// with the document types its institution is authorised for that day; issuers of no paper
/// document are left out.
pub fn signers(issuers: &[IssuerEntry], day: Date) -> Vec<([u8; 8], TrustedSigner)> {
    let mut out = Vec::new();
    for e in issuers.iter().filter(|e| e.valid_from <= day && e.valid_until.is_none_or(|u| u >= day)) {
        let types: Vec<CredentialType> = CredentialType::DOCUMENTS.into_iter().filter(|t| e.authorises(t.vct(), day)).collect();
        // Only signers of documents with a paper form (a PID provider has none).
        if types.is_empty() {
            continue;
        }
        for c in &e.certificates {
            if let Ok(der) = b64::decode_std(c)
                && let Ok(cert) = Certificate::from_der(&der)
            {
                out.push((kid(&der), TrustedSigner { certificate: cert, types: types.clone() }));
            }
        }
    }
    out
}

/// "3 h 20 min", "2 d 4 h".
pub fn age_text(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}
