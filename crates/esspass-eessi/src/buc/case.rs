//! One case (a BUC instance) as one participant sees it, and the steps that change it.
//!
//! Each institution keeps its own view: the case owner knows every counterparty, a counterparty
//! knows the owner and itself. Documents are `new` (a draft, only here), `sent` (by this
//! institution), `received` (by this institution) or `cancelled` (invalidated by an X008). Every
//! step is checked against the BUC's table ([`super::tables`]) before anything changes; an illegal
//! step changes nothing and returns a [`BucError`] naming the rule it breaks.

use super::tables::{BucSpec, SedRule, Sender, Trigger, When, spec};
use crate::blocks::DocumentRef;
use crate::codes::EessiCode;
use crate::envelope::Envelope;
use crate::ids::{BucType, CaseId, CdmVersion, DocumentId, MessageId, SedType};
use crate::sed::Sed;
use esspass_core::InstitutionId;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// A participant's role in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    CaseOwner,
    CounterParty,
}

/// The state of a document in this institution's view of the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentState {
    New,
    Sent,
    Received,
    Cancelled,
}

/// Whether the case is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    Closed,
}

/// An illegal step: the rule it breaks (a stable code) and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code} {message}")]
pub struct BucError {
    pub code: EessiCode,
    pub message: String,
}

impl BucError {
    fn new(code: EessiCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The stable code of the rule, e.g. `ESP-7303`.
    pub fn rule(&self) -> &'static str {
        self.code.as_str()
    }
}

/// One document of the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDocument {
    pub id: DocumentId,
    pub sed_type: SedType,
    pub sender: InstitutionId,
    pub recipients: Vec<InstitutionId>,
    pub state: DocumentState,
    pub references: Vec<DocumentRef>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was sent or received; `None` while it is a draft.
    #[serde(with = "time::serde::rfc3339::option")]
    pub exchanged_at: Option<OffsetDateTime>,
    /// Addressees that answered it (or rejected it, which counts as an answer).
    pub answered_by: Vec<InstitutionId>,
    /// Addressees that rejected it with an X011.
    pub rejected_by: Vec<InstitutionId>,
}

/// What happened in the case, for its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "document", rename_all = "snake_case")]
pub enum CaseEvent {
    Opened,
    Drafted(DocumentId),
    Sent(DocumentId),
    Received(DocumentId),
    Cancelled(DocumentId),
    Closed(DocumentId),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub event: CaseEvent,
}

/// A reminder that has fallen due: the request, and the addressees that have not answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReminder {
    pub document: DocumentRef,
    pub recipients: Vec<InstitutionId>,
    pub due_since: OffsetDateTime,
}

/// An automatic closure that has fallen due, and the document that started its clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueClosure {
    pub trigger: DocumentId,
    pub due_since: OffsetDateTime,
}

/// One case as this institution (`me`) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: CaseId,
    pub buc: BucType,
    pub cdm: CdmVersion,
    pub me: InstitutionId,
    pub owner: InstitutionId,
    pub counterparties: Vec<InstitutionId>,
    pub status: CaseStatus,
    pub documents: Vec<CaseDocument>,
    pub history: Vec<HistoryEntry>,
}

fn days_after(t: OffsetDateTime, days: i64) -> Option<OffsetDateTime> {
    t.checked_add(Duration::days(days))
}

impl Case {
    /// The case owner opens a case with its counterparties; nothing is sent yet.
    pub fn open(
        id: CaseId,
        buc: BucType,
        cdm: CdmVersion,
        me: InstitutionId,
        counterparties: Vec<InstitutionId>,
        now: OffsetDateTime,
    ) -> Result<Case, BucError> {
        let s = spec(buc);
        if counterparties.is_empty() || (s.bilateral && counterparties.len() != 1) {
            let need = if s.bilateral {
                "exactly one counterparty"
            } else {
                "at least one counterparty"
            };
            return Err(BucError::new(
                EessiCode::ParticipantsInvalid,
                format!("{buc} needs {need}; {} given", counterparties.len()),
            ));
        }
        for (i, c) in counterparties.iter().enumerate() {
            if *c == me || counterparties.iter().take(i).any(|x| x == c) {
                return Err(BucError::new(
                    EessiCode::ParticipantsInvalid,
                    format!("{c} is named twice among the participants"),
                ));
            }
        }
        if !CdmVersion::SUPPORTED.contains(&cdm) {
            return Err(BucError::new(
                EessiCode::CdmVersionMismatch,
                format!("CDM {cdm} is not supported"),
            ));
        }
        Ok(Case {
            id,
            buc,
            cdm,
            owner: me.clone(),
            me,
            counterparties,
            status: CaseStatus::Open,
            documents: Vec::new(),
            history: vec![HistoryEntry {
                at: now,
                event: CaseEvent::Opened,
            }],
        })
    }

