//! X.509 for `x5c`: parsing into an owned [`Certificate`], and RFC 5280 path validation to a set of
//! trust anchors — signatures, validity at the verification time, basic constraints, path length,
//! key usage, unknown critical extensions — with the HAIP rules (the anchor is not in `x5c`, the
//! signing certificate is not self-signed). Validated chains are cached by their content. Also the
//! key purposes (extended key usage) of our certificate profile, with our own OIDs under a UUID arc.

use crate::{Error, Result};
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use esspass_core::ErrorCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

/// ETSI TS 119 612 `id-tsl-kp-tslSigning`: the EKU a trusted-list signer must carry.
pub const EKU_TSL_SIGNING: &str = "0.4.0.2231.3.0";

/// RFC 5280 `id-kp-serverAuth`: a TLS server certificate.
pub const EKU_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";

/// The esspass OID arc: `2.25.` + the decimal value of UUID a7b9183b-17ed-40d9-8530-ac7a33e84337
/// (ITU-T X.667 / ISO/IEC 9834-8 §6.3: a UUID-derived OID needs no registration and is unique).
/// Below it, `.1` holds our certificate profile's key purposes (`docs/pki.md`).
pub const ESSPASS_ARC: &str = "2.25.222942141674606946757035345434972275511";

/// `id-esspass-kp-credentialSigning` (ESSPASS_ARC.1.1): the extended key usage of an institution
/// certificate that signs credentials and their status lists. Without an Issuer Trusted List a
/// verifier accepts only leaves that carry it.
pub const EKU_CREDENTIAL_SIGNING: &str = "2.25.222942141674606946757035345434972275511.1.1";

/// `id-esspass-kp-relyingParty` (ESSPASS_ARC.1.2): a relying party's (verifier's) signing
/// certificate. Never accepted as a credential signer.
pub const EKU_RELYING_PARTY: &str = "2.25.222942141674606946757035345434972275511.1.2";

/// The facts of a certificate that esspass uses, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub der: Vec<u8>,
    /// The DER in standard base64, as in `x5c` and trusted lists.
    pub der_b64: String,
    pub subject: Vec<u8>,
    pub issuer: Vec<u8>,
    /// Human-readable subject (RFC 4514), for reports.
    pub subject_text: String,
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
    pub has_basic_constraints: bool,
    pub path_len: Option<u32>,
    /// `None` when the certificate has no keyUsage extension.
    pub key_usage_digital_signature: Option<bool>,
    pub key_usage_cert_sign: Option<bool>,
    /// Every extended key usage OID, dotted (standard ones such as serverAuth included); empty
    /// when the certificate has no extendedKeyUsage extension.
    pub eku: Vec<String>,
    pub san_uris: Vec<String>,
    pub san_dns: Vec<String>,
    /// The subjectKeyIdentifier extension's value (DCQL `trusted_authorities` of type `aki` names
    /// an anchor by it).
    pub subject_key_id: Option<Vec<u8>>,
    pub unknown_critical: bool,
    /// Signature algorithm of this certificate's own signature.
    sig_alg: SigAlg,
    tbs: Vec<u8>,
    signature: Vec<u8>,
    /// Subject public key: curve and uncompressed point.
    key_curve: Curve,
    pub public_key: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SigAlg {
    EcdsaSha256,
    EcdsaSha384,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
    Other,
}

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";

