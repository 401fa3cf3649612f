//! The demo PKI and the signed trusted lists.
//!
//! Layout written by [`init_demo`] (documented in `docs/pki.md`):
//! ```text
//! DIR/pki.json                         manifest: every party, its ids, URLs and file names
//! DIR/root/ca.pem                      trust-operator root (the trust anchor; never in x5c)
//! DIR/root/ca.key
//! DIR/intermediate/ca.pem, ca.key      issuing CA under the root
//! DIR/trust-operator/chain.pem, signing.key   trusted-list signer (EKU id-tsl-kp-tslSigning)
//! DIR/institutions/<slug>/chain.pem, signing.key   credential + status list signer (EKU id-esspass-kp-credentialSigning)
//! DIR/institutions/<slug>/tls-chain.pem, tls.key   HTTPS server certificate for 127.0.0.1
//! DIR/verifiers/<slug>/…               the same for verifiers (EKU id-esspass-kp-relyingParty, never a credential signer)
//! DIR/trusted-lists/issuers.jwt        signed Issuer Trusted List
//! DIR/trusted-lists/verifiers.jwt      signed Verifier Trusted List
//! ```
//! Chains are PEM, leaf first, root left out. Keys are PKCS#8 PEM, mode 0600.

use crate::KeyError;
use crate::files::{write_private_key, write_public};
use esspass_core::{CredentialType, Date};
use esspass_credential::signer::to_pem;
use esspass_credential::trust::{Authorisation, BucParticipation, BucRole, InstitutionEntry, IssuerEntry, ListBody, Profile, TrustedList, VerifierEntry};
use esspass_credential::type_metadata::Selector;
use esspass_credential::x509::{EKU_CREDENTIAL_SIGNING, EKU_RELYING_PARTY, oid_der};
use esspass_credential::{EcdsaP256Signer, b64};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use time::{Duration, OffsetDateTime};

/// A certificate authority: its key, the parameters it was made from, and its certificate.
pub struct Ca {
    pub key: KeyPair,
    pub params: CertificateParams,
    pub der: Vec<u8>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ca(..)")
    }
}

fn dn(cn: &str, org: Option<&str>, country: Option<&str>) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    if let Some(c) = country {
        d.push(DnType::CountryName, c);
    }
    if let Some(o) = org {
        d.push(DnType::OrganizationName, o);
    }
    d.push(DnType::CommonName, cn);
    d
}

fn ca_params(cn: &str, not_before: OffsetDateTime, not_after: OffsetDateTime, path_len: Option<u8>) -> Result<CertificateParams, KeyError> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name = dn(cn, Some("esspass demo trust operator"), None);
    p.is_ca = IsCa::Ca(path_len.map_or(BasicConstraints::Unconstrained, BasicConstraints::Constrained));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p.not_before = not_before;
    p.not_after = not_after;
    Ok(p)
}

/// A self-signed root CA.
pub fn new_root(cn: &str, not_before: OffsetDateTime, not_after: OffsetDateTime, path_len: Option<u8>) -> Result<Ca, KeyError> {
    let key = KeyPair::generate()?;
    let params = ca_params(cn, not_before, not_after, path_len)?;
    let der = params.self_signed(&key)?.der().to_vec();
    Ok(Ca { key, params, der })
}

/// An intermediate CA signed by `parent`.
pub fn new_intermediate(parent: &Ca, cn: &str, not_before: OffsetDateTime, not_after: OffsetDateTime, path_len: Option<u8>) -> Result<Ca, KeyError> {
    let key = KeyPair::generate()?;
    let params = ca_params(cn, not_before, not_after, path_len)?;
    let der = params.signed_by(&key, &Issuer::from_params(&parent.params, &parent.key))?.der().to_vec();
    Ok(Ca { key, params, der })
}

/// What kind of end-entity certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    /// An institution's key: signs credentials and status lists (digitalSignature + EKU
    /// id-esspass-kp-credentialSigning, which a verifier without a trusted list requires).
    Signing,
    /// A relying party's (verifier's) signing key (digitalSignature + EKU id-esspass-kp-relyingParty):
    /// never accepted as a credential signer.
    RelyingParty,
    /// Signs trusted lists (digitalSignature + EKU id-tsl-kp-tslSigning).
    TrustListSigning,
    /// HTTPS server on 127.0.0.1 (serverAuth, SAN IP 127.0.0.1 and DNS localhost).
    TlsServer,
}