    /// A counterparty learns of a case from its first message, which must carry the BUC's
    /// starting SED addressed to `me`; the sender is the case owner.
    pub fn join(
        me: InstitutionId,
        envelope: &Envelope,
        references: &[DocumentRef],
        now: OffsetDateTime,
    ) -> Result<Case, BucError> {
        if envelope.receiver != me {
            return Err(BucError::new(
                EessiCode::NotOpenForReceipt,
                format!(
                    "the message is addressed to {}, not {me}",
                    envelope.receiver
                ),
            ));
        }
        let s = spec(envelope.buc_type);
        if envelope.sed_type != s.starter {
            return Err(BucError::new(
                EessiCode::StarterFirst,
                format!(
                    "a {} case starts with {}, not {}",
                    envelope.buc_type, s.starter, envelope.sed_type
                ),
            ));
        }
        let mut case = Case {
            id: envelope.case_id.clone(),
            buc: envelope.buc_type,
            cdm: envelope.cdm_version,
            owner: envelope.sender.clone(),
            me: me.clone(),
            counterparties: vec![me],
            status: CaseStatus::Open,
            documents: Vec::new(),
            history: vec![HistoryEntry {
                at: now,
                event: CaseEvent::Opened,
            }],
        };
        case.receive(envelope, references, now)?;
        Ok(case)
    }

