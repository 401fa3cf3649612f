//! Verification proofs (docs/domain.md §2.5): after each check the verifier signs a record without
//! personal data — when, which verifier, which profile and policy version, the outcome, the issuing
//! institution, the status found with its source and age, and a salted reference to the document
//! number. A hospital hands it to the issuing institution to claim EHIC reimbursement; the
//! institution, which knows its document numbers, matches the reference; anyone else learns nothing.
//!
//! Format: a compact JWS, `typ: verification-proof+jwt`, `x5c` chain of the verifier's certificate
//! (the one its Verifier Trusted List entry names), payload [`VerificationProof`]. The document
//! reference is `base64url(SHA-256(salt ‖ UTF-8(document number)))` with a random 16-byte `salt`
//! (base64url) in the proof.

use crate::trust::{TrustedList, VerifierEntry};
use crate::x509::ChainValidator;
use crate::{Error, Result, Signer, b64, jose::CompactJws};
use esspass_core::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub const TYP: &str = "verification-proof+jwt";

/// The salted reference to a document number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    /// Always `sha-256`.
    pub alg: String,
    /// base64url of 16 random bytes, new for every proof.
    pub salt: String,
    /// base64url of SHA-256(salt bytes ‖ UTF-8 document number).
    pub digest: String,
}

impl DocumentRef {
    /// A new reference to `document_number` with a fresh salt.
    pub fn new(document_number: &str) -> Result<Self> {
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| Error::new(ErrorCode::Internal, "no randomness"))?;
        Ok(Self { alg: "sha-256".into(), salt: b64::encode(salt), digest: Self::digest_of(&salt, document_number) })
    }

    fn digest_of(salt: &[u8], document_number: &str) -> String {
        let mut data = salt.to_vec();
        data.extend_from_slice(document_number.as_bytes());
        b64::encode(crate::sha256(&data))
    }

    /// Whether the reference is to `document_number`.
    pub fn matches(&self, document_number: &str) -> bool {
        self.alg == "sha-256" && b64::decode(&self.salt).is_ok_and(|salt| Self::digest_of(&salt, document_number) == self.digest)
    }
}

/// The issuing institution as the verifier found it (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerRef {
    pub institution_id: String,
    pub country: String,
}

/// The status the verifier found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusFound {
    /// `valid`, `revoked`, `suspended`, or `unknown` (could not be checked).
    pub value: String,
    /// `fetched`, `cache`, `stale_cache`, or `unavailable`.
    pub source: String,
    /// Seconds since the list used was fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    /// The status list's URI (the list, not the index: it does not single out a person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// A verification proof's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationProof {
    /// The proof's own id.
    pub jti: String,
    /// When the verification was done (Unix seconds).
    pub iat: i64,
    pub verifier_id: String,
    pub transaction_id: String,
    pub profile: String,
    pub policy_version: String,
    pub vct: String,
    /// `valid` or `invalid`, and the code of the failed check.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The treatment or inspection date the validity was checked against (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_for_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusFound>,
}

impl VerificationProof {
    /// Sign with the verifier's key and chain (leaf first).
    pub fn sign(&self, signer: &dyn Signer, x5c: &[Vec<u8>]) -> Result<String> {
        let mut header = Map::new();
        header.insert("typ".into(), json!(TYP));
        header.insert("x5c".into(), Value::Array(x5c.iter().map(|c| Value::String(b64::encode_std(c))).collect()));
        let Value::Object(payload) = serde_json::to_value(self).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))? else {
            return Err(Error::new(ErrorCode::Internal, "proof is not an object"));
        };
        crate::jose::sign_compact(signer, header, &payload)
    }

    /// Verify a proof: typ, the chain to the anchors at the proof's time, the signature, and that the
    /// signing certificate belongs to the verifier the proof names in the Verifier Trusted List.
    pub fn verify(jws: &str, chains: &ChainValidator, verifiers: &TrustedList) -> Result<(Self, VerifierEntry)> {
        let bad = |d: String| Error::new(ErrorCode::ProofInvalid, d);
        let parsed = CompactJws::parse(jws.trim()).map_err(|e| bad(e.detail))?;
        if parsed.typ() != Some(TYP) {
            return Err(bad(format!("typ {}, expected {TYP}", parsed.typ().unwrap_or("(none)"))));
        }
        let proof: VerificationProof = serde_json::from_value(Value::Object(parsed.payload.clone())).map_err(|e| bad(format!("proof format: {e}")))?;
        let x5c: Vec<&str> = parsed.header.get("x5c").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let chain = chains.validate_x5c(&x5c, proof.iat).map_err(|e| bad(format!("signer chain: {}", e.detail)))?;
        let point = chain.leaf.p256_point().ok_or_else(|| bad("the signer's key is not P-256".into()))?;
        if !parsed.verify_with_point(point) {
            return Err(bad("the signature does not verify".into()));
        }
        let entry = verifiers.verifier_for(&chain.leaf).ok_or_else(|| Error::new(ErrorCode::ProofVerifierUnknown, format!("{} is not in the Verifier Trusted List", chain.leaf.subject_text)))?;
        if entry.verifier_id != proof.verifier_id {
            return Err(Error::new(ErrorCode::ProofVerifierUnknown, format!("the proof names verifier {} but is signed by {}", proof.verifier_id, entry.verifier_id)));
        }
        Ok((proof, entry.clone()))
    }

    /// What the institution asked for reimbursement checks: [`Self::verify`], and that the proof
    /// refers to `document_number` (its salted hash reference) and, when given, names
    /// `institution_id` as the document's issuer.
    pub fn verify_for(jws: &str, chains: &ChainValidator, verifiers: &TrustedList, document_number: &str, institution_id: Option<&str>) -> Result<(Self, VerifierEntry)> {
        let (p, entry) = Self::verify(jws, chains, verifiers)?;
        if !p.document.as_ref().is_some_and(|d| d.matches(document_number)) {
            return Err(Error::new(ErrorCode::ProofDocumentMismatch, format!("the proof's document reference is not to {document_number}")));
        }
        if let Some(id) = institution_id
            && p.issuer.as_ref().is_none_or(|i| i.institution_id != id)
        {
            return Err(Error::new(ErrorCode::ProofDocumentMismatch, format!("the proof names issuer {}, not {id}", p.issuer.as_ref().map_or("(none)", |i| i.institution_id.as_str()))));
        }
        Ok((p, entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_matches_its_number_only_and_each_salt_differs() {
        let a = DocumentRef::new("SI00ZZZS0000004711").unwrap();
        let b = DocumentRef::new("SI00ZZZS0000004711").unwrap();
        assert!(a.matches("SI00ZZZS0000004711") && b.matches("SI00ZZZS0000004711"));
        assert!(!a.matches("SI00ZZZS0000004712"));
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.digest, b.digest, "two proofs of one document cannot be linked by their references");
    }
}
