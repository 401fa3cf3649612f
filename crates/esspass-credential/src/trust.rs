//! Signed trusted lists published by the trust operator: the Issuer Trusted List (which institution
//! may issue which credential type, since when, with which certificates) and the Verifier Trusted
//! List (who may ask for which claims). Each is a JSON document signed as a compact JWS with
//! `typ: trusted-list+jwt` and an `x5c` chain whose leaf carries the ETSI TSL-signing EKU.
//! The format is described by `docs/schemas/trusted-list.schema.json`.

use crate::type_metadata::Selector;
use crate::x509::{Certificate, ChainValidator, EKU_TSL_SIGNING};
use crate::{Error, Result, Signer, b64, jose::CompactJws};
use esspass_core::{Country, Date, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const TYP: &str = "trusted-list+jwt";

/// Authorisation to issue one credential type during a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorisation {
    pub vct: String,
    pub valid_from: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerEntry {
    /// EESSI institution id (`EL:EFKA01`).
    pub institution_id: String,
    pub name: String,
    pub country: Country,
    pub credential_types: Vec<Authorisation>,
    /// Signing certificates, standard base64 DER.
    pub certificates: Vec<String>,
    /// Certificates of delegated status issuers that may sign this institution's status lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_issuers: Vec<String>,
    pub valid_from: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
}

/// A claim set a verifier may request for one `vct`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub vct: String,
    pub claims: Vec<Vec<Selector>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifierEntry {
    pub verifier_id: String,
    pub name: String,
    pub country: Country,
    pub certificates: Vec<String>,
    pub valid_from: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    pub profiles: Vec<Profile>,
}

/// A role of an institution in a business use case (EESSI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BucRole {
    /// Opens the case (e.g. the A1 issuer in LA_BUC_04).
    CaseOwner,
    /// Takes part in a case another opened (e.g. the host state's institution receiving A009).
    Counterparty,
}

/// A business use case an institution handles, and in which roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucParticipation {
    /// `LA_BUC_04`, `H_BUC_01`, …
    pub buc: String,
    pub roles: Vec<BucRole>,
}

/// An entry of the Institution Repository (EESSI): who an institution is, where its access point
/// is, which certificates sign its messages and receipts, and which BUCs it handles in which role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionEntry {
    pub institution_id: String,
    pub name: String,
    pub country: Country,
    /// The base URL of its access point (`https://…`).
    pub access_point: String,
    /// Its public web address for people (`https://…`): where a single entry point (the gateway)
    /// hands someone over for a procedure. Absent for institutions without a public portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<String>,
    /// Base64 (standard) DER certificates whose keys sign its messages.
    pub certificates: Vec<String>,
    pub bucs: Vec<BucParticipation>,
    pub valid_from: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
}

impl InstitutionEntry {
    /// Whether the institution handles `buc` in `role` on `day`.
    pub fn handles(&self, buc: &str, role: BucRole, day: Date) -> bool {
        in_period(day, self.valid_from, self.valid_until) && self.bucs.iter().any(|b| b.buc == buc && b.roles.contains(&role))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "list_type", rename_all = "snake_case")]
pub enum ListBody {
    Issuers { issuers: Vec<IssuerEntry> },
    Verifiers { verifiers: Vec<VerifierEntry> },
    /// The Institution Repository of EESSI.
    Institutions { institutions: Vec<InstitutionEntry> },
}

/// A trusted list document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedList {
    pub operator: String,
    pub sequence: u64,
    /// Unix seconds.
    pub issued_at: i64,
    pub next_update: i64,
    #[serde(flatten)]
    pub body: ListBody,
}

fn in_period(day: Date, from: Date, until: Option<Date>) -> bool {
    day >= from && until.is_none_or(|u| day <= u)
}