/// Parameters of an end-entity certificate.
#[derive(Debug, Clone)]
pub struct LeafSpec<'a> {
    pub common_name: &'a str,
    pub organization: Option<&'a str>,
    pub country: Option<&'a str>,
    pub san_uris: Vec<String>,
    pub kind: LeafKind,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// An end-entity certificate signed by `parent`; returns its key and DER.
pub fn new_leaf(parent: &Ca, spec: &LeafSpec<'_>) -> Result<(KeyPair, Vec<u8>), KeyError> {
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name = dn(spec.common_name, spec.organization, spec.country);
    p.is_ca = IsCa::ExplicitNoCa;
    p.not_before = spec.not_before;
    p.not_after = spec.not_after;
    for u in &spec.san_uris {
        p.subject_alt_names.push(SanType::URI(u.as_str().try_into()?));
    }
    match spec.kind {
        LeafKind::Signing => {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.custom_extensions.push(eku_extension(EKU_CREDENTIAL_SIGNING)?);
        }
        LeafKind::RelyingParty => {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.custom_extensions.push(eku_extension(EKU_RELYING_PARTY)?);
        }
        LeafKind::TrustListSigning => {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![0, 4, 0, 2231, 3, 0])];
        }
        LeafKind::TlsServer => {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            p.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
            p.subject_alt_names.push(SanType::DnsName("localhost".try_into()?));
        }
    }
    let der = p.signed_by(&key, &Issuer::from_params(&parent.params, &parent.key))?.der().to_vec();
    Ok((key, der))
}

/// An extendedKeyUsage extension (2.5.29.37, not critical) holding one OID, written by hand because
/// rcgen's `ExtendedKeyUsagePurpose::Other` takes 64-bit arcs and ours is a 128-bit UUID arc.
fn eku_extension(oid: &str) -> Result<CustomExtension, KeyError> {
    let content = oid_der(oid).ok_or_else(|| KeyError::Certificate(format!("not an OID: {oid}")))?;
    Ok(CustomExtension::from_oid_content(&[2, 5, 29, 37], der_tlv(0x30, &der_tlv(0x06, &content))))
}

/// One DER tag-length-value.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match u8::try_from(content.len()) {
        Ok(n) if n < 0x80 => out.push(n),
        _ => {
            let len: Vec<u8> = content.len().to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
            out.push(0x80 | len.len() as u8);
            out.extend(len);
        }
    }
    out.extend_from_slice(content);
    out
}

/// A demo institution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstitutionInfo {
    pub slug: String,
    pub institution_id: String,
    pub name: String,
    pub country: String,
    pub credential_types: Vec<CredentialType>,
    /// The credential issuer identifier (`iss`), also a SAN URI of the signing certificate.
    pub iss: String,
    pub port: u16,
    pub signing_key: String,
    pub chain: String,
    pub tls_key: String,
    pub tls_chain: String,
}

/// A demo verifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifierInfo {
    pub slug: String,
    pub verifier_id: String,
    pub name: String,
    pub country: String,
    pub url: String,
    pub port: u16,
    pub signing_key: String,
    pub chain: String,
    pub tls_key: String,
    pub tls_chain: String,
}

/// `pki.json`: what `pki init` created. Paths are relative to the PKI directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub root: String,
    pub intermediate: String,
    pub trust_operator_key: String,
    pub trust_operator_chain: String,
    pub issuer_trusted_list: String,
    pub verifier_trusted_list: String,
    /// The Institution Repository of EESSI (`trusted-lists/repository.jwt`).
    #[serde(default = "default_repository")]
    pub institution_repository: String,
    pub institutions: Vec<InstitutionInfo>,
    pub verifiers: Vec<VerifierInfo>,
}

fn default_repository() -> String {
    "trusted-lists/repository.jwt".into()
}

/// The business use cases every demo social security institution handles, in both roles.
pub const DEMO_BUCS: &[&str] = &["LA_BUC_01", "LA_BUC_02", "LA_BUC_03", "LA_BUC_04", "LA_BUC_05", "LA_BUC_06", "H_BUC_01"];

impl Manifest {
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        let text = crate::files::read_text(&dir.join("pki.json"))?;
        serde_json::from_str(&text).map_err(|e| KeyError::Certificate(format!("pki.json: {e}")))
    }

    pub fn institution(&self, slug: &str) -> Option<&InstitutionInfo> {
        self.institutions.iter().find(|i| i.slug == slug)
    }
}