impl Certificate {
    /// Parse DER. Trailing bytes are refused.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let bad = |m: String| Error::new(ErrorCode::CertificateUnparsable, m);
        let (rest, c) = X509Certificate::from_der(der).map_err(|e| bad(format!("certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the certificate".into()));
        }
        let sig_alg = match c.signature_algorithm.algorithm.to_id_string().as_str() {
            OID_ECDSA_SHA256 => SigAlg::EcdsaSha256,
            OID_ECDSA_SHA384 => SigAlg::EcdsaSha384,
            _ => SigAlg::Other,
        };
        let spki = c.public_key();
        let key_curve = if spki.algorithm.algorithm.to_id_string() == OID_EC_PUBLIC_KEY {
            match spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string()).as_deref() {
                Some(OID_P256) => Curve::P256,
                Some(OID_P384) => Curve::P384,
                _ => Curve::Other,
            }
        } else {
            Curve::Other
        };
        let bc = c.basic_constraints().map_err(|e| bad(format!("basicConstraints: {e}")))?;
        let ku = c.key_usage().map_err(|e| bad(format!("keyUsage: {e}")))?;
        let eku = c.extended_key_usage().map_err(|e| bad(format!("extendedKeyUsage: {e}")))?;
        let san = c.subject_alternative_name().map_err(|e| bad(format!("subjectAltName: {e}")))?;
        let mut san_uris = Vec::new();
        let mut san_dns = Vec::new();
        if let Some(san) = &san {
            for n in &san.value.general_names {
                match n {
                    GeneralName::URI(u) => san_uris.push((*u).to_owned()),
                    GeneralName::DNSName(d) => san_dns.push((*d).to_owned()),
                    _ => {}
                }
            }
        }
        let mut eku_all = Vec::new();
        if let Some(e) = &eku {
            let e = &e.value;
            for (on, oid) in [(e.any, "2.5.29.37.0"), (e.server_auth, EKU_SERVER_AUTH), (e.client_auth, "1.3.6.1.5.5.7.3.2"), (e.code_signing, "1.3.6.1.5.5.7.3.3"), (e.email_protection, "1.3.6.1.5.5.7.3.4"), (e.time_stamping, "1.3.6.1.5.5.7.3.8"), (e.ocsp_signing, "1.3.6.1.5.5.7.3.9")] {
                if on {
                    eku_all.push(oid.to_owned());
                }
            }
            for o in &e.other {
                eku_all.push(oid_text(o.as_bytes()).unwrap_or_else(|| o.to_id_string()));
            }
        }
        let subject_key_id = c.extensions().iter().find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        });
        let unknown_critical = c.extensions().iter().any(|e| e.critical && matches!(e.parsed_extension(), ParsedExtension::UnsupportedExtension { .. }));
        Ok(Self {
            der: der.to_vec(),
            der_b64: crate::b64::encode_std(der),
            subject: c.subject().as_raw().to_vec(),
            issuer: c.issuer().as_raw().to_vec(),
            subject_text: c.subject().to_string(),
            not_before: c.validity().not_before.timestamp(),
            not_after: c.validity().not_after.timestamp(),
            is_ca: bc.as_ref().is_some_and(|b| b.value.ca),
            has_basic_constraints: bc.is_some(),
            path_len: bc.as_ref().and_then(|b| b.value.path_len_constraint),
            key_usage_digital_signature: ku.as_ref().map(|k| k.value.digital_signature()),
            key_usage_cert_sign: ku.as_ref().map(|k| k.value.key_cert_sign()),
            eku: eku_all,
            san_uris,
            san_dns,
            subject_key_id,
            unknown_critical,
            sig_alg,
            tbs: c.tbs_certificate.as_ref().to_vec(),
            signature: c.signature_value.data.to_vec(),
            key_curve,
            public_key: spki.subject_public_key.data.to_vec(),
        })
    }

    /// Parse the first certificate of a PEM text.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let der = crate::signer::pem_blocks(pem, "CERTIFICATE").into_iter().next().ok_or_else(|| Error::new(ErrorCode::CertificateUnparsable, "no CERTIFICATE block"))?;
        Self::from_der(&der)
    }

    /// Every certificate of a PEM text, in order.
    pub fn all_from_pem(pem: &str) -> Result<Vec<Self>> {
        crate::signer::pem_blocks(pem, "CERTIFICATE").iter().map(|d| Self::from_der(d)).collect()
    }

    /// Whether `issuer` signed this certificate.
    pub fn signed_by(&self, issuer: &Certificate) -> bool {
        let alg: &'static dyn signature::VerificationAlgorithm = match (self.sig_alg, issuer.key_curve) {
            (SigAlg::EcdsaSha256, Curve::P256) => &signature::ECDSA_P256_SHA256_ASN1,
            (SigAlg::EcdsaSha384, Curve::P256) => &signature::ECDSA_P256_SHA384_ASN1,
            (SigAlg::EcdsaSha256, Curve::P384) => &signature::ECDSA_P384_SHA256_ASN1,
            (SigAlg::EcdsaSha384, Curve::P384) => &signature::ECDSA_P384_SHA384_ASN1,
            _ => return false,
        };
        UnparsedPublicKey::new(alg, &issuer.public_key).verify(&self.tbs, &self.signature).is_ok()
    }

    pub fn is_self_issued(&self) -> bool {
        self.subject == self.issuer
    }

    /// The P-256 point of the subject key, if the key is P-256 (what ES256 needs).
    pub fn p256_point(&self) -> Option<&[u8]> {
        (self.key_curve == Curve::P256).then_some(self.public_key.as_slice())
    }

    pub fn valid_at(&self, t: i64) -> bool {
        self.not_before <= t && t <= self.not_after
    }

    /// Whether the extendedKeyUsage extension names `oid` (dotted).
    pub fn has_eku(&self, oid: &str) -> bool {
        self.eku.iter().any(|o| o == oid)
    }

    /// Whether this leaf may sign credentials. `list_in_use`: an Issuer Trusted List is in use (it then
    /// decides which certificates are issuers; the leaf's entry is looked up by the caller). Without a
    /// list the leaf must carry [`EKU_CREDENTIAL_SIGNING`]. Either way a TLS server, trusted-list
    /// signing or relying-party certificate is never a credential signer.
    pub fn check_credential_signer(&self, list_in_use: bool) -> Result<&'static str> {
        for (oid, what) in [(EKU_TSL_SIGNING, "a trusted-list signing"), (EKU_SERVER_AUTH, "a TLS server"), (EKU_RELYING_PARTY, "a relying-party (verifier)")] {
            if self.has_eku(oid) {
                return Err(Error::new(ErrorCode::NotCredentialSigner, format!("{} is {what} certificate (extended key usage {oid}), not a credential signer", self.subject_text)));
            }
        }
        if list_in_use {
            Ok("the Issuer Trusted List decides whether it is an issuer")
        } else if self.has_eku(EKU_CREDENTIAL_SIGNING) {
            Ok("no Issuer Trusted List: the leaf carries the credential-signing key purpose")
        } else {
            Err(Error::new(ErrorCode::NotCredentialSigner, format!("no Issuer Trusted List is given and {} lacks the credential-signing extended key usage {EKU_CREDENTIAL_SIGNING}", self.subject_text)))
        }
    }

    /// SHA-256 of the DER, base64url: the certificate's identity in trusted lists and caches.
    pub fn fingerprint(&self) -> String {
        crate::b64::encode(crate::sha256(&self.der))
    }
}