    /// The rules of this case's BUC.
    pub fn spec(&self) -> &'static BucSpec {
        spec(self.buc)
    }

    /// The role of an institution in this case, if it takes part.
    pub fn role_of(&self, who: &InstitutionId) -> Option<Role> {
        if *who == self.owner {
            Some(Role::CaseOwner)
        } else if self.counterparties.contains(who) {
            Some(Role::CounterParty)
        } else {
            None
        }
    }

    pub fn document(&self, id: &DocumentId) -> Option<&CaseDocument> {
        self.documents.iter().find(|d| d.id == *id)
    }

    fn started(&self) -> bool {
        self.documents.iter().any(|d| d.state != DocumentState::New)
    }

    /// Check that `sender` may send a SED of type `t` with these references to these recipients
    /// now; returns the rule that allows it.
    fn check(
        &self,
        sender: &InstitutionId,
        t: SedType,
        cdm: CdmVersion,
        refs: &[DocumentRef],
        recipients: &[InstitutionId],
    ) -> Result<&'static SedRule, BucError> {
        let s = self.spec();
        if self.status == CaseStatus::Closed {
            return Err(BucError::new(
                EessiCode::CaseClosed,
                format!("case {} is closed; nothing more can be sent in it", self.id),
            ));
        }
        if cdm != self.cdm {
            return Err(BucError::new(
                EessiCode::CdmVersionMismatch,
                format!("the case uses CDM {}, the {t} CDM {cdm}", self.cdm),
            ));
        }
        let Some(role) = self.role_of(sender) else {
            return Err(BucError::new(
                EessiCode::NotParticipant,
                format!("{sender} is not a participant of case {}", self.id),
            ));
        };
        if !s.uses(t) {
            return Err(BucError::new(
                EessiCode::SedNotInBuc,
                format!("{} does not use {t}", self.buc),
            ));
        }
        self.check_recipients(sender, role, recipients)?;
        if !self.started() {
            if t != s.starter {
                return Err(BucError::new(
                    EessiCode::StarterFirst,
                    format!("a {} case starts with {}, not {t}", self.buc, s.starter),
                ));
            }
            return match s.rules.iter().find(|r| r.sed == t && r.when == When::Start) {
                Some(r) if role == Role::CaseOwner => Ok(r),
                _ => Err(BucError::new(
                    EessiCode::RoleMayNotSend,
                    format!("only the case owner starts a {} case with {t}", self.buc),
                )),
            };
        }
        let candidates: Vec<&'static SedRule> = s
            .all_rules()
            .filter(|r| r.sed == t && r.when != When::Start)
            .collect();
        if candidates.is_empty() {
            return Err(BucError::new(
                EessiCode::StarterAlreadySent,
                format!(
                    "{t} starts a {} case and was already sent in this one",
                    self.buc
                ),
            ));
        }
        let Some(rule) = candidates.iter().copied().find(|r| {
            matches!(
                (r.sender, role),
                (Sender::Any, _)
                    | (Sender::CaseOwner, Role::CaseOwner)
                    | (Sender::CounterParty, Role::CounterParty)
            )
        }) else {
            let who = match role {
                Role::CaseOwner => "the case owner",
                Role::CounterParty => "a counterparty",
            };
            return Err(BucError::new(
                EessiCode::RoleMayNotSend,
                format!("in {} {who} may not send {t}", self.buc),
            ));
        };
        self.check_when(sender, t, rule, refs, recipients)?;
        Ok(rule)
    }

    fn check_recipients(
        &self,
        sender: &InstitutionId,
        role: Role,
        recipients: &[InstitutionId],
    ) -> Result<(), BucError> {
        if recipients.is_empty() {
            return Err(BucError::new(
                EessiCode::RecipientInvalid,
                "a document needs at least one recipient",
            ));
        }
        for (i, r) in recipients.iter().enumerate() {
            let ok = match role {
                Role::CaseOwner => self.counterparties.contains(r),
                Role::CounterParty => *r == self.owner,
            };
            if !ok || r == sender || recipients.iter().take(i).any(|x| x == r) {
                let to = match role {
                    Role::CaseOwner => "the case owner sends to its counterparties",
                    Role::CounterParty => "a counterparty sends to the case owner",
                };
                return Err(BucError::new(
                    EessiCode::RecipientInvalid,
                    format!("{r} cannot receive this document: {to}, each once"),
                ));
            }
        }
        Ok(())
    }

    fn referenced(&self, r: &DocumentRef) -> Result<&CaseDocument, BucError> {
        let d = self
            .documents
            .iter()
            .find(|d| d.id == r.id && d.state != DocumentState::New)
            .ok_or_else(|| {
                BucError::new(
                    EessiCode::ReferenceUnknown,
                    format!("no document {} was exchanged in case {}", r.id, self.id),
                )
            })?;
        if d.sed_type != r.sed_type {
            return Err(BucError::new(
                EessiCode::ReferenceWrongType,
                format!(
                    "document {} is a {}, not a {}",
                    r.id, d.sed_type, r.sed_type
                ),
            ));
        }
        if d.state == DocumentState::Cancelled {
            return Err(BucError::new(
                EessiCode::ReferenceCancelled,
                format!("document {} ({}) was invalidated", r.id, d.sed_type),
            ));
        }
        Ok(d)
    }

    fn one_reference(refs: &[DocumentRef], t: SedType) -> Result<&DocumentRef, BucError> {
        match refs {
            [one] => Ok(one),
            _ => Err(BucError::new(
                EessiCode::ReferenceMissing,
                format!("{t} refers to exactly one document; {} given", refs.len()),
            )),
        }
    }

    fn to_sender_of(
        d: &CaseDocument,
        recipients: &[InstitutionId],
        t: SedType,
    ) -> Result<(), BucError> {
        if recipients != std::slice::from_ref(&d.sender) {
            return Err(BucError::new(
                EessiCode::RecipientInvalid,
                format!("{t} goes to {}, who sent {}", d.sender, d.id),
            ));
        }
        Ok(())
    }

    fn check_when(
        &self,
        sender: &InstitutionId,
        t: SedType,
        rule: &SedRule,
        refs: &[DocumentRef],
        recipients: &[InstitutionId],
    ) -> Result<(), BucError> {
        match rule.when {
            When::Start | When::AfterStart => {
                for r in refs {
                    self.referenced(r)?;
                }
            }
            When::ReplyTo(types) => {
                let r = Self::one_reference(refs, t)?;
                let d = self.referenced(r)?;
                if !types.contains(&d.sed_type) {
                    return Err(BucError::new(
                        EessiCode::ReferenceWrongType,
                        format!("{t} cannot answer a {}", d.sed_type),
                    ));
                }
                if !d.recipients.contains(sender) {
                    return Err(BucError::new(
                        EessiCode::NotAddressee,
                        format!("{sender} was not an addressee of {} ({})", d.id, d.sed_type),
                    ));
                }
                if d.answered_by.contains(sender) {
                    return Err(BucError::new(
                        EessiCode::AlreadyAnswered,
                        format!("{sender} already answered {} ({})", d.id, d.sed_type),
                    ));
                }
                Self::to_sender_of(d, recipients, t)?;
            }
            When::Rejects => {
                let r = Self::one_reference(refs, t)?;
                let d = self.referenced(r)?;
                if d.sed_type.is_administrative() {
                    return Err(BucError::new(
                        EessiCode::ReferenceWrongType,
                        format!("a {} cannot be rejected", d.sed_type),
                    ));
                }
                if !d.recipients.contains(sender) {
                    return Err(BucError::new(
                        EessiCode::NotAddressee,
                        format!("{sender} did not receive {} ({})", d.id, d.sed_type),
                    ));
                }
                if d.rejected_by.contains(sender) || d.answered_by.contains(sender) {
                    return Err(BucError::new(
                        EessiCode::AlreadyAnswered,
                        format!(
                            "{sender} already answered or rejected {} ({})",
                            d.id, d.sed_type
                        ),
                    ));
                }
                Self::to_sender_of(d, recipients, t)?;
            }
            When::Invalidates => {
                let r = Self::one_reference(refs, t)?;
                let d = self.referenced(r)?;
                if d.sed_type.is_administrative() {
                    return Err(BucError::new(
                        EessiCode::ReferenceWrongType,
                        format!("a {} cannot be invalidated", d.sed_type),
                    ));
                }
                if d.sender != *sender {
                    return Err(BucError::new(
                        EessiCode::NotOriginator,
                        format!("only {}, who sent {}, may invalidate it", d.sender, d.id),
                    ));
                }
                if let Some(x) = recipients.iter().find(|x| !d.recipients.contains(x)) {
                    return Err(BucError::new(
                        EessiCode::RecipientInvalid,
                        format!("{x} did not receive {}", d.id),
                    ));
                }
            }
            When::Reminds => {
                if refs.is_empty() {
                    return Err(BucError::new(
                        EessiCode::ReferenceMissing,
                        "a reminder names the documents it reminds of",
                    ));
                }
                for r in refs {
                    let d = self.referenced(r)?;
                    if d.sed_type.is_administrative() || !self.spec().is_request(d.sed_type) {
                        return Err(BucError::new(
                            EessiCode::ReferenceWrongType,
                            format!("a {} expects no answer to remind of", d.sed_type),
                        ));
                    }
                    if d.sender != *sender {
                        return Err(BucError::new(
                            EessiCode::NotOriginator,
                            format!("only {}, who sent {}, may remind of it", d.sender, d.id),
                        ));
                    }
                    for x in recipients {
                        if !d.recipients.contains(x) {
                            return Err(BucError::new(
                                EessiCode::RecipientInvalid,
                                format!("{x} did not receive {}", d.id),
                            ));
                        }
                        if d.answered_by.contains(x) {
                            return Err(BucError::new(
                                EessiCode::AlreadyAnswered,
                                format!("{x} already answered {} ({})", d.id, d.sed_type),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Record that a document was exchanged: its effects on the documents it refers to and on the
    /// case. Only called after `check` passed.
    fn apply(
        &mut self,
        sender: &InstitutionId,
        doc_id: &DocumentId,
        rule: &SedRule,
        refs: &[DocumentRef],
        now: OffsetDateTime,
    ) {
        let request = |this: &Self, t: SedType| this.spec().is_request(t);
        for r in refs {
            let is_request = self
                .documents
                .iter()
                .find(|d| d.id == r.id)
                .is_some_and(|d| request(self, d.sed_type));
            let Some(d) = self.documents.iter_mut().find(|d| d.id == r.id) else {
                continue;
            };
            match rule.when {
                When::ReplyTo(_) => d.answered_by.push(sender.clone()),
                When::Rejects => {
                    d.rejected_by.push(sender.clone());
                    if is_request {
                        d.answered_by.push(sender.clone());
                    }
                }
                When::Invalidates => {
                    d.state = DocumentState::Cancelled;
                    self.history.push(HistoryEntry {
                        at: now,
                        event: CaseEvent::Cancelled(r.id.clone()),
                    });
                }
                When::Start | When::AfterStart | When::Reminds => {}
            }
        }
        if rule.closes {
            self.status = CaseStatus::Closed;
            self.history.push(HistoryEntry {
                at: now,
                event: CaseEvent::Closed(doc_id.clone()),
            });
        }
    }

    /// Prepare a document to send (state `new`), checking that this institution may send it now.
    pub fn draft(
        &mut self,
        id: DocumentId,
        sed_type: SedType,
        references: Vec<DocumentRef>,
        recipients: Vec<InstitutionId>,
        now: OffsetDateTime,
    ) -> Result<(), BucError> {
        if self.document(&id).is_some() {
            return Err(BucError::new(
                EessiCode::DuplicateDocumentId,
                format!("document {id} already exists in case {}", self.id),
            ));
        }
        let me = self.me.clone();
        self.check(&me, sed_type, self.cdm, &references, &recipients)?;
        self.history.push(HistoryEntry {
            at: now,
            event: CaseEvent::Drafted(id.clone()),
        });
        self.documents.push(CaseDocument {
            id,
            sed_type,
            sender: me,
            recipients,
            state: DocumentState::New,
            references,
            created_at: now,
            exchanged_at: None,
            answered_by: Vec::new(),
            rejected_by: Vec::new(),
        });
        Ok(())
    }

    /// Prepare a SED to send: [`Case::draft`] with the SED's type and references.
    pub fn draft_sed(
        &mut self,
        id: DocumentId,
        sed: &Sed,
        recipients: Vec<InstitutionId>,
        now: OffsetDateTime,
    ) -> Result<(), BucError> {
        self.draft(id, sed.sed_type(), sed.references(), recipients, now)
    }

    /// Send a draft: checked again (the case may have moved since), then `sent`.
    pub fn send(&mut self, id: &DocumentId, now: OffsetDateTime) -> Result<(), BucError> {
        let d = self.document(id).ok_or_else(|| {
            BucError::new(
                EessiCode::UnknownDocument,
                format!("no document {id} in case {}", self.id),
            )
        })?;
        if d.state != DocumentState::New {
            return Err(BucError::new(
                EessiCode::NotDraft,
                format!("document {id} is {:?}, not new", d.state),
            ));
        }
        let (t, refs, recipients) = (d.sed_type, d.references.clone(), d.recipients.clone());
        let me = self.me.clone();
        let rule = self.check(&me, t, self.cdm, &refs, &recipients)?;
        if let Some(d) = self.documents.iter_mut().find(|d| d.id == *id) {
            d.state = DocumentState::Sent;
            d.exchanged_at = Some(now);
        }
        self.history.push(HistoryEntry {
            at: now,
            event: CaseEvent::Sent(id.clone()),
        });
        self.apply(&me, id, rule, &refs, now);
        Ok(())
    }

    /// Receive a document: the envelope must be for this case and this institution, and the
    /// sender allowed to send it now.
    pub fn receive(
        &mut self,
        envelope: &Envelope,
        references: &[DocumentRef],
        now: OffsetDateTime,
    ) -> Result<(), BucError> {
        if envelope.case_id != self.id || envelope.buc_type != self.buc {
            return Err(BucError::new(
                EessiCode::WrongCase,
                format!(
                    "the message is for {} case {}, this is {} case {}",
                    envelope.buc_type, envelope.case_id, self.buc, self.id
                ),
            ));
        }
        if envelope.receiver != self.me {
            return Err(BucError::new(
                EessiCode::NotOpenForReceipt,
                format!(
                    "the message is addressed to {}, not {}",
                    envelope.receiver, self.me
                ),
            ));
        }
        if self.document(&envelope.document_id).is_some() {
            return Err(BucError::new(
                EessiCode::DuplicateDocumentId,
                format!(
                    "document {} already exists in case {}",
                    envelope.document_id, self.id
                ),
            ));
        }
        let recipients = vec![self.me.clone()];
        let rule = self.check(
            &envelope.sender,
            envelope.sed_type,
            envelope.cdm_version,
            references,
            &recipients,
        )?;
        self.documents.push(CaseDocument {
            id: envelope.document_id.clone(),
            sed_type: envelope.sed_type,
            sender: envelope.sender.clone(),
            recipients,
            state: DocumentState::Received,
            references: references.to_vec(),
            created_at: envelope.created_at,
            exchanged_at: Some(now),
            answered_by: Vec::new(),
            rejected_by: Vec::new(),
        });
        self.history.push(HistoryEntry {
            at: now,
            event: CaseEvent::Received(envelope.document_id.clone()),
        });
        self.apply(
            &envelope.sender,
            &envelope.document_id,
            rule,
            references,
            now,
        );
        Ok(())
    }

    /// Receive a decoded message: [`Case::receive`] with the SED's references.
    pub fn receive_sed(
        &mut self,
        envelope: &Envelope,
        sed: &Sed,
        now: OffsetDateTime,
    ) -> Result<(), BucError> {
        if envelope.sed_type != sed.sed_type() {
            return Err(BucError::new(
                EessiCode::EnvelopeSedMismatch,
                format!(
                    "the envelope names {} but carries {}",
                    envelope.sed_type,
                    sed.sed_type()
                ),
            ));
        }
        self.receive(envelope, &sed.references(), now)
    }

    /// The envelope of one copy of a document this institution sends.
    pub fn envelope(
        &self,
        id: &DocumentId,
        receiver: &InstitutionId,
        message_id: MessageId,
        created_at: OffsetDateTime,
    ) -> Result<Envelope, BucError> {
        let d = self.document(id).ok_or_else(|| {
            BucError::new(
                EessiCode::UnknownDocument,
                format!("no document {id} in case {}", self.id),
            )
        })?;
        if d.sender != self.me || !d.recipients.contains(receiver) {
            return Err(BucError::new(
                EessiCode::RecipientInvalid,
                format!("{receiver} is not a recipient of {id} sent by {}", self.me),
            ));
        }
        Ok(Envelope {
            sender: self.me.clone(),
            receiver: receiver.clone(),
            sed_type: d.sed_type,
            cdm_version: self.cdm,
            document_id: d.id.clone(),
            case_id: self.id.clone(),
            buc_type: self.buc,
            message_id,
            created_at,
        })
    }

    /// The SED types this institution may send now, each with one set of references and
    /// recipients that makes it legal (what a case worker's "reply" menu offers).
    pub fn allowed(&self) -> Vec<(SedType, Vec<DocumentRef>, Vec<InstitutionId>)> {
        let mut out = Vec::new();
        let me = &self.me;
        let default_to: Vec<InstitutionId> = if *me == self.owner {
            self.counterparties.clone()
        } else {
            vec![self.owner.clone()]
        };
        let exchanged: Vec<&CaseDocument> = self
            .documents
            .iter()
            .filter(|d| matches!(d.state, DocumentState::Sent | DocumentState::Received))
            .collect();
        let mut seen: Vec<SedType> = Vec::new();
        for rule in self.spec().all_rules() {
            if seen.contains(&rule.sed) {
                continue;
            }
            let mut tries: Vec<(Vec<DocumentRef>, Vec<InstitutionId>)> = Vec::new();
            match rule.when {
                When::Start | When::AfterStart => tries.push((Vec::new(), default_to.clone())),
                When::ReplyTo(_) | When::Rejects => {
                    for d in &exchanged {
                        tries.push((
                            vec![DocumentRef::new(d.sed_type, d.id.clone())],
                            vec![d.sender.clone()],
                        ));
                    }
                }
                When::Invalidates => {
                    for d in exchanged.iter().filter(|d| d.sender == *me) {
                        tries.push((
                            vec![DocumentRef::new(d.sed_type, d.id.clone())],
                            d.recipients.clone(),
                        ));
                    }
                }
                When::Reminds => {
                    for d in exchanged.iter().filter(|d| d.sender == *me) {
                        let waiting: Vec<InstitutionId> = d
                            .recipients
                            .iter()
                            .filter(|r| !d.answered_by.contains(r))
                            .cloned()
                            .collect();
                        if !waiting.is_empty() {
                            tries.push((vec![DocumentRef::new(d.sed_type, d.id.clone())], waiting));
                        }
                    }
                }
            }
            if let Some((refs, to)) = tries
                .into_iter()
                .find(|(refs, to)| self.check(me, rule.sed, self.cdm, refs, to).is_ok())
            {
                seen.push(rule.sed);
                out.push((rule.sed, refs, to));
            }
        }
        out
    }

    /// Requests this institution sent whose addressees have not answered within the BUC's
    /// reminder period (counted from the request, then from the last reminder about it).
    pub fn due_reminders(&self, now: OffsetDateTime) -> Vec<DueReminder> {
        if self.status == CaseStatus::Closed {
            return Vec::new();
        }
        let mut out = Vec::new();
        for d in self
            .documents
            .iter()
            .filter(|d| d.sender == self.me && d.state == DocumentState::Sent)
        {
            let Some((_, days)) = self.spec().reminders.iter().find(|(t, _)| *t == d.sed_type)
            else {
                continue;
            };
            let waiting: Vec<InstitutionId> = d
                .recipients
                .iter()
                .filter(|r| !d.answered_by.contains(r))
                .cloned()
                .collect();
            if waiting.is_empty() {
                continue;
            }
            let last_prompt = self
                .documents
                .iter()
                .filter(|x| {
                    x.sed_type == SedType::X009
                        && x.sender == self.me
                        && x.state == DocumentState::Sent
                        && x.references.iter().any(|r| r.id == d.id)
                })
                .filter_map(|x| x.exchanged_at)
                .chain(d.exchanged_at)
                .max();
            if let Some(due) = last_prompt.and_then(|t| days_after(t, *days))
                && due <= now
            {
                out.push(DueReminder {
                    document: DocumentRef::new(d.sed_type, d.id.clone()),
                    recipients: waiting,
                    due_since: due,
                });
            }
        }
        out
    }

    /// Whether the case owner should now close the case (with an X001): the BUC's trigger
    /// document is old enough, nothing blocks, and the case has been quiet as long.
    pub fn due_closure(&self, now: OffsetDateTime) -> Option<DueClosure> {
        if self.status == CaseStatus::Closed || self.me != self.owner {
            return None;
        }
        let rule = self.spec().auto_close;
        let (types, state) = match rule.trigger {
            Trigger::Sent(types) => (types, DocumentState::Sent),
            Trigger::Received(types) => (types, DocumentState::Received),
        };
        let trigger = self
            .documents
            .iter()
            .filter(|d| d.state == state && types.contains(&d.sed_type))
            .max_by_key(|d| d.exchanged_at)?;
        let since = trigger.exchanged_at?;
        let live =
            |d: &&CaseDocument| matches!(d.state, DocumentState::Sent | DocumentState::Received);
        if self.documents.iter().filter(live).any(|d| {
            d.state == DocumentState::Received
                && rule.unless_received.contains(&d.sed_type)
                && d.exchanged_at >= Some(since)
        }) {
            return None;
        }
        let open_request = self.documents.iter().filter(live).any(|d| {
            !types.contains(&d.sed_type)
                && self.spec().is_request(d.sed_type)
                && d.recipients.iter().any(|r| !d.answered_by.contains(r))
        });
        if open_request {
            return None;
        }
        let last_activity = self.documents.iter().filter_map(|d| d.exchanged_at).max()?;
        let due = days_after(since, rule.days)?.max(days_after(last_activity, rule.days)?);
        (due <= now).then(|| DueClosure {
            trigger: trigger.id.clone(),
            due_since: due,
        })
    }
}