struct Party {
    slug: &'static str,
    id: &'static str,
    name: &'static str,
    country: &'static str,
    port: u16,
    types: &'static [CredentialType],
}

const INSTITUTIONS: &[Party] = &[
    Party { slug: "el-efka", id: "EL:EFKA01", name: "e-EFKA", country: "GR", port: 8441, types: &[CredentialType::Pda1] },
    Party { slug: "si-zzzs", id: "SI:ZZZS", name: "ZZZS", country: "SI", port: 8442, types: &[CredentialType::Ehic] },
    Party { slug: "it-inps", id: "IT:INPS01", name: "INPS", country: "IT", port: 8443, types: &[CredentialType::Pda1, CredentialType::Ehic] },
    Party { slug: "es-inss", id: "ES:INSS01", name: "INSS", country: "ES", port: 8444, types: &[CredentialType::Ehic, CredentialType::Pda1] },
    // The demo PID provider (`role = "pid_provider"`): issues PIDs to the demo people.
    Party { slug: "si-pid", id: "SI:PID01", name: "Demo PID provider", country: "SI", port: 8440, types: &[CredentialType::Pid] },
];

const VERIFIERS: &[Party] = &[
    Party { slug: "es-hospital", id: "ES-HULP", name: "Hospital Universitario La Paz", country: "ES", port: 8451, types: &[CredentialType::Ehic] },
    Party { slug: "it-inl", id: "IT-INL", name: "Ispettorato Nazionale del Lavoro", country: "IT", port: 8452, types: &[CredentialType::Pda1] },
    // The institutions as relying parties: each signs people in with a PID (`[sign_in.pid]`), with a
    // request-signing certificate of its own registered for the PID sign-in claims.
    Party { slug: "el-efka-signin", id: "EL:EFKA01", name: "e-EFKA", country: "GR", port: 8441, types: &[CredentialType::Pid] },
    Party { slug: "si-zzzs-signin", id: "SI:ZZZS", name: "ZZZS", country: "SI", port: 8442, types: &[CredentialType::Pid] },
    Party { slug: "it-inps-signin", id: "IT:INPS01", name: "INPS", country: "IT", port: 8443, types: &[CredentialType::Pid] },
    Party { slug: "es-inss-signin", id: "ES:INSS01", name: "INSS", country: "ES", port: 8444, types: &[CredentialType::Pid] },
];

/// Services that only serve HTTPS (no signing key of their own): the trust operator's publication
/// point, the gateway and the web wallet; each gets `services/<name>/tls-chain.pem` and `tls.key`.
pub const TLS_SERVICES: &[&str] = &["trust-operator", "gateway", "wallet"];

fn chain_pem(leaf: &[u8], ca: &Ca) -> String {
    format!("{}{}", to_pem("CERTIFICATE", leaf), to_pem("CERTIFICATE", &ca.der))
}

fn key_der(k: &KeyPair) -> Vec<u8> {
    k.serialize_der()
}

/// Paths of the EHIC claims a hospital needs (docs/domain.md §2.6).
fn hospital_profile() -> Vec<Vec<Selector>> {
    ["issuing_authority", "authentic_source", "document_number", "personal_administrative_number", "date_of_issuance", "date_of_expiry", "starting_date", "ending_date"]
        .iter()
        .map(|c| vec![Selector::Key((*c).into())])
        .collect()
}

/// Paths of the PID claims an institution is registered for when it signs a person in: what matches
/// the record (names, birth date, personal number) and what the PID Rulebook makes mandatory about
/// the person (place of birth, nationalities).
pub fn pid_sign_in_registration() -> Vec<Vec<Selector>> {
    ["family_name", "given_name", "birthdate", "personal_administrative_number", "place_of_birth", "nationalities"].iter().map(|c| vec![Selector::Key((*c).into())]).collect()
}

/// Paths of the PDA1 claims a labour inspector may ask for (the whole document).
fn inspector_profile() -> Vec<Vec<Selector>> {
    let mut v: Vec<Vec<Selector>> = [
        "issuing_authority",
        "authentic_source",
        "document_number",
        "personal_administrative_number",
        "date_of_issuance",
        "date_of_expiry",
        "starting_date",
        "ending_date",
        "employer",
        "work_information",
        "legislation_country",
        "status_confirmation",
        "transitional_rules",
    ]
    .iter()
    .map(|c| vec![Selector::Key((*c).into())])
    .collect();
    v.push(vec![Selector::Key("work_information".into()), Selector::Key("work_address".into()), Selector::AnyElement]);
    v
}