/// A chain that validated, with its leaf.
#[derive(Debug, Clone)]
pub struct ValidatedChain {
    pub leaf: Arc<Certificate>,
    pub anchor_subject: String,
    /// The chain was already validated earlier and came from the cache.
    pub cached: bool,
}

#[derive(Debug, Clone)]
struct CacheEntry {
    leaf: Arc<Certificate>,
    anchor_subject: String,
    /// Every certificate (and the anchor) is valid within [from, until].
    from: i64,
    until: i64,
}

/// Validates `x5c` chains against trust anchors; remembers chains that validated.
#[derive(Debug, Default)]
pub struct ChainValidator {
    anchors: Vec<Certificate>,
    cache: Mutex<HashMap<[u8; 32], CacheEntry>>,
    /// The chain validated last, compared byte for byte before anything is hashed: a verifier
    /// mostly meets the same few issuers.
    last: Mutex<Option<(Vec<String>, CacheEntry)>>,
}

/// How many validated chains the cache keeps before it starts over.
const CACHE_LIMIT: usize = 10_000;

impl ChainValidator {
    pub fn new(anchors: Vec<Certificate>) -> Self {
        Self { anchors, cache: Mutex::new(HashMap::new()), last: Mutex::new(None) }
    }

    pub fn anchors(&self) -> &[Certificate] {
        &self.anchors
    }

    pub fn has_anchors(&self) -> bool {
        !self.anchors.is_empty()
    }