impl TrustedList {
    /// Sign the list with the trust operator's key and chain (leaf first, no root).
    pub fn sign(&self, signer: &dyn Signer, x5c: &[Vec<u8>]) -> Result<String> {
        let mut header = Map::new();
        header.insert("typ".into(), json!(TYP));
        header.insert("x5c".into(), Value::Array(x5c.iter().map(|c| Value::String(b64::encode_std(c))).collect()));
        let Value::Object(payload) = serde_json::to_value(self).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))? else {
            return Err(Error::new(ErrorCode::Internal, "trusted list is not an object"));
        };
        crate::jose::sign_compact(signer, header, &payload)
    }

    /// Verify a signed list against the anchors at time `now` (Unix seconds): typ, signature,
    /// chain, the TSL-signing EKU, and that `now` lies between `issued_at` and `next_update`.
    pub fn verify(jws: &str, chains: &ChainValidator, now: i64) -> Result<Self> {
        let wrap = |e: Error| Error::new(if e.code == ErrorCode::NoTrustInput { e.code } else { ErrorCode::TrustedListInvalid }, format!("trusted list: {}", e.detail));
        let parsed = CompactJws::parse(jws.trim()).map_err(wrap)?;
        if parsed.typ() != Some(TYP) {
            return Err(Error::new(ErrorCode::TrustedListInvalid, format!("trusted list typ {}, expected {TYP}", parsed.typ().unwrap_or("(none)"))));
        }
        let x5c: Vec<&str> = parsed.header.get("x5c").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let chain = chains.validate_x5c(&x5c, now).map_err(wrap)?;
        if !chain.leaf.has_eku(EKU_TSL_SIGNING) {
            return Err(Error::new(ErrorCode::TrustedListInvalid, "the trusted list signer lacks the TSL-signing extended key usage"));
        }
        let point = chain.leaf.p256_point().ok_or_else(|| Error::new(ErrorCode::TrustedListInvalid, "signer key is not P-256"))?;
        if !parsed.verify_with_point(point) {
            return Err(Error::new(ErrorCode::TrustedListInvalid, "the trusted list signature does not verify"));
        }
        let list: TrustedList = serde_json::from_value(Value::Object(parsed.payload)).map_err(|e| Error::new(ErrorCode::TrustedListInvalid, format!("trusted list format: {e}")))?;
        if now < list.issued_at || now > list.next_update {
            return Err(Error::new(ErrorCode::TrustedListExpired, "the trusted list is outside its issued_at..next_update window"));
        }
        Ok(list)
    }

    /// Verify as [`TrustedList::verify`], then refuse a rollback: a list whose `sequence` is lower
    /// than one `history` has already seen from the same operator for the same list type. The list's
    /// sequence is then remembered.
    pub fn verify_with_history(jws: &str, chains: &ChainValidator, now: i64, history: &mut ListHistory) -> Result<Self> {
        let list = Self::verify(jws, chains, now)?;
        history.admit(&list)?;
        Ok(list)
    }

    /// What `sequence` numbers are compared within: the operator and the list type.
    pub fn series(&self) -> String {
        let kind = match self.body {
            ListBody::Issuers { .. } => "issuers",
            ListBody::Verifiers { .. } => "verifiers",
            ListBody::Institutions { .. } => "institutions",
        };
        format!("{} / {kind}", self.operator)
    }

    /// The issuer entry whose certificates include `cert`.
    pub fn issuer_for(&self, cert: &Certificate) -> Option<&IssuerEntry> {
        let ListBody::Issuers { issuers } = &self.body else { return None };
        let b64 = &cert.der_b64;
        issuers.iter().find(|e| e.certificates.contains(b64))
    }

    /// The Institution Repository entry whose certificates include `cert` (a message's signer).
    pub fn institution_for(&self, cert: &Certificate) -> Option<&InstitutionEntry> {
        let ListBody::Institutions { institutions } = &self.body else { return None };
        let b64 = &cert.der_b64;
        institutions.iter().find(|e| e.certificates.contains(b64))
    }

    /// The Institution Repository entry of an institution id.
    pub fn institution(&self, id: &str) -> Option<&InstitutionEntry> {
        let ListBody::Institutions { institutions } = &self.body else { return None };
        institutions.iter().find(|e| e.institution_id == id)
    }

    /// Routing: the institutions of `country` that handle `buc` in `role` on `day` (the competent
    /// institution of a state for a business use case), in the repository's order.
    pub fn competent(&self, country: Country, buc: &str, role: BucRole, day: Date) -> Vec<&InstitutionEntry> {
        let ListBody::Institutions { institutions } = &self.body else { return Vec::new() };
        institutions.iter().filter(|e| e.country == country && e.handles(buc, role, day)).collect()
    }

    /// The verifier entry whose certificates include `cert`.
    pub fn verifier_for(&self, cert: &Certificate) -> Option<&VerifierEntry> {
        let ListBody::Verifiers { verifiers } = &self.body else { return None };
        let b64 = &cert.der_b64;
        verifiers.iter().find(|e| e.certificates.contains(b64))
    }
}