/// A party's signing certificate of `kind` (SAN URI = its URL) and TLS server certificate, issued by
/// `ca` and written to `dir` (`chain.pem`, `signing.key`, `tls-chain.pem`, `tls.key`). Returns the
/// signing certificate's DER.
fn write_party(out: &Path, ca: &Ca, p: &Party, kind: LeafKind, dir: &str, url: &str, (not_before, not_after): (OffsetDateTime, OffsetDateTime)) -> Result<Vec<u8>, KeyError> {
    let leaf = |kind, san_uris| LeafSpec { common_name: if kind == LeafKind::TlsServer { "127.0.0.1" } else { p.name }, organization: Some(p.name), country: Some(p.country), san_uris, kind, not_before, not_after };
    let (k, der) = new_leaf(ca, &leaf(kind, vec![url.to_owned()]))?;
    let (tk, tder) = new_leaf(ca, &leaf(LeafKind::TlsServer, vec![]))?;
    write_public(&out.join(format!("{dir}/chain.pem")), &chain_pem(&der, ca))?;
    write_private_key(&out.join(format!("{dir}/signing.key")), &key_der(&k))?;
    write_public(&out.join(format!("{dir}/tls-chain.pem")), &chain_pem(&tder, ca))?;
    write_private_key(&out.join(format!("{dir}/tls.key")), &key_der(&tk))?;
    Ok(der)
}

