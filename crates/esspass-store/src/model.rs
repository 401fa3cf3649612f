//! Rows the store keeps.

use serde::{Deserialize, Serialize};

/// An insured person in the institution's authentic-source records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub person_id: String,
    pub personal_number: String,
    pub family_name: String,
    pub given_name: String,
    /// YYYY-MM-DD.
    pub birth_date: String,
    pub nationality: Option<String>,
    pub residence: Option<String>,
    /// ISO 3166-1 alpha-2 country of birth.
    pub birth_country: Option<String>,
    /// Locality of birth.
    pub birth_place: Option<String>,
    pub created_at: i64,
}

/// A status list as stored: the bit array, its version (bumped by every change), and the latest
/// signed token with the version it was signed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListRow {
    pub list_id: String,
    pub uri: String,
    pub bits: u8,
    pub size: u64,
    pub bytes: Vec<u8>,
    pub version: i64,
    pub token: Option<String>,
    pub etag: Option<String>,
    pub token_version: i64,
    pub token_exp: Option<i64>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialState {
    Valid,
    Revoked,
    Suspended,
}

impl CredentialState {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialState::Valid => "valid",
            CredentialState::Revoked => "revoked",
            CredentialState::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "valid" => Some(CredentialState::Valid),
            "revoked" => Some(CredentialState::Revoked),
            "suspended" => Some(CredentialState::Suspended),
            _ => None,
        }
    }

    /// The Token Status List value.
    pub fn status_value(self) -> u8 {
        match self {
            CredentialState::Valid => 0,
            CredentialState::Revoked => 1,
            CredentialState::Suspended => 2,
        }
    }
}

/// An issued credential (no personal data beyond the person id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CredentialRow {
    pub credential_id: String,
    pub document_number: String,
    pub person_id: String,
    pub vct: String,
    pub list_id: String,
    pub idx: u64,
    pub state: CredentialState,
    pub reason: Option<String>,
    pub issued_at: i64,
    pub changed_at: i64,
    /// The A1 application a PDA1 was issued from.
    #[serde(default)]
    pub application_id: Option<String>,
}

/// An employment record from the authentic source: who employs whom, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmploymentRow {
    pub employment_id: String,
    pub employer_id: String,
    pub person_id: String,
    /// YYYY-MM-DD.
    pub start_date: String,
    /// YYYY-MM-DD, inclusive; open-ended when absent.
    pub end_date: Option<String>,
    pub created_at: i64,
}

/// A coverage period of a person (what the institution insures them for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageRow {
    pub coverage_id: String,
    pub person_id: String,
    /// `health` or `social_security`.
    pub kind: String,
    /// YYYY-MM-DD.
    pub start_date: String,
    pub end_date: Option<String>,
    pub created_at: i64,
}

/// An A1 application and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplicationRow {
    pub application_id: String,
    pub person_id: String,
    /// The employer whose API key submitted it (employer applications only).
    pub employer_id: Option<String>,
    pub submitted_by: String,
    /// What was applied for (the rules engine input and the PDA1 work information).
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    /// The rules engine's decision.
    #[schema(value_type = Object)]
    pub decision: serde_json::Value,
    /// `determined`, `pending_review`, `awaiting_agreement` (an Art 16 request out over EESSI),
    /// `approved`, `refused`, `not_applicable`, `not_competent` or `forwarded` (to the competent
    /// institution over EESSI).
    pub state: String,
    /// What the PDA1 states: legislation country, article, status code, period.
    #[schema(value_type = Option<Object>)]
    pub final_decision: Option<serde_json::Value>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: Option<String>,
    pub created_at: i64,
}

/// A sign-in that did not match the record, waiting for a case worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignInReviewRow {
    pub review_id: String,
    /// The record the personal number found, if any.
    pub person_id: Option<String>,
    /// What the person typed (names, birth date, personal number).
    #[schema(value_type = Object)]
    pub entered: serde_json::Value,
    /// `details_differ`, `no_record`, `offer_for_another_person_or_credential`.
    pub reason: String,
    pub configuration: String,
    pub client_id: String,
    /// `open` or `closed`.
    pub state: String,
    pub created_at: i64,
    pub closed_by: Option<String>,
    pub closed_at: Option<i64>,
    pub note: Option<String>,
}

/// An OpenID4VP transaction of the verifier role, as stored (sealed fields opened).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationRow {
    pub transaction_id: String,
    pub profile: String,
    /// `pending`, `verified` (valid), `rejected` (invalid), `expired` is `pending` past `expires_at`.
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The treatment or inspection date the validity is checked against.
    pub for_date: Option<String>,
    pub created_by: String,
    /// What only the verifier and the wallet may know: nonce, state, the ephemeral decryption key.
    pub secrets: serde_json::Value,
    pub outcome: Option<String>,
    pub code: Option<String>,
    pub report: Option<serde_json::Value>,
    /// The disclosed claims the profile allows, until they are dropped.
    pub claims: Option<serde_json::Value>,
    pub proof: Option<String>,
    pub answered_at: Option<i64>,
}

/// A message waiting in (or delivered from) the EESSI outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub message_id: String,
    pub case_id: String,
    /// The receiving institution's id.
    pub receiver: String,
    /// Where its access point takes messages.
    pub receiver_url: String,
    /// The signed message.
    pub body: String,
    pub attempts: i64,
    pub created_at: i64,
    /// The case as sending this message leaves it, written with the outbox row (not read back
    /// from the outbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseRow>,
}

/// A BUC case this institution takes part in, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseRow {
    pub case_id: String,
    pub buc: String,
    /// The case owner (the institution that opened it).
    pub owner: String,
    /// `open` or `closed`.
    pub status: String,
    /// The case: participants, documents and their states, history (`esspass_eessi::buc::Case`).
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// The version read (0: a case not stored yet); a write expects it unchanged.
    pub version: i64,
    pub updated_at: i64,
}

/// An accepted incoming EESSI message with the receipt answered for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxRow {
    pub message_id: String,
    pub sender: String,
    pub case_id: String,
    pub sed_type: String,
    /// The signed message as received.
    pub body: String,
    /// The signed receipt.
    pub receipt: String,
    pub received_at: i64,
}

/// A posting another institution notified (A009), registered or waiting for a case worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostingRow {
    pub message_id: String,
    pub sender: String,
    pub case_id: String,
    /// Keyed hash of the person's PIN (country and identifier).
    pub person_key: String,
    pub legislation: String,
    pub start_date: String,
    pub end_date: Option<String>,
    /// `registered`, `review` (waiting for a case worker), `information_requested` (an A005 went
    /// out), `rejected` (an X011 went back) or `withdrawn` (the sender invalidated its A009 with an X008).
    pub state: String,
    /// Why a case worker must look at it (codes and plain words).
    pub reasons: Vec<String>,
    pub received_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
}

/// A message this institution sent in an EESSI case, as its outbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub message_id: String,
    pub receiver: String,
    /// The signed message (opened).
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
}