/// The highest `sequence` seen per trusted-list series (operator and list type), so that an older
/// list — replayed by an attacker or served by a stale mirror, perhaps still naming an issuer
/// since removed — is refused (`ESP-3020`). Serialises as a JSON object `{series: sequence}` so a
/// verifier can keep it across runs (`esspass verify --trust-state`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ListHistory {
    highest: BTreeMap<String, u64>,
}

impl ListHistory {
    /// Accept `list` unless its sequence is lower than the highest seen in its series; remember it.
    /// The same sequence again is accepted (the same list read twice).
    pub fn admit(&mut self, list: &TrustedList) -> Result<()> {
        let series = list.series();
        if let Some(&seen) = self.highest.get(&series)
            && list.sequence < seen {
                return Err(Error::new(ErrorCode::TrustedListRollback, format!("trusted list {series} has sequence {} but sequence {seen} was already seen", list.sequence)));
            }
        let e = self.highest.entry(series).or_insert(list.sequence);
        *e = (*e).max(list.sequence);
        Ok(())
    }

    /// The highest sequence seen in a series (`TrustedList::series`).
    pub fn highest(&self, series: &str) -> Option<u64> {
        self.highest.get(series).copied()
    }
}

impl IssuerEntry {
    /// Whether the entry authorises `vct` on `day` (the entry and the authorisation both in force).
    pub fn authorises(&self, vct: &str, day: Date) -> bool {
        in_period(day, self.valid_from, self.valid_until) && self.credential_types.iter().any(|a| a.vct == vct && in_period(day, a.valid_from, a.valid_until))
    }

    /// Whether `cert` may sign this institution's status lists.
    pub fn may_sign_status(&self, cert: &Certificate) -> bool {
        let b64 = &cert.der_b64;
        self.certificates.contains(b64) || self.status_issuers.contains(b64)
    }
}

impl VerifierEntry {
    /// Whether every requested claim path of `vct` is within one of the entry's profiles.
    pub fn may_request(&self, vct: &str, paths: &[Vec<Selector>], day: Date) -> bool {
        in_period(day, self.valid_from, self.valid_until)
            && self.profiles.iter().any(|p| p.vct == vct && paths.iter().all(|want| p.claims.iter().any(|have| have == want)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(operator: &str, sequence: u64, body: ListBody) -> TrustedList {
        TrustedList { operator: operator.into(), sequence, issued_at: 0, next_update: 1, body }
    }

    #[test]
    fn a_lower_sequence_is_a_rollback() {
        let issuers = || ListBody::Issuers { issuers: vec![] };
        let mut h = ListHistory::default();
        h.admit(&list("op", 5, issuers())).unwrap();
        h.admit(&list("op", 5, issuers())).unwrap();
        let e = h.admit(&list("op", 4, issuers())).unwrap_err();
        assert_eq!(e.code, ErrorCode::TrustedListRollback);
        h.admit(&list("op", 6, issuers())).unwrap();
        assert_eq!(h.admit(&list("op", 5, issuers())).unwrap_err().code, ErrorCode::TrustedListRollback);
        // Other series are independent: the verifier list and another operator.
        h.admit(&list("op", 1, ListBody::Verifiers { verifiers: vec![] })).unwrap();
        h.admit(&list("other", 1, issuers())).unwrap();
        // The history survives a round trip through JSON (what --trust-state stores).
        let back: ListHistory = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(back.highest("op / issuers"), Some(6));
        let mut back = back;
        assert_eq!(back.admit(&list("op", 3, issuers())).unwrap_err().code, ErrorCode::TrustedListRollback);
    }
}