/// Create the demo PKI and signed trusted lists in `out` (created if missing; existing files are replaced).
pub fn init_demo(out: &Path, now: OffsetDateTime) -> Result<Manifest, KeyError> {
    let start = now - Duration::days(1);
    let root = new_root("esspass demo root CA", start, now + Duration::days(3650), Some(1))?;
    let inter = new_intermediate(&root, "esspass demo issuing CA", start, now + Duration::days(1825), Some(0))?;
    write_public(&out.join("root/ca.pem"), &to_pem("CERTIFICATE", &root.der))?;
    write_private_key(&out.join("root/ca.key"), &key_der(&root.key))?;
    write_public(&out.join("intermediate/ca.pem"), &to_pem("CERTIFICATE", &inter.der))?;
    write_private_key(&out.join("intermediate/ca.key"), &key_der(&inter.key))?;

    let leaf_validity = now + Duration::days(730);
    let (tsl_key, tsl_der) = new_leaf(
        &inter,
        &LeafSpec { common_name: "esspass demo trusted list signer", organization: Some("esspass demo trust operator"), country: None, san_uris: vec![], kind: LeafKind::TrustListSigning, not_before: start, not_after: leaf_validity },
    )?;
    write_public(&out.join("trust-operator/chain.pem"), &chain_pem(&tsl_der, &inter))?;
    write_private_key(&out.join("trust-operator/signing.key"), &key_der(&tsl_key))?;
    for name in TLS_SERVICES {
        let (k, der) = new_leaf(
            &inter,
            &LeafSpec { common_name: "127.0.0.1", organization: Some("esspass demo"), country: None, san_uris: vec![], kind: LeafKind::TlsServer, not_before: start, not_after: leaf_validity },
        )?;
        write_public(&out.join(format!("services/{name}/tls-chain.pem")), &chain_pem(&der, &inter))?;
        write_private_key(&out.join(format!("services/{name}/tls.key")), &key_der(&k))?;
    }

    // Authorised since the start of the digital PDA1/EHIC pilots, so documents dated before the PKI was made verify.
    let today = Date::from_ymd(2024, 1, 1).ok_or_else(|| KeyError::Certificate("date".into()))?;
    let mut institutions = Vec::new();
    let mut issuer_entries = Vec::new();
    let mut repository_entries = Vec::new();
    for p in INSTITUTIONS {
        let iss = format!("https://127.0.0.1:{}", p.port);
        let dir = format!("institutions/{}", p.slug);
        let der = write_party(out, &inter, p, LeafKind::Signing, &dir, &iss, (start, leaf_validity))?;
        if p.types.iter().any(|t| CredentialType::DOCUMENTS.contains(t)) {
            repository_entries.push(InstitutionEntry {
                institution_id: p.id.into(),
                name: p.name.into(),
                country: esspass_core::Country::parse(p.country).ok_or_else(|| KeyError::Certificate("country".into()))?,
                access_point: iss.clone(),
                portal: Some(iss.clone()),
                certificates: vec![b64::encode_std(&der)],
                bucs: DEMO_BUCS.iter().map(|b| BucParticipation { buc: (*b).into(), roles: vec![BucRole::CaseOwner, BucRole::Counterparty] }).collect(),
                valid_from: today,
                valid_until: None,
            });
        }
        issuer_entries.push(IssuerEntry {
            institution_id: p.id.into(),
            name: p.name.into(),
            country: esspass_core::Country::parse(p.country).ok_or_else(|| KeyError::Certificate("country".into()))?,
            credential_types: p.types.iter().map(|t| Authorisation { vct: t.vct().into(), valid_from: today, valid_until: None }).collect(),
            certificates: vec![b64::encode_std(&der)],
            status_issuers: vec![],
            valid_from: today,
            valid_until: None,
        });
        institutions.push(InstitutionInfo {
            slug: p.slug.into(),
            institution_id: p.id.into(),
            name: p.name.into(),
            country: p.country.into(),
            credential_types: p.types.to_vec(),
            iss,
            port: p.port,
            signing_key: format!("{dir}/signing.key"),
            chain: format!("{dir}/chain.pem"),
            tls_key: format!("{dir}/tls.key"),
            tls_chain: format!("{dir}/tls-chain.pem"),
        });
    }
    let mut verifiers = Vec::new();
    let mut verifier_entries = Vec::new();
    for p in VERIFIERS {
        let url = format!("https://127.0.0.1:{}", p.port);
        let dir = format!("verifiers/{}", p.slug);
        let der = write_party(out, &inter, p, LeafKind::RelyingParty, &dir, &url, (start, leaf_validity))?;
        let profiles = p
            .types
            .iter()
            .map(|t| Profile {
                vct: t.vct().into(),
                claims: match t {
                    CredentialType::Ehic => hospital_profile(),
                    CredentialType::Pda1 => inspector_profile(),
                    CredentialType::Pid => pid_sign_in_registration(),
                },
            })
            .collect();
        verifier_entries.push(VerifierEntry {
            verifier_id: p.id.into(),
            name: p.name.into(),
            country: esspass_core::Country::parse(p.country).ok_or_else(|| KeyError::Certificate("country".into()))?,
            certificates: vec![b64::encode_std(&der)],
            valid_from: today,
            valid_until: None,
            profiles,
        });
        verifiers.push(VerifierInfo {
            slug: p.slug.into(),
            verifier_id: p.id.into(),
            name: p.name.into(),
            country: p.country.into(),
            url,
            port: p.port,
            signing_key: format!("{dir}/signing.key"),
            chain: format!("{dir}/chain.pem"),
            tls_key: format!("{dir}/tls.key"),
            tls_chain: format!("{dir}/tls-chain.pem"),
        });
    }

    let tsl_signer = EcdsaP256Signer::from_pkcs8_der(&key_der(&tsl_key))?;
    let x5c = vec![tsl_der, inter.der.clone()];
    let issued_at = start.unix_timestamp();
    let next_update = (now + Duration::days(90)).unix_timestamp();
    let itl = TrustedList { operator: "esspass demo trust operator".into(), sequence: 1, issued_at, next_update, body: ListBody::Issuers { issuers: issuer_entries } };
    let vtl = TrustedList { operator: "esspass demo trust operator".into(), sequence: 1, issued_at, next_update, body: ListBody::Verifiers { verifiers: verifier_entries } };
    write_public(&out.join("trusted-lists/issuers.jwt"), &itl.sign(&tsl_signer, &x5c)?)?;
    write_public(&out.join("trusted-lists/verifiers.jwt"), &vtl.sign(&tsl_signer, &x5c)?)?;
    let repository = TrustedList { operator: "esspass demo trust operator".into(), sequence: 1, issued_at, next_update, body: ListBody::Institutions { institutions: repository_entries } };
    write_public(&out.join("trusted-lists/repository.jwt"), &repository.sign(&tsl_signer, &x5c)?)?;
    write_public(&out.join("trusted-lists/repository.json"), &serde_json::to_string_pretty(&repository).unwrap_or_default())?;
    write_public(&out.join("trusted-lists/issuers.json"), &serde_json::to_string_pretty(&itl).unwrap_or_default())?;
    write_public(&out.join("trusted-lists/verifiers.json"), &serde_json::to_string_pretty(&vtl).unwrap_or_default())?;

    let manifest = Manifest {
        root: "root/ca.pem".into(),
        intermediate: "intermediate/ca.pem".into(),
        trust_operator_key: "trust-operator/signing.key".into(),
        trust_operator_chain: "trust-operator/chain.pem".into(),
        issuer_trusted_list: "trusted-lists/issuers.jwt".into(),
        verifier_trusted_list: "trusted-lists/verifiers.jwt".into(),
        institution_repository: default_repository(),
        institutions,
        verifiers,
    };
    write_public(&out.join("pki.json"), &serde_json::to_string_pretty(&manifest).unwrap_or_default())?;
    Ok(manifest)
}