    /// Validate a chain given as the `x5c` strings (standard base64 DER, leaf first).
    /// The cache key is the hash of the strings themselves, so a hit costs no parsing at all.
    pub fn validate_x5c(&self, x5c: &[&str], at: i64) -> Result<ValidatedChain> {
        if let Ok(last) = self.last.lock()
            && let Some((certs, e)) = last.as_ref()
                && e.from <= at && at <= e.until && certs.len() == x5c.len() && certs.iter().zip(x5c).all(|(a, b)| a == b) {
                    return Ok(ValidatedChain { leaf: e.leaf.clone(), anchor_subject: e.anchor_subject.clone(), cached: true });
                }
        let mut key_input = Vec::new();
        for c in x5c {
            key_input.extend_from_slice(c.as_bytes());
            key_input.push(b',');
        }
        let key = crate::sha256(&key_input);
        if let Ok(cache) = self.cache.lock()
            && let Some(e) = cache.get(&key)
                && e.from <= at && at <= e.until {
                    return Ok(ValidatedChain { leaf: e.leaf.clone(), anchor_subject: e.anchor_subject.clone(), cached: true });
                }
        let ders: Vec<Vec<u8>> = x5c.iter().map(|c| crate::b64::decode_std(c).map_err(|e| Error::new(ErrorCode::CertificateUnparsable, e.detail))).collect::<Result<_>>()?;
        let certs: Vec<Certificate> = ders.iter().map(|d| Certificate::from_der(d)).collect::<Result<_>>()?;
        let (validated, from, until) = self.validate(certs, at)?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, CacheEntry { leaf: validated.leaf.clone(), anchor_subject: validated.anchor_subject.clone(), from, until });
        }
        if let Ok(mut last) = self.last.lock() {
            *last = Some((x5c.iter().map(|c| (*c).to_owned()).collect(), CacheEntry { leaf: validated.leaf.clone(), anchor_subject: validated.anchor_subject.clone(), from, until }));
        }
        Ok(validated)
    }

    /// RFC 5280 §6.1 path validation, simplified to what our PKI profile uses (no policies, no
    /// name constraints — a certificate marking either critical is refused as unknown-critical).
    fn validate(&self, chain: Vec<Certificate>, at: i64) -> Result<(ValidatedChain, i64, i64)> {
        let Some(leaf) = chain.first() else { return Err(Error::new(ErrorCode::MissingX5c, "empty chain")) };
        if self.anchors.is_empty() {
            return Err(Error::new(ErrorCode::NoTrustInput, "no trust anchor is configured"));
        }
        for c in &chain {
            if self.anchors.iter().any(|a| a.der == c.der || (a.subject == c.subject && a.public_key == c.public_key)) {
                return Err(Error::new(ErrorCode::TrustAnchorInX5c, format!("x5c contains the trust anchor {}", c.subject_text)));
            }
        }
        if leaf.is_self_issued() {
            return Err(Error::new(ErrorCode::SelfSignedLeaf, format!("the signing certificate {} is self-signed", leaf.subject_text)));
        }
        let anchor = chain
            .last()
            .and_then(|top| self.anchors.iter().find(|a| a.subject == top.issuer && top.signed_by(a)))
            .ok_or_else(|| Error::new(ErrorCode::ChainUntrusted, "the chain does not lead to a configured trust anchor"))?;
        let mut from = i64::MIN;
        let mut until = i64::MAX;
        let n = chain.len();
        for (i, c) in chain.iter().enumerate() {
            if c.unknown_critical {
                return Err(Error::new(ErrorCode::CertificateUnparsable, format!("{} has an unknown critical extension", c.subject_text)));
            }
            if !c.valid_at(at) {
                return Err(Error::new(ErrorCode::CertificateNotValidAtTime, format!("{} is valid only from {} to {}", c.subject_text, fmt_ts(c.not_before), fmt_ts(c.not_after))));
            }
            from = from.max(c.not_before);
            until = until.min(c.not_after);
            let issuer = chain.get(i + 1).unwrap_or(anchor);
            if c.issuer != issuer.subject || !c.signed_by(issuer) {
                return Err(Error::new(ErrorCode::CertificateSignatureInvalid, format!("{} is not signed by {}", c.subject_text, issuer.subject_text)));
            }
            if i == 0 {
                if c.is_ca {
                    return Err(Error::new(ErrorCode::BasicConstraints, "the signing certificate is a CA certificate"));
                }
                if c.key_usage_digital_signature == Some(false) {
                    return Err(Error::new(ErrorCode::KeyUsage, "the signing certificate's keyUsage lacks digitalSignature"));
                }
            } else {
                check_ca(c, i - 1)?;
            }
        }
        if !anchor.valid_at(at) {
            return Err(Error::new(ErrorCode::CertificateNotValidAtTime, format!("the trust anchor {} is not valid at this time", anchor.subject_text)));
        }
        check_ca(anchor, n - 1)?;
        from = from.max(anchor.not_before);
        until = until.min(anchor.not_after);
        let leaf = Arc::new(chain.into_iter().next().ok_or_else(|| Error::new(ErrorCode::Internal, "chain"))?);
        Ok((ValidatedChain { leaf, anchor_subject: anchor.subject_text.clone(), cached: false }, from, until))
    }
}