/// Re-issue an institution's signing certificate for another credential issuer URL (its `iss`, a
/// SAN URI of the certificate) — e.g. when its node runs on another address — and re-sign both
/// trusted lists with the new certificate in the institution's entry. Keys are new; the old
/// certificate leaves the Issuer Trusted List.
pub fn reissue_institution(dir: &Path, slug: &str, iss: &str, now: OffsetDateTime) -> Result<Manifest, KeyError> {
    let mut manifest = Manifest::load(dir)?;
    let info = manifest.institutions.iter_mut().find(|i| i.slug == slug).ok_or_else(|| KeyError::Certificate(format!("no institution {slug}")))?;
    let read = |p: &str| crate::files::read_text(&dir.join(p));
    let inter_der = esspass_credential::signer::pem_blocks(&read("intermediate/ca.pem")?, "CERTIFICATE").into_iter().next().ok_or_else(|| KeyError::Certificate("intermediate".into()))?;
    let inter_key = KeyPair::from_pem(&read("intermediate/ca.key")?)?;
    let issuer = Issuer::from_ca_cert_der(&inter_der.as_slice().into(), inter_key)?;
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name = dn(&info.name, Some(&info.name), Some(&info.country));
    p.is_ca = IsCa::ExplicitNoCa;
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(730);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.custom_extensions.push(eku_extension(EKU_CREDENTIAL_SIGNING)?);
    p.subject_alt_names.push(SanType::URI(iss.try_into()?));
    let der = p.signed_by(&key, &issuer)?.der().to_vec();
    write_public(&dir.join(&info.chain), &format!("{}{}", to_pem("CERTIFICATE", &der), to_pem("CERTIFICATE", &inter_der)))?;
    write_private_key(&dir.join(&info.signing_key), &key_der(&key))?;
    info.iss = iss.to_owned();
    let institution_id = info.institution_id.clone();

    let tsl_signer = crate::files::load_signer(&dir.join(&manifest.trust_operator_key))?;
    let tsl_chain = crate::files::load_chain(&dir.join(&manifest.trust_operator_chain))?;
    let repository = manifest.institution_repository.clone();
    for (json_file, jwt_file) in [("trusted-lists/issuers.json", &manifest.issuer_trusted_list), ("trusted-lists/verifiers.json", &manifest.verifier_trusted_list), ("trusted-lists/repository.json", &repository)] {
        if !dir.join(json_file).exists() {
            // A PKI made before the Institution Repository existed.
            continue;
        }
        let mut list: TrustedList = serde_json::from_str(&read(json_file)?).map_err(|e| KeyError::Certificate(format!("{json_file}: {e}")))?;
        match &mut list.body {
            ListBody::Issuers { issuers } => {
                for e in issuers.iter_mut().filter(|e| e.institution_id == institution_id) {
                    e.certificates = vec![b64::encode_std(&der)];
                }
            }
            ListBody::Institutions { institutions } => {
                for e in institutions.iter_mut().filter(|e| e.institution_id == institution_id) {
                    e.certificates = vec![b64::encode_std(&der)];
                    e.access_point = iss.to_owned();
                    e.portal = Some(iss.to_owned());
                }
            }
            ListBody::Verifiers { .. } => {}
        }
        list.sequence += 1;
        list.issued_at = (now - Duration::minutes(5)).unix_timestamp();
        write_public(&dir.join(jwt_file), &list.sign(&tsl_signer, &tsl_chain)?)?;
        write_public(&dir.join(json_file), &serde_json::to_string_pretty(&list).unwrap_or_default())?;
    }
    write_public(&dir.join("pki.json"), &serde_json::to_string_pretty(&manifest).unwrap_or_default())?;
    Ok(manifest)
}