/// The dotted text of an OID from its DER content octets; arcs up to 128 bits (UUID arcs under
/// 2.25). `None` for malformed or larger arcs.
pub fn oid_text(content: &[u8]) -> Option<String> {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    let mut open = false;
    for &b in content {
        if !open && b == 0x80 {
            return None; // non-minimal encoding
        }
        acc = acc.checked_mul(128)?.checked_add(u128::from(b & 0x7f))?;
        open = b & 0x80 != 0;
        if !open {
            arcs.push(acc);
            acc = 0;
        }
    }
    let (&first, rest) = arcs.split_first()?;
    if open {
        return None;
    }
    let (a, b) = match first {
        0..40 => (0, first),
        40..80 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut out = format!("{a}.{b}");
    for r in rest {
        out.push('.');
        out.push_str(&r.to_string());
    }
    Some(out)
}

/// The DER content octets of a dotted OID (arcs up to 128 bits); `None` if it is not one.
pub fn oid_der(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u128> = dotted.split('.').map(|a| a.parse().ok()).collect::<Option<_>>()?;
    let (&a, rest) = arcs.split_first()?;
    let (&b, rest) = rest.split_first()?;
    if a > 2 || (a < 2 && b >= 40) {
        return None;
    }
    let mut out = Vec::new();
    for arc in std::iter::once((a * 40).checked_add(b)?).chain(rest.iter().copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            groups.push((v & 0x7f) as u8 | 0x80);
            v >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    Some(out)
}

/// A CA certificate with `below` intermediate CAs beneath it in the path.
fn check_ca(c: &Certificate, below: usize) -> Result<()> {
    if !c.is_ca {
        return Err(Error::new(ErrorCode::BasicConstraints, format!("{} issues certificates but is not a CA (basicConstraints)", c.subject_text)));
    }
    if c.key_usage_cert_sign == Some(false) {
        return Err(Error::new(ErrorCode::KeyUsage, format!("{}'s keyUsage lacks keyCertSign", c.subject_text)));
    }
    if let Some(max) = c.path_len
        && below > max as usize {
            return Err(Error::new(ErrorCode::PathLength, format!("{} allows {max} intermediate CAs below it, the chain has {below}", c.subject_text)));
        }
    Ok(())
}

fn fmt_ts(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_arcs_round_trip() {
        for oid in [EKU_CREDENTIAL_SIGNING, EKU_RELYING_PARTY, EKU_TSL_SIGNING, EKU_SERVER_AUTH, "2.999.3", "1.2.840.10045.4.3.2"] {
            let der = oid_der(oid).unwrap();
            assert_eq!(oid_text(&der).as_deref(), Some(oid));
        }
        // The well-known encoding of ecdsa-with-SHA256.
        assert_eq!(oid_der("1.2.840.10045.4.3.2").unwrap(), [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
        assert_eq!(oid_text(&[0x2a, 0x86]), None, "truncated");
        assert_eq!(oid_text(&[0x2a, 0x80, 0x01]), None, "non-minimal");
        assert_eq!(oid_der("3.1"), None);
    }
}
