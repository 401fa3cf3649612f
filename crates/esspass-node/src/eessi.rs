//! The EESSI access point of an institution node (`[eessi]`): messages to other institutions and
//! from them, over HTTPS, each signed by the sending institution's key and checked against the
//! Institution Repository, each accepted one answered with a signed receipt (non-repudiation), each
//! refused one with a signed error receipt.
//!
//! Sending goes through the durable outbox (`esspass-store`): [`AccessPoint::send`] validates and
//! signs the message and queues it; the worker ([`AccessPoint::deliver_due`]) claims due messages
//! with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), one case's messages in order, posts them,
//! checks the receipt (signed by the receiver named in the repository, for this message) and keeps
//! it; a failure is retried with exponential backoff and jitter. Receiving
//! ([`AccessPoint::receive`]) checks signature, signer, addressee, envelope and SED, keeps the
//! message once by its id (a duplicate gets the first receipt again) and answers.
//!
//! The wire format is ours (the production eDelivery/AS4 profile is not public): the body of `POST
//! {access_point}/eessi/messages` is a compact JWS (`typ: eessi-message+jwt`, `x5c`) whose payload
//! holds the `StandardBusinessDocument` XML (`sbd`) and `iat`; the answer is a compact JWS (`typ:
//! eessi-receipt+jwt`) with `message_id`, `message_digest` (base64url SHA-256 of the message as
//! received), `outcome` (`accepted` / `refused`), `code`, `problems`, `receiver`, `sender`, `iat`.
//! The [`Transport`] trait is the seam where an AS4 transport would go.

use crate::services::issuance::ApiError;
use esspass_core::{Date, ErrorCode};
use esspass_credential::jose::{CompactJws, sign_compact};
use esspass_credential::trust::{BucRole, TrustedList};
use esspass_credential::x509::ChainValidator;
use esspass_credential::{EcdsaP256Signer, b64};
use esspass_eessi::{Case, DecodeOptions, Message};
use esspass_store::{InboxRow, OutboxRow, Store};
use serde_json::{Map, Value, json};
use std::sync::{Arc, RwLock};

pub const MESSAGE_TYP: &str = "eessi-message+jwt";
pub const RECEIPT_TYP: &str = "eessi-receipt+jwt";
/// The path of the access point's inbox.
pub const INBOX_PATH: &str = "/eessi/messages";
/// Attempts before a message is given up (and reported failed).
pub const MAX_ATTEMPTS: i64 = 25;
/// Seconds a worker holds a claimed message.
const LEASE: i64 = 60;

/// How a signed message reaches another access point: the HTTPS transport here; an AS4
/// (eDelivery) transport would implement the same.
/// What a [`Transport`] answers: the HTTP status and the body, or why nothing came back.
pub type Posted<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(u16, String), String>> + Send + 'a>>;

pub trait Transport: Send + Sync {
    /// Post the signed message; the HTTP-level status and the body (a signed receipt, when the
    /// other side answered one).
    fn post<'a>(&'a self, url: &'a str, message: &'a str) -> Posted<'a>;
}

/// HTTPS with the trust anchors for TLS, short timeouts, no redirects.
pub struct HttpsTransport {
    client: reqwest::Client,
}

impl HttpsTransport {
    pub fn new(anchors: &[esspass_credential::x509::Certificate]) -> Result<Self, String> {
        let cas: Vec<reqwest::Certificate> = anchors.iter().filter_map(|c| reqwest::Certificate::from_der(&c.der).ok()).collect();
        let client = reqwest::Client::builder().tls_certs_merge(cas).timeout(std::time::Duration::from_secs(10)).redirect(reqwest::redirect::Policy::none()).build().map_err(|e| e.to_string())?;
        Ok(Self { client })
    }
}

impl Transport for HttpsTransport {
    fn post<'a>(&'a self, url: &'a str, message: &'a str) -> Posted<'a> {
        Box::pin(async move {
            let send = || self.client.post(url).header("Content-Type", "application/jwt").body(message.to_owned()).send();
            // A pooled connection the other side has just closed fails before anything is sent:
            // one immediate retry on a fresh connection (the message id makes it harmless anyway).
            let r = match send().await {
                Ok(r) => r,
                Err(_) => send().await.map_err(|e| {
                    // The cause (refused, timed out, TLS) is what an operator needs.
                    let mut text = format!("POST {url}: {e}");
                    let mut cause = std::error::Error::source(&e);
                    while let Some(c) = cause {
                        text.push_str(&format!(": {c}"));
                        cause = c.source();
                    }
                    text
                })?,
            };
            let status = r.status().as_u16();
            let text = r.text().await.map_err(|e| format!("POST {url}: {e}"))?;
            Ok((status, text))
        })
    }
}

/// What a receipt says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    pub message_id: String,
    pub message_digest: String,
    /// `accepted` or `refused`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    pub receiver: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    pub iat: i64,
}

/// An institution's access point.
pub struct AccessPoint {
    pub store: Store,
    pub institution_id: String,
    signer: Arc<EcdsaP256Signer>,
    chain: Arc<Vec<Vec<u8>>>,
    chains: ChainValidator,
    pub repository: RwLock<TrustedList>,
    transport: Box<dyn Transport>,
    options: DecodeOptions,
    /// Where the repository is read again from (a file or an https URL), and how often.
    source: Option<(String, reqwest::Client, i64)>,
    refreshed: std::sync::atomic::AtomicI64,
    /// The inbox's writer: messages received at the same time are kept in one transaction (one
    /// sync to disk for the group); each is answered once its group is committed.
    inbox_writer: Option<tokio::sync::mpsc::Sender<InboxJob>>,
}

/// A message to keep, and where to say how it went.
type InboxJob = (esspass_store::InboxWrite, tokio::sync::oneshot::Sender<Result<Option<String>, esspass_store::StoreError>>);

/// The inbox writer task: takes every message waiting (up to 256) and keeps them together.
async fn write_inbox(store: Store, mut rx: tokio::sync::mpsc::Receiver<InboxJob>) {
    while let Some(group) = crate::batch::next_group(&mut rx, 256).await {
        let (items, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        match store.inbox_insert_batch(&items).await {
            Ok(results) => {
                for (reply, r) in replies.into_iter().zip(results) {
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                let why = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(esspass_store::StoreError::Database(why.clone())));
                }
            }
        }
    }
}

impl std::fmt::Debug for AccessPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessPoint").field("institution", &self.institution_id).finish()
    }
}

fn digest(message: &str) -> String {
    b64::encode(esspass_credential::sha256(message.as_bytes()))
}

/// Exponential backoff with ±20 % jitter: 5 s, 10 s, 20 s … at most an hour.
pub fn next_attempt(now: i64, attempts: i64) -> i64 {
    let base = 5i64.saturating_mul(1i64 << attempts.clamp(0, 10)).min(3600);
    let [r] = esspass_credential::random_bytes::<1>();
    let jitter = base * (i64::from(r) - 128) / 640;
    now + (base + jitter).max(1)
}

impl AccessPoint {
    pub fn new(store: Store, institution_id: String, signer: Arc<EcdsaP256Signer>, chain: Arc<Vec<Vec<u8>>>, chains: ChainValidator, repository: TrustedList, transport: Box<dyn Transport>) -> Result<Self, String> {
        if !matches!(repository.body, esspass_credential::trust::ListBody::Institutions { .. }) {
            return Err("eessi.repository is not an Institution Repository".into());
        }
        if repository.institution(&institution_id).is_none() {
            return Err(format!("{institution_id} is not in the Institution Repository"));
        }
        // With a runtime (always, in a node), received messages are committed in groups.
        let inbox_writer = tokio::runtime::Handle::try_current().ok().map(|h| {
            let (tx, rx) = tokio::sync::mpsc::channel(4096);
            h.spawn(write_inbox(store.clone(), rx));
            tx
        });
        Ok(Self { store, institution_id, signer, chain, chains, repository: RwLock::new(repository), transport, options: DecodeOptions::default(), source: None, refreshed: std::sync::atomic::AtomicI64::new(0), inbox_writer })
    }

    /// Read the repository again from `source` every `every` seconds ([`AccessPoint::refresh_repository`]).
    pub fn refreshing(mut self, source: String, client: reqwest::Client, every: i64, now: i64) -> Self {
        self.source = Some((source, client, every.max(10)));
        self.refreshed = std::sync::atomic::AtomicI64::new(now);
        self
    }

    /// Once the refresh period has passed: a newer Institution Repository (same series, higher
    /// sequence) replaces the one in use — new access points and certificates are used at once; an
    /// older one (rollback), one that does not verify or an unreachable source leave it.
    pub async fn refresh_repository(&self, now: i64) {
        use std::sync::atomic::Ordering;
        let Some((src, client, every)) = &self.source else { return };
        if now - self.refreshed.load(Ordering::Relaxed) < *every {
            return;
        }
        self.refreshed.store(now, Ordering::Relaxed);
        let fresh = match crate::trusted_lists::load_list(src, &self.chains, client, now).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(target: "esspass::eessi", error = %e, "Institution Repository not refreshed; the one in use stays");
                return;
            }
        };
        let Ok(mut current) = self.repository.write() else { return };
        match crate::trusted_lists::update(&current, &fresh) {
            crate::trusted_lists::Update::Unchanged => return,
            crate::trusted_lists::Update::Refused(why) => {
                tracing::warn!(target: "esspass::eessi", "Institution Repository refused: {why}");
                return;
            }
            crate::trusted_lists::Update::Newer if fresh.institution(&self.institution_id).is_none() => {
                tracing::warn!(target: "esspass::eessi", "Institution Repository refused: it no longer lists this institution");
                return;
            }
            crate::trusted_lists::Update::Newer => {}
        }
        *current = fresh;
        tracing::info!(target: "esspass::eessi", "Institution Repository replaced by a newer one");
    }

    fn sign(&self, typ: &str, payload: &Map<String, Value>) -> Result<String, ApiError> {
        let mut header = Map::new();
        header.insert("typ".into(), json!(typ));
        header.insert("x5c".into(), Value::Array(self.chain.iter().map(|c| Value::String(b64::encode_std(c))).collect()));
        sign_compact(self.signer.as_ref(), header, payload).map_err(|e| ApiError::new(500, e.code, e.detail))
    }

    /// The envelope and SED a signed message carries (`sbd`), decoded under this access point's limits.
    fn message_in(&self, jws: &CompactJws) -> Result<Message, esspass_eessi::DecodeError> {
        let xml = jws.payload.get("sbd").and_then(Value::as_str).unwrap_or_default();
        Message::decode(xml.as_bytes(), &self.options)
    }

    /// Validate, sign and queue a message to another institution; durable once this returns.
    pub async fn send(&self, message: &Message, now: i64) -> Result<String, ApiError> {
        let mut row = self.prepare(message, now)?;
        self.attach_case(&mut row, message, now).await?;
        self.store.enqueue_outbox(&row).await?;
        Ok(row.message_id)
    }

    /// The case as sending `message` leaves it, put on its outbox row: the stored case moved, or
    /// a new case opened with this institution as owner when the message starts its BUC. A message
    /// in a case that was never stored and that does not start it (a case from before cases were
    /// kept) goes without. A step the BUC does not allow is refused with the rule it breaks.
    pub async fn attach_case(&self, row: &mut OutboxRow, message: &Message, now: i64) -> Result<(), ApiError> {
        let env = &message.envelope;
        let stored = match self.store.case(env.case_id.as_str()).await? {
            Some(stored) => stored,
            None if esspass_eessi::buc::spec(env.buc_type).starter == env.sed_type => {
                row.case = Some(opened_case(message, now)?);
                return Ok(());
            }
            None => return Ok(()),
        };
        let mut case = serde_json::from_value::<Case>(stored.body).map_err(|e| ApiError::new(500, ErrorCode::Internal, format!("stored case: {e}")))?;
        case.draft_sed(env.document_id.clone(), &message.sed, vec![env.receiver.clone()], at(now)).map_err(buc_refusal)?;
        case.send(&env.document_id, at(now)).map_err(buc_refusal)?;
        row.case = Some(case_row(&case, stored.version, now)?);
        Ok(())
    }

    /// The case as receiving `message` leaves it: the stored case moved, or joined when the
    /// message starts its BUC. Why not, with the rule it breaks.
    async fn case_on_receipt(&self, message: &Message, now: i64) -> Result<Result<esspass_store::CaseRow, String>, ApiError> {
        let env = &message.envelope;
        let refs = message.sed.references();
        let moved = match self.store.case(env.case_id.as_str()).await? {
            Some(stored) => {
                let mut case = serde_json::from_value::<Case>(stored.body).map_err(|e| ApiError::new(500, ErrorCode::Internal, format!("stored case: {e}")))?;
                case.receive(env, &refs, at(now)).map(|()| (case, stored.version))
            }
            None => Case::join(env.receiver.clone(), env, &refs, at(now)).map(|c| (c, 0)),
        };
        match moved {
            Ok((case, version)) => Ok(Ok(case_row(&case, version, now)?)),
            Err(e) => Ok(Err(format!("{}: {}", e.rule(), e.message))),
        }
    }

    /// The outbox row of a message (validated, routed, signed), for the caller to write in the
    /// transaction of the business change that causes it.
    pub fn prepare(&self, message: &Message, now: i64) -> Result<OutboxRow, ApiError> {
        let env = &message.envelope;
        if env.sender.to_string() != self.institution_id {
            return Err(ApiError::new(400, ErrorCode::BadRequest, format!("the envelope's sender is {}, not this institution ({})", env.sender, self.institution_id)));
        }
        let receiver = env.receiver.to_string();
        let today = Date::of_instant(at(now));
        let buc = env.buc_type.to_string();
        let url = {
            let repo = self.repository.read().map_err(|_| ApiError::new(500, ErrorCode::Internal, "lock"))?;
            let entry = repo.institution(&receiver).ok_or_else(|| ApiError::new(409, ErrorCode::EessiReceiverUnknown, format!("{receiver} is not in the Institution Repository")))?;
            if !entry.handles(&buc, BucRole::Counterparty, today) && !entry.handles(&buc, BucRole::CaseOwner, today) {
                return Err(ApiError::new(409, ErrorCode::EessiReceiverUnknown, format!("{receiver} does not take part in {buc}")));
            }
            format!("{}{INBOX_PATH}", entry.access_point.trim_end_matches('/'))
        };
        let xml = message.encode().map_err(|p| ApiError::new(400, ErrorCode::EessiSedInvalid, p.0.iter().map(|x| format!("{} {}: {}", x.code, x.path, x.message)).collect::<Vec<_>>().join("; ")))?;
        let mut payload = Map::new();
        payload.insert("sbd".into(), json!(xml));
        payload.insert("iat".into(), json!(now));
        let jws = self.sign(MESSAGE_TYP, &payload)?;
        Ok(OutboxRow { message_id: env.message_id.to_string(), case_id: env.case_id.to_string(), receiver, receiver_url: url, body: jws, attempts: 0, created_at: now, case: None })
    }

    /// The competent institution of `country` for `buc` as counterparty, today.
    pub fn competent(&self, country: esspass_core::Country, buc: &str, now: i64) -> Option<String> {
        let today = Date::of_instant(at(now));
        self.repository.read().ok()?.competent(country, buc, BucRole::Counterparty, today).first().map(|e| e.institution_id.clone())
    }

    /// Deliver what is due; returns how many messages were delivered. A claimed batch holds at
    /// most one message per case (the oldest pending), so its messages are posted concurrently
    /// without breaking any case's order; the receipts of the batch are kept in one transaction (a
    /// crash before it sends them again, and the receivers answer a duplicate with its first
    /// receipt).
    pub async fn deliver_due(self: &Arc<Self>, now: i64) -> usize {
        let rows = match self.store.claim_outbox(now, LEASE, 64).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(target: "esspass::eessi", error = %e, "outbox claim failed");
                return 0;
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        for row in rows {
            let me = self.clone();
            tasks.spawn(async move {
                let outcome = me.attempt(&row, now).await;
                (row, outcome)
            });
        }
        let mut delivered = Vec::new();
        while let Some(done) = tasks.join_next().await {
            let Ok((row, outcome)) = done else { continue };
            let stored = match outcome {
                Ok(receipt) => {
                    delivered.push((row.message_id, receipt));
                    continue;
                }
                // A signed refusal is final: sending the same message again cannot succeed.
                Err((e, Some(receipt))) => self.store.outbox_retry(&row.message_id, &e, None, Some(&receipt)).await,
                Err((e, None)) if row.attempts + 1 >= MAX_ATTEMPTS => self.store.outbox_retry(&row.message_id, &e, None, None).await,
                Err((e, None)) => self.store.outbox_retry(&row.message_id, &e, Some(next_attempt(now, row.attempts)), None).await,
            };
            if let Err(e) = stored {
                tracing::warn!(target: "esspass::eessi", error = %e, "outbox update failed; the lease expires and the message is tried again");
            }
        }
        match self.store.outbox_delivered_all(&delivered, now).await {
            Ok(()) => delivered.len(),
            Err(e) => {
                tracing::warn!(target: "esspass::eessi", error = %e, "outbox update failed; the lease expires and the messages are sent again");
                0
            }
        }
    }

    /// Post one message: its receipt when accepted, else why (with the receiver's signed error
    /// receipt when it refused the message).
    async fn attempt(&self, row: &OutboxRow, now: i64) -> Result<String, (String, Option<String>)> {
        match self.transport.post(&row.receiver_url, &row.body).await {
            Err(e) => Err((e, None)),
            Ok((status, body)) => match self.check_receipt(&body, row, now) {
                Ok(r) if r.outcome == "accepted" && (200..300).contains(&status) => Ok(body),
                Ok(r) => Err((format!("refused by {}: {} {}", row.receiver, r.code.unwrap_or_default(), r.problems.join("; ")), Some(body))),
                Err(e) => Err((format!("HTTP {status}: {e}"), None)),
            },
        }
    }

    /// A receipt for `row`: signed by the receiver the repository names, for this very message.
    fn check_receipt(&self, jws: &str, row: &OutboxRow, now: i64) -> Result<Receipt, String> {
        let parsed = CompactJws::parse(jws.trim()).map_err(|e| format!("not a receipt: {}", e.detail))?;
        if parsed.typ() != Some(RECEIPT_TYP) {
            return Err("not a receipt (typ)".into());
        }
        let x5c: Vec<&str> = parsed.header.get("x5c").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let chain = self.chains.validate_x5c(&x5c, now).map_err(|e| format!("receipt signer: {}", e.detail))?;
        let signer = self.repository.read().map_err(|_| "lock".to_owned())?.institution_for(&chain.leaf).map(|e| e.institution_id.clone());
        if signer.as_deref() != Some(row.receiver.as_str()) {
            return Err(format!("the receipt is not signed by {}", row.receiver));
        }
        let point = chain.leaf.p256_point().ok_or("receipt key is not P-256")?;
        if !parsed.verify_with_point(point) {
            return Err("the receipt's signature does not verify".into());
        }
        let r: Receipt = serde_json::from_value(Value::Object(parsed.payload)).map_err(|e| format!("receipt: {e}"))?;
        if r.message_id != row.message_id || r.message_digest != digest(&row.body) {
            return Err("the receipt is for another message".into());
        }
        Ok(r)
    }

    fn receipt(&self, message_id: &str, message: &str, sender: Option<&str>, refusal: Option<(ErrorCode, Vec<String>)>, now: i64) -> Result<String, ApiError> {
        let r = Receipt {
            message_id: message_id.to_owned(),
            message_digest: digest(message),
            outcome: if refusal.is_none() { "accepted" } else { "refused" }.into(),
            code: refusal.as_ref().map(|(c, _)| c.code().to_owned()),
            problems: refusal.map(|(_, p)| p).unwrap_or_default(),
            receiver: self.institution_id.clone(),
            sender: sender.map(str::to_owned),
            iat: now,
        };
        let Value::Object(payload) = serde_json::to_value(&r).map_err(|e| ApiError::new(500, ErrorCode::Internal, e.to_string()))? else {
            return Err(ApiError::new(500, ErrorCode::Internal, "receipt"));
        };
        self.sign(RECEIPT_TYP, &payload)
    }

    /// Take a message from another access point: the HTTP status and the signed receipt (accepted,
    /// or refused with the code and the problems). Nothing of a refused message is kept.
    pub async fn receive(&self, body: &[u8], now: i64) -> Result<(u16, String), ApiError> {
        let text = std::str::from_utf8(body).unwrap_or_default().trim().to_owned();
        let refuse = |status: u16, code: ErrorCode, problems: Vec<String>, message_id: &str, sender: Option<&str>| -> Result<(u16, String), ApiError> { Ok((status, self.receipt(message_id, &text, sender, Some((code, problems)), now)?)) };
        let Ok(parsed) = CompactJws::parse(&text) else {
            return refuse(400, ErrorCode::EessiMessageInvalid, vec!["not a compact JWS".into()], "", None);
        };
        if parsed.typ() != Some(MESSAGE_TYP) {
            return refuse(400, ErrorCode::EessiMessageInvalid, vec![format!("typ must be {MESSAGE_TYP}")], "", None);
        }
        let x5c: Vec<&str> = parsed.header.get("x5c").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let chain = match self.chains.validate_x5c(&x5c, now) {
            Ok(c) => c,
            Err(e) => return refuse(400, ErrorCode::EessiMessageInvalid, vec![format!("signer certificate: {}", e.detail)], "", None),
        };
        if !chain.leaf.p256_point().is_some_and(|p| parsed.verify_with_point(p)) {
            return refuse(400, ErrorCode::EessiMessageInvalid, vec!["the signature does not verify".into()], "", None);
        }
        let signer = self.repository.read().map_err(|_| ApiError::new(500, ErrorCode::Internal, "lock"))?.institution_for(&chain.leaf).map(|e| e.institution_id.clone());
        let Some(signer) = signer else {
            return refuse(403, ErrorCode::EessiSenderUnknown, vec![format!("{} is not in the Institution Repository", chain.leaf.subject_text)], "", None);
        };
        let message = match self.message_in(&parsed) {
            Ok(m) => m,
            Err(e) => return refuse(400, ErrorCode::EessiSedInvalid, e.problems().iter().map(|p| format!("{} {}: {}", p.code, p.path, p.message)).collect(), "", Some(&signer)),
        };
        let env = &message.envelope;
        let message_id = env.message_id.to_string();
        if env.sender.to_string() != signer {
            return refuse(403, ErrorCode::EessiSenderUnknown, vec![format!("signed by {signer}, but the envelope names {} as sender", env.sender)], &message_id, Some(&signer));
        }
        if env.receiver.to_string() != self.institution_id {
            return refuse(400, ErrorCode::EessiNotForUs, vec![format!("addressed to {}", env.receiver)], &message_id, Some(&signer));
        }
        // The same message again (a retry whose receipt was lost): the first receipt, before the
        // case is asked (it has moved with the first).
        if let Some(first) = self.store.inbox_receipt(&message_id).await? {
            return Ok((200, first));
        }
        let case = match self.case_on_receipt(&message, now).await? {
            Ok(c) => c,
            Err(why) => return refuse(409, ErrorCode::EessiBucRule, vec![why], &message_id, Some(&signer)),
        };
        let receipt = self.receipt(&message_id, &text, Some(&signer), None, now)?;
        let row = InboxRow { message_id: message_id.clone(), sender: signer, case_id: env.case_id.to_string(), sed_type: env.sed_type.to_string(), body: text.clone(), receipt: receipt.clone(), received_at: now };
        let posting = match &message.sed {
            esspass_eessi::Sed::A009(a) => Some(self.posting_of(&row, a, now).await?),
            _ => None,
        };
        // The answer to an Art 16 request this institution made moves the application waiting on it.
        let application = match &message.sed {
            esspass_eessi::Sed::A011(_) | esspass_eessi::Sed::A002(_) => match self.store.application_of_case(env.case_id.as_str(), "awaiting_agreement").await? {
                Some(app) => agreement_effect(&app, &message, env.sender.country(), now),
                None => None,
            },
            _ => None,
        };
        let details = json!({"message_id": row.message_id, "sed": row.sed_type, "posting": posting.as_ref().map(|p| json!({"state": p.state, "reasons": p.reasons})),
            "application": application.as_ref().map(|u| json!({"application": u.application_id, "state": u.state}))});
        let audit = esspass_store::AuditEntry::new(now, &format!("eessi:{}", row.sender), "eessi_received", &row.case_id, "EESSI exchange", details);
        // An A006 answers the A005: the posting goes back to review. An X008 invalidating the A009
        // withdraws the posting it registered (the host state must not count on it any more).
        let posting_move = match &message.sed {
            esspass_eessi::Sed::A006(_) => Some(esspass_store::PostingMove::reopen(&row.case_id)),
            esspass_eessi::Sed::X008(x) if x.invalidates.sed_type == esspass_eessi::SedType::A009 => {
                let why = format!("X008: the sending institution invalidated its A009 {}{}", x.invalidates.id, x.explanation.as_deref().map(|e| format!(" ({e})")).unwrap_or_default());
                Some(esspass_store::PostingMove::withdraw(&row.case_id, vec![why], &format!("eessi:{}", row.sender), now))
            }
            _ => None,
        };
        let write = esspass_store::InboxWrite { row, posting, audit: Some(audit), case: Some(case), application, posting_move };
        let kept = match &self.inbox_writer {
            Some(writer) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                writer.send((write, tx)).await.map_err(|_| ApiError::new(503, ErrorCode::Internal, "the inbox writer has stopped"))?;
                rx.await.map_err(|_| ApiError::new(503, ErrorCode::Internal, "the inbox writer has stopped"))??
            }
            None => self.store.inbox_insert_batch(std::slice::from_ref(&write)).await?.into_iter().next().ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "inbox"))??,
        };
        match kept {
            None => Ok((200, receipt)),
            // The same message again (a retry whose receipt was lost): the first receipt.
            Some(first) => Ok((200, first)),
        }
    }
}

/// A SED a back office hands over to be sent (`esspass eessi send`): the SED's XML document, the
/// receiving institution, and optionally the BUC (default: the BUC the SED starts), the case
/// (default: a new one) and the message id (default: a new one; give it to make a retried hand-over
/// harmless — the same id is queued once).
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub sed_xml: &'a [u8],
    pub to: &'a str,
    pub buc: Option<&'a str>,
    pub case_id: Option<&'a str>,
    pub message_id: Option<&'a str>,
}

impl AccessPoint {
    /// Wrap a SED in its envelope and queue it (durable once this returns). The message id, and
    /// whether this call queued it (`false`: that message id was queued before).
    pub async fn send_document(&self, out: &Outgoing<'_>, actor: &str, now: i64) -> Result<(String, bool), ApiError> {
        use esspass_eessi::{BucType, CaseId, DocumentId, Envelope, MessageId};
        let bad = |what: String| ApiError::new(400, ErrorCode::BadRequest, what);
        let doc = esspass_eessi::decode(out.sed_xml, &self.options).map_err(|e| ApiError::new(400, ErrorCode::EessiSedInvalid, e.problems().iter().map(|p| format!("{} {}: {}", p.code, p.path, p.message)).collect::<Vec<_>>().join("; ")))?;
        let sed_type = doc.sed.sed_type();
        let buc = match out.buc {
            Some(b) => BucType::parse(b).ok_or_else(|| bad(format!("{b} is not a BUC")))?,
            None => BucType::ALL.iter().copied().find(|b| esspass_eessi::buc::spec(*b).starter == sed_type).ok_or_else(|| bad(format!("{sed_type} starts no BUC: give the BUC and the case")))?,
        };
        let receiver = esspass_core::InstitutionId::parse(out.to).ok_or_else(|| bad(format!("{} is not an institution id (CC:ID)", out.to)))?;
        let message_id = match out.message_id {
            Some(m) => MessageId::parse(m).ok_or_else(|| bad(format!("{m} is not a message id (1 to 64 of A-Z a-z 0-9 . _ : -)")))?,
            None => MessageId::parse(&format!("m-{}", short_id(&b64::encode(esspass_credential::random_bytes::<16>())))).ok_or_else(|| bad("message id".into()))?,
        };
        let case_id = match out.case_id {
            Some(c) => CaseId::parse(c).ok_or_else(|| bad(format!("{c} is not a case id")))?,
            None => CaseId::parse(&esspass_credential::random_bytes::<8>().iter().map(|b| char::from(b'0' + b % 10)).collect::<String>()).ok_or_else(|| bad("case id".into()))?,
        };
        let message = Message {
            envelope: Envelope {
                sender: esspass_core::InstitutionId::parse(&self.institution_id).ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "institution id"))?,
                receiver,
                sed_type,
                cdm_version: doc.version,
                document_id: DocumentId::parse(&format!("{sed_type}-{}", short_id(message_id.as_str()))).ok_or_else(|| bad("document id".into()))?,
                case_id,
                buc_type: buc,
                message_id,
                created_at: at(now),
            },
            sed: doc.sed,
        };
        // A retried hand-over: queued before, nothing new (the case has moved with the first).
        if self.store.outbox_state(message.envelope.message_id.as_str()).await?.is_some() {
            return Ok((message.envelope.message_id.to_string(), false));
        }
        let mut row = self.prepare(&message, now)?;
        self.attach_case(&mut row, &message, now).await?;
        let audit = esspass_store::AuditEntry::new(now, actor, "eessi_document_sent", &row.case_id, "EESSI exchange", json!({"message_id": row.message_id, "sed": sed_type.to_string(), "to": row.receiver}));
        match self.store.enqueue_outbox_all(std::slice::from_ref(&row), Some(&audit)).await {
            Ok(()) => Ok((row.message_id, true)),
            Err(esspass_store::StoreError::Duplicate(_)) => Ok((row.message_id, false)),
            Err(e) => Err(e.into()),
        }
    }
}

impl AccessPoint {
    /// A case worker sends a document in a case: the SED's XML, to the other participant (or, in a
    /// case with several, to `to`); the BUC decides whether it may be sent now.
    pub async fn reply(&self, case_id: &str, sed_xml: &[u8], to: Option<&str>, actor: &str, now: i64) -> Result<String, ApiError> {
        let stored = self.store.case(case_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::EessiCaseNotFound, "no case with this id"))?;
        let case = serde_json::from_value::<Case>(stored.body).map_err(|e| ApiError::new(500, ErrorCode::Internal, format!("stored case: {e}")))?;
        let others: Vec<String> = std::iter::once(case.owner.to_string()).chain(case.counterparties.iter().map(ToString::to_string)).filter(|p| *p != self.institution_id).collect();
        let to = match (to, others.as_slice()) {
            (Some(t), _) if others.iter().any(|o| o == t) => t.to_owned(),
            (Some(t), _) => return Err(ApiError::new(409, ErrorCode::EessiBucRule, format!("{t} takes no part in case {case_id}"))),
            (None, [only]) => only.clone(),
            (None, _) => return Err(ApiError::new(400, ErrorCode::BadRequest, format!("the case has several participants: say which (to), one of {}", others.join(", ")))),
        };
        let buc = case.buc.to_string();
        let out = Outgoing { sed_xml, to: &to, buc: Some(&buc), case_id: Some(case_id), message_id: None };
        Ok(self.send_document(&out, actor, now).await?.0)
    }

    /// A case worker answers an Art 16 request received in a case (the A001): agree (an A011
    /// granting the requested legislation for the requested period, or for `period` within it),
    /// or refuse (an A002 with the reasons; with `period`, a partial refusal granting that period
    /// only). The SED goes to the requesting institution through [`AccessPoint::reply`], so the
    /// BUC decides whether it may be sent now (once per A001).
    pub async fn answer_exception(&self, case_id: &str, answer: &ExceptionAnswer, actor: &str, now: i64) -> Result<String, ApiError> {
        use esspass_eessi::blocks::{DocumentRef, Period};
        use esspass_eessi::sed::{A002, A011, RefusalKind};
        use esspass_eessi::{Sed, SedType};
        let received = self.store.inbox_of_case(case_id).await?;
        let request = received
            .iter()
            .filter(|m| m.sed_type == "A001")
            .filter_map(|m| CompactJws::parse(&m.body).ok().and_then(|jws| self.message_in(&jws).ok()))
            .last()
            .ok_or_else(|| ApiError::new(404, ErrorCode::EessiCaseNotFound, "no request for an exception (A001) was received in this case"))?;
        let Sed::A001(a) = &request.sed else { return Err(ApiError::new(500, ErrorCode::Internal, "not an A001")) };
        let answers = DocumentRef::new(SedType::A001, request.envelope.document_id.clone());
        let period = match answer.period {
            Some((start, end)) => {
                let inside = start >= a.requested_period.start_date && a.requested_period.end_date.is_none_or(|e| end <= e) && start <= end;
                if !inside {
                    return Err(ApiError::new(400, ErrorCode::BadRequest, "the period granted lies within the period requested"));
                }
                Some(Period { start_date: start, end_date: Some(end) })
            }
            None => None,
        };
        let reasons = answer.reasons.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
        let sed = match (answer.agree, period, reasons) {
            (true, period, _) => Sed::A011(A011 { person: a.person.clone(), answers, article: a.article, legislation_country: a.requested_legislation, granted_period: period.unwrap_or_else(|| a.requested_period.clone()), additional_information: None }),
            (false, _, None) => return Err(ApiError::new(400, ErrorCode::BadRequest, "a refusal gives its reasons")),
            (false, period, Some(reasons)) => {
                let decision = if period.is_some() { RefusalKind::OtherPeriod } else { RefusalKind::Refused };
                Sed::A002(A002 { person: a.person.clone(), answers, decision, other_period: period, reasons, additional_information: None })
            }
        };
        let xml = esspass_eessi::encode(&sed, request.envelope.cdm_version).map_err(|p| ApiError::new(400, ErrorCode::EessiSedInvalid, p.0.iter().map(|x| format!("{} {}: {}", x.code, x.path, x.message)).collect::<Vec<_>>().join("; ")))?;
        self.reply(case_id, xml.as_bytes(), Some(&request.envelope.sender.to_string()), actor, now).await
    }

    /// The case owner closes a case: an X001 to every counterparty, queued with the case as it
    /// leaves it and the audit record, all or nothing.
    pub async fn close_case(&self, case_id: &str, reason: esspass_eessi::sed::ClosureReason, explanation: Option<String>, actor: &str, now: i64) -> Result<esspass_store::CaseRow, ApiError> {
        use esspass_eessi::sed::X001;
        use esspass_eessi::{DocumentId, Sed};
        let stored = self.store.case(case_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::EessiCaseNotFound, "no case with this id"))?;
        let mut case = serde_json::from_value::<Case>(stored.body).map_err(|e| ApiError::new(500, ErrorCode::Internal, format!("stored case: {e}")))?;
        let sed = Sed::X001(X001 { reason, explanation });
        let key = short_id(&format!("X001:{case_id}:{}", stored.version));
        let bad = |what: &str| ApiError::new(500, ErrorCode::Internal, format!("X001 {what}"));
        let document_id = DocumentId::parse(&format!("X001-{key}")).ok_or_else(|| bad("document id"))?;
        case.draft_sed(document_id.clone(), &sed, case.counterparties.clone(), at(now)).map_err(buc_refusal)?;
        case.send(&document_id, at(now)).map_err(buc_refusal)?;
        let rows = rows_for_step(self, (&case, stored.version), (&document_id, &sed), &case.counterparties, |i| format!("m-X001-{key}-{i}"), now)?;
        let row = case_row(&case, stored.version, now)?;
        let audit = esspass_store::AuditEntry::new(now, actor, "eessi_case_closed", case_id, "case work", json!({"case": case_id, "messages": rows.iter().map(|r| r.message_id.clone()).collect::<Vec<_>>()}));
        self.store.enqueue_outbox_all(&rows, Some(&audit)).await?;
        Ok(esspass_store::CaseRow { version: stored.version + 1, ..row })
    }
}

impl AccessPoint {
    /// The postings other institutions notified (A009s) in a state — `review` (the case workers'
    /// queue), `information_requested`, `registered` or `rejected` —, with their reasons; who read
    /// them is audited.
    pub async fn postings(&self, state: &str, actor: &str, now: i64) -> Result<Vec<esspass_store::PostingRow>, ApiError> {
        if !["review", "information_requested", "registered", "rejected", "withdrawn"].contains(&state) {
            return Err(ApiError::new(400, ErrorCode::BadRequest, "state is review, information_requested, registered, rejected or withdrawn"));
        }
        let rows = self.store.postings_in(state).await?;
        let cases: Vec<&str> = rows.iter().map(|r| r.case_id.as_str()).collect();
        self.store.append_audit(now, actor, "read_eessi_postings", "eessi postings", "case work", &json!({"state": state, "cases": cases})).await?;
        Ok(rows)
    }

    /// The cases most recently moved (at most `limit`), newest first; who read them is audited.
    pub async fn list_cases(&self, limit: i64, actor: &str, now: i64) -> Result<Vec<esspass_store::CaseRow>, ApiError> {
        let rows = self.store.cases(limit).await?;
        let ids: Vec<&str> = rows.iter().map(|r| r.case_id.as_str()).collect();
        self.store.append_audit(now, actor, "read_eessi_cases", "eessi cases", "case work", &json!({"cases": ids})).await?;
        Ok(rows)
    }

    /// One case with its documents' content: the case (participants, documents and their states,
    /// history) and every message exchanged in it — received ones with the receipt this
    /// institution answered, sent ones with their delivery state — each with its SED as XML. Who
    /// read it is audited (the SEDs carry personal data).
    pub async fn show_case(&self, case_id: &str, actor: &str, now: i64) -> Result<Value, ApiError> {
        let row = self.store.case(case_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::EessiCaseNotFound, "no case with this id"))?;
        let sed_of = |jws: &str| -> Value {
            let Ok(parsed) = CompactJws::parse(jws.trim()) else { return Value::Null };
            match self.message_in(&parsed) {
                Ok(m) => json!({"document_id": m.envelope.document_id.to_string(), "sed_type": m.envelope.sed_type.to_string(), "xml": esspass_eessi::encode(&m.sed, m.envelope.cdm_version).ok()}),
                Err(_) => Value::Null,
            }
        };
        let mut messages: Vec<(i64, Value)> = Vec::new();
        for m in self.store.inbox_of_case(case_id).await? {
            messages.push((m.received_at, json!({"direction": "received", "message_id": m.message_id, "from": m.sender, "at": m.received_at, "sed": sed_of(&m.body)})));
        }
        for m in self.store.outbox_of_case(case_id).await? {
            messages.push((m.created_at, json!({"direction": "sent", "message_id": m.message_id, "to": m.receiver, "at": m.created_at, "delivery": {"state": m.state, "attempts": m.attempts, "delivered_at": m.delivered_at, "last_error": m.last_error}, "sed": sed_of(&m.body)})));
        }
        messages.sort_by_key(|(t, _)| *t);
        self.store.append_audit(now, actor, "read_eessi_case", case_id, "case work", &json!({"case": case_id})).await?;
        let mut v = serde_json::to_value(&row).map_err(|e| ApiError::new(500, ErrorCode::Internal, e.to_string()))?;
        if let Some(o) = v.as_object_mut() {
            o.insert("messages".into(), Value::Array(messages.into_iter().map(|(_, m)| m).collect()));
        }
        Ok(v)
    }
}

/// A case worker's answer to an Art 16 request (see [`AccessPoint::answer_exception`]).
#[derive(Debug, Clone)]
pub struct ExceptionAnswer {
    pub agree: bool,
    /// The period granted, within the one requested (agreeing for part of it, or a partial refusal).
    pub period: Option<(Date, Date)>,
    /// Required for a refusal (at most 4000 characters).
    pub reasons: Option<String>,
}

/// What one run of the case timers did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerRun {
    /// X009 reminders queued.
    pub reminders: usize,
    /// Cases closed with an X001.
    pub closed: usize,
}

/// The shortest quiet period after which anything falls due (reminders after 30 days).
const SHORTEST_PERIOD_DAYS: i64 = 30;

impl AccessPoint {
    /// The BUCs' clocks: for every open case quiet for at least the shortest period, the reminders
    /// that fell due (an X009 to each addressee who has not answered a request this institution
    /// sent, 30 days after it — 60 for an A001 — and again after each reminder) and, for a case this
    /// institution owns, the automatic closure (an X001 to every counterparty once the BUC's trigger
    /// and the quiet period have passed). Each step is queued with the case and its audit record;
    /// ids derive from the case's state, so two processes running the timers queue a step once.
    pub async fn run_case_timers(&self, now: i64) -> TimerRun {
        let mut run = TimerRun::default();
        let before = now - SHORTEST_PERIOD_DAYS * 86_400;
        let mut cursor = (i64::MIN, String::new());
        loop {
            let page = match self.store.quiet_open_cases(before, (cursor.0, &cursor.1), 200).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(target: "esspass::eessi", error = %e, "case timers: cases not read");
                    return run;
                }
            };
            let Some(last) = page.last() else { return run };
            cursor = (last.updated_at, last.case_id.clone());
            let full = page.len() == 200;
            for stored in page {
                let Ok(case) = serde_json::from_value::<Case>(stored.body.clone()) else { continue };
                if let Some(closure) = case.due_closure(at(now)) {
                    let explanation = Some(format!("closed automatically: the BUC's period after document {} has passed", closure.trigger));
                    match self.close_case(&stored.case_id, esspass_eessi::sed::ClosureReason::CaseHandled, explanation, "eessi-timer", now).await {
                        Ok(_) => run.closed += 1,
                        Err(e) => tracing::warn!(target: "esspass::eessi", code = e.code.code(), "case timers: a due closure was not queued"),
                    }
                    continue;
                }
                for due in case.due_reminders(at(now)) {
                    match self.remind(&stored.case_id, &due, now).await {
                        Ok(n) => run.reminders += n,
                        Err(e) => tracing::warn!(target: "esspass::eessi", code = e.code.code(), "case timers: a due reminder was not queued"),
                    }
                }
            }
            if !full {
                return run;
            }
        }
    }

    /// An X009 about one request to each addressee who has not answered it, each queued with the
    /// case as it leaves it and the audit record.
    async fn remind(&self, case_id: &str, due: &esspass_eessi::buc::DueReminder, now: i64) -> Result<usize, ApiError> {
        use esspass_eessi::sed::X009;
        use esspass_eessi::{DocumentId, Envelope, MessageId, Sed, SedType};
        let mut sent = 0;
        for to in &due.recipients {
            let stored = self.store.case(case_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::EessiCaseNotFound, "no case with this id"))?;
            let case = serde_json::from_value::<Case>(stored.body).map_err(|e| ApiError::new(500, ErrorCode::Internal, format!("stored case: {e}")))?;
            let key = short_id(&format!("X009:{case_id}:{}:{to}:{}", due.document.id, due.due_since.unix_timestamp()));
            let bad = |what: &str| ApiError::new(500, ErrorCode::Internal, format!("X009 {what}"));
            let message = Message {
                envelope: Envelope {
                    sender: case.me.clone(),
                    receiver: to.clone(),
                    sed_type: SedType::X009,
                    cdm_version: case.cdm,
                    document_id: DocumentId::parse(&format!("X009-{key}")).ok_or_else(|| bad("document id"))?,
                    case_id: case.id.clone(),
                    buc_type: case.buc,
                    message_id: MessageId::parse(&format!("m-X009-{key}")).ok_or_else(|| bad("message id"))?,
                    created_at: at(now),
                },
                sed: Sed::X009(X009 { reminds_of: vec![due.document.clone()], reply_by: None, explanation: Some(format!("no answer to {} {} since {}", due.document.sed_type, due.document.id, Date::of_instant(due.due_since))) }),
            };
            let mut row = self.prepare(&message, now)?;
            self.attach_case(&mut row, &message, now).await?;
            let audit = esspass_store::AuditEntry::new(now, "eessi-timer", "eessi_reminder_sent", case_id, "case work", json!({"case": case_id, "message_id": row.message_id, "reminds_of": due.document.id.to_string(), "to": to.to_string()}));
            match self.store.enqueue_outbox_all(std::slice::from_ref(&row), Some(&audit)).await {
                Ok(()) => sent += 1,
                Err(esspass_store::StoreError::Duplicate(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(sent)
    }
}

/// A case worker's decision on a posting under review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostingDecision {
    /// Register the posting as notified (LA_BUC_04 has no acceptance SED: nothing is sent).
    Register,
    /// Refuse it: an X011 rejecting the A009 goes back to the sender in the same case.
    Reject { reason: esspass_eessi::sed::RejectionReason, explanation: Option<String> },
    /// Ask the sender for more information first: an A005 with the questions goes back in the same
    /// case; the posting waits (`information_requested`) and returns to review when the A006 arrives.
    Ask { questions: Vec<String> },
}

impl PostingDecision {
    /// The longest explanation sent with an X011.
    const MAX_EXPLANATION: usize = 500;

    /// A decision as a case worker states it: `register`, or `reject` with a reason and, for the
    /// reason `other`, an explanation (at most 500 characters).
    pub fn new(decision: &str, reason: Option<&str>, explanation: Option<&str>) -> Result<Self, ApiError> {
        Self::with_questions(decision, reason, explanation, &[])
    }

    /// As [`PostingDecision::new`], and `ask` with 1 to 10 questions (each at most 500 characters).
    pub fn with_questions(decision: &str, reason: Option<&str>, explanation: Option<&str>, questions: &[String]) -> Result<Self, ApiError> {
        use esspass_eessi::sed::RejectionReason;
        match decision {
            "register" => Ok(Self::Register),
            "ask" => {
                let questions: Vec<String> = questions.iter().map(|q| q.trim().to_owned()).filter(|q| !q.is_empty()).collect();
                if questions.is_empty() || questions.len() > 10 || questions.iter().any(|q| q.chars().count() > Self::MAX_EXPLANATION) {
                    return Err(ApiError::new(400, ErrorCode::BadRequest, format!("ask needs 1 to 10 questions of at most {} characters", Self::MAX_EXPLANATION)));
                }
                Ok(Self::Ask { questions })
            }
            "reject" => {
                let reason = reason.and_then(RejectionReason::parse).ok_or_else(|| ApiError::new(400, ErrorCode::BadRequest, "reason is not_competent, unknown_person, wrong_person, incomplete or other"))?;
                let explanation = explanation.map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned);
                if reason == RejectionReason::Other && explanation.is_none() {
                    return Err(ApiError::new(400, ErrorCode::BadRequest, "the reason other needs an explanation"));
                }
                if explanation.as_ref().is_some_and(|e| e.chars().count() > Self::MAX_EXPLANATION) {
                    return Err(ApiError::new(400, ErrorCode::BadRequest, format!("the explanation is longer than {} characters", Self::MAX_EXPLANATION)));
                }
                Ok(Self::Reject { reason, explanation })
            }
            _ => Err(ApiError::new(400, ErrorCode::BadRequest, "decision is register, reject or ask")),
        }
    }
}

impl AccessPoint {
    /// A case worker decides a posting under review: registered, or rejected with an X011 to the
    /// sending institution queued in the same transaction as the decision and its audit record.
    pub async fn decide_posting(&self, message_id: &str, decision: &PostingDecision, actor: &str, now: i64) -> Result<esspass_store::PostingRow, ApiError> {
        use esspass_eessi::blocks::DocumentRef;
        use esspass_eessi::sed::X011;
        use esspass_eessi::{DocumentId, Envelope, MessageId, Sed, SedType};
        let posting = self.store.posting(message_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::EessiPostingNotFound, "no posting was notified with this message id"))?;
        if posting.state != "review" {
            return Err(ApiError::new(409, ErrorCode::EessiPostingDecided, format!("the posting is {}", posting.state)));
        }
        // The answer goes back in the A009's case, to its sender.
        let answer = async |sed_type: SedType, sed: &(dyn Fn(&Message) -> Option<Sed> + Sync)| -> Result<OutboxRow, ApiError> {
            let received = self.store.inbox_message(message_id).await?.ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "the posting's message is not in the inbox"))?;
            let a009 = CompactJws::parse(&received.body).ok().and_then(|jws| self.message_in(&jws).ok()).ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "the posting's message does not decode"))?;
            let env = &a009.envelope;
            let key = short_id(&format!("{sed_type}:{message_id}:{}", posting.decided_at.unwrap_or(now)));
            let bad = |what: &str| ApiError::new(500, ErrorCode::Internal, format!("{sed_type} {what}"));
            let message = Message {
                envelope: Envelope {
                    sender: env.receiver.clone(),
                    receiver: env.sender.clone(),
                    sed_type,
                    cdm_version: env.cdm_version,
                    document_id: DocumentId::parse(&format!("{sed_type}-{key}")).ok_or_else(|| bad("document id"))?,
                    case_id: env.case_id.clone(),
                    buc_type: env.buc_type,
                    message_id: MessageId::parse(&format!("m-{sed_type}-{key}")).ok_or_else(|| bad("message id"))?,
                    created_at: at(now),
                },
                sed: sed(&a009).ok_or_else(|| bad("answers no A009"))?,
            };
            let mut row = self.prepare(&message, now)?;
            self.attach_case(&mut row, &message, now).await?;
            Ok(row)
        };
        let (state, send) = match decision {
            PostingDecision::Register => ("registered", None),
            PostingDecision::Reject { reason, explanation } => {
                let x011 = |m: &Message| Some(Sed::X011(X011 { rejects: DocumentRef::new(SedType::A009, m.envelope.document_id.clone()), reason: *reason, explanation: explanation.clone() }));
                ("rejected", Some(answer(SedType::X011, &x011).await?))
            }
            PostingDecision::Ask { questions } => {
                let a005 = |m: &Message| match &m.sed {
                    Sed::A009(a) => Some(Sed::A005(esspass_eessi::sed::A005 { person: a.person.clone(), question: questions.clone(), reply_by: None, additional_information: None })),
                    _ => None,
                };
                ("information_requested", Some(answer(SedType::A005, &a005).await?))
            }
        };
        let details = json!({"message_id": message_id, "decision": state, "sent": send.as_ref().map(|m| m.message_id.clone())});
        let audit = esspass_store::AuditEntry::new(now, actor, "eessi_posting_decided", &posting.case_id, "case work", details);
        if !self.store.decide_posting(message_id, state, actor, now, send.as_ref(), &audit).await? {
            return Err(ApiError::new(409, ErrorCode::EessiPostingDecided, "the posting was decided meanwhile"));
        }
        self.store.posting(message_id).await?.ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "posting vanished"))
    }
}

impl AccessPoint {
    /// An incoming A009 as a posting: registered automatically unless a check fires — the period
    /// is open-ended or longer than 24 months, starts more than a year ahead, overlaps a posting
    /// already notified for the person, names this institution's own state as the legislation
    /// state, has no work place in this state, or comes from an institution the repository does not
    /// list as case owner of LA_BUC_04 — then it waits for a case worker with the reasons.
    async fn posting_of(&self, row: &InboxRow, a: &esspass_eessi::sed::A009, now: i64) -> Result<esspass_store::PostingRow, ApiError> {
        let today = Date::of_instant(at(now));
        let (own_country, sender_country, sender_competent) = {
            let repo = self.repository.read().map_err(|_| ApiError::new(500, ErrorCode::Internal, "lock"))?;
            let own = repo.institution(&self.institution_id).map(|e| e.country);
            let sender = repo.institution(&row.sender);
            (own, sender.map(|e| e.country), sender.is_some_and(|e| e.handles("LA_BUC_04", BucRole::CaseOwner, today)))
        };
        let legislation = a.decision.legislation_country;
        let period = &a.decision.period;
        // The person is known by the sending state's PIN (the one its institutions use every time).
        let pin = a.person.pin.iter().find(|p| Some(p.country) == sender_country).or_else(|| a.person.pin.first());
        let key_source = match pin {
            Some(p) => format!("pin:{}:{}", p.country.iso(), p.identifier.trim()),
            None => format!("person:{}|{}|{}", crate::authorize::matching::fold_name(&a.person.family_name), crate::authorize::matching::fold_name(&a.person.forename), a.person.birth_date),
        };
        let person_key = self.store.keyed(&key_source)?;
        let mut reasons = Vec::new();
        match period.end_date {
            None => reasons.push("open_ended: the posting has no end date".to_owned()),
            Some(end) if period.start_date.add_months(24).is_some_and(|limit| end >= limit) => reasons.push(format!("over_24_months: {} to {end} is longer than 24 months (Art 12)", period.start_date)),
            Some(_) => {}
        }
        if today.add_months(12).is_some_and(|limit| period.start_date > limit) {
            reasons.push(format!("start_over_a_year_ahead: the posting starts on {}", period.start_date));
        }
        if Some(legislation) == own_country {
            reasons.push(format!("own_state_as_legislation: the A009 names {} (this institution's state) as the legislation state", legislation.iso()));
        }
        if let Some(own) = own_country
            && !a.work_place.is_empty()
            && !a.work_place.iter().any(|w| w.country == own)
        {
            reasons.push(format!("not_host: no work place in {}", own.iso()));
        }
        if !sender_competent {
            reasons.push(format!("sender_not_competent: {} is not listed as case owner of LA_BUC_04", row.sender));
        }
        let overlaps = |start: &str, end: Option<&str>| {
            let (Some(s), e) = (Date::parse(start), end.and_then(Date::parse)) else { return false };
            let ends_after_start = e.is_none_or(|e| e >= period.start_date);
            let starts_before_end = period.end_date.is_none_or(|pe| s <= pe);
            ends_after_start && starts_before_end
        };
        let overlapping: Vec<esspass_store::PostingRow> = self.store.postings_of(&person_key).await?.into_iter().filter(|o| o.message_id != row.message_id && !["withdrawn", "rejected"].contains(&o.state.as_str()) && overlaps(&o.start_date, o.end_date.as_deref())).collect();
        if let Some(first) = overlapping.first() {
            let more = if overlapping.len() > 1 { format!(" and {} more", overlapping.len() - 1) } else { String::new() };
            reasons.push(format!("overlap: overlaps the posting of case {} notified by {}{more}", first.case_id, first.sender));
        }
        Ok(esspass_store::PostingRow {
            message_id: row.message_id.clone(),
            sender: row.sender.clone(),
            case_id: row.case_id.clone(),
            person_key,
            legislation: legislation.iso().to_owned(),
            start_date: period.start_date.to_string(),
            end_date: period.end_date.map(|d| d.to_string()),
            state: if reasons.is_empty() { "registered" } else { "review" }.into(),
            reasons,
            received_at: now,
            decided_by: None,
            decided_at: None,
        })
    }
}

pub(crate) fn at(now: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// A step the BUC does not allow, refused with the rule it breaks.
fn buc_refusal(e: esspass_eessi::BucError) -> ApiError {
    ApiError::new(409, ErrorCode::EessiBucRule, format!("{}: {}", e.rule(), e.message))
}

/// A case as stored: its id, BUC, owner and status beside the whole case.
fn case_row(case: &Case, version: i64, now: i64) -> Result<esspass_store::CaseRow, ApiError> {
    let body = serde_json::to_value(case).map_err(|e| ApiError::new(500, ErrorCode::Internal, format!("case: {e}")))?;
    let status = serde_json::to_value(case.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    Ok(esspass_store::CaseRow { case_id: case.id.to_string(), buc: case.buc.to_string(), owner: case.owner.to_string(), status, body, version, updated_at: now })
}

/// A short stable key (20 letters and digits) for the document and message ids a message derives
/// from `seed`, so that the same business event never queues two messages.
fn short_id(seed: &str) -> String {
    b64::encode(esspass_credential::sha256(seed.as_bytes())).chars().filter(char::is_ascii_alphanumeric).take(20).collect()
}

/// The stable ids of an application's LA_BUC_04 case: a short key for document and message ids,
/// and the case id.
fn ids_of(institution_id: &str, application_id: &str) -> (String, String) {
    let short = short_id(&format!("A009:{institution_id}:{application_id}"));
    let digits: String = esspass_credential::sha256(application_id.as_bytes()).iter().take(8).map(|b| char::from(b'0' + b % 10)).collect();
    (short, digits)
}

/// The X008s a withdrawn (revoked) PDA1 sends: in the case its issuance opened, one to each
/// institution its notification (the A009 or the A003s) went to, invalidating it. `None` when the
/// issuance notified nobody (no case for its application).
pub async fn x008_for(ap: &AccessPoint, cred: &esspass_store::CredentialRow, reason: Option<&str>, now: i64) -> Option<Result<Vec<OutboxRow>, String>> {
    use esspass_eessi::blocks::DocumentRef;
    use esspass_eessi::sed::{InvalidationReason, X008};
    use esspass_eessi::{DocumentId, Sed, SedType};
    let application_id = cred.application_id.as_deref()?;
    let (short, digits) = ids_of(&ap.institution_id, application_id);
    let stored = ap.store.case(&digits).await.ok().flatten()?;
    let run = || -> Result<Vec<OutboxRow>, String> {
        let mut case = serde_json::from_value::<Case>(stored.body.clone()).map_err(|e| format!("stored case: {e}"))?;
        let notified = case.documents.iter().find(|d| d.sender == case.me && matches!(d.sed_type, SedType::A009 | SedType::A003)).cloned().ok_or("the case holds no notification")?;
        let explanation = format!("The Portable Document A1 was withdrawn{}.", reason.map(|r| format!(": {}", r.chars().take(400).collect::<String>())).unwrap_or_default());
        let sed = Sed::X008(X008 { invalidates: DocumentRef::new(notified.sed_type, notified.id.clone()), reason: InvalidationReason::Other, explanation: Some(explanation) });
        let document_id = DocumentId::parse(&format!("X008-{short}")).ok_or("document id")?;
        case.draft_sed(document_id.clone(), &sed, notified.recipients.clone(), at(now)).map_err(|e| e.to_string())?;
        case.send(&document_id, at(now)).map_err(|e| e.to_string())?;
        // The first message id stays what it was before X008s went to several institutions.
        let message_id = |i: usize| if i == 0 { format!("m-X008-{short}") } else { format!("m-X008-{short}-{i}") };
        rows_for_step(ap, (&case, stored.version), (&document_id, &sed), &notified.recipients, message_id, now).map_err(as_text)
    };
    Some(run())
}

/// What a PDA1 tells the other states concerned, written with the credential in one transaction:
/// under Art 12 the A009 to the host state's competent institution (LA_BUC_04); under Art 13 an A003
/// to the competent institution of every other state of work (LA_BUC_02, one case, one document to
/// each). Built from the decided application, the person's record and the PDA1's claims. `None` when
/// the decision is under another article or names no other state; an error when a state has no
/// institution in the BUC in the Institution Repository or the SED does not validate.
pub fn notification_for(ap: &AccessPoint, app: &esspass_store::ApplicationRow, person: &esspass_store::Person, claims: &Value, now: i64) -> Option<Result<Vec<OutboxRow>, String>> {
    use esspass_eessi::blocks::{Article, Decision, Period};
    use esspass_eessi::sed::{A003, A009};
    use esspass_eessi::{BucType, Sed, SedType};
    let fin = app.final_decision.as_ref()?;
    let article_text = fin.get("article").and_then(Value::as_str).unwrap_or_default();
    // The rules engine's citation (883/2004, or the TCA citing it) to the SED's article.
    let article = [
        ("Art 12(1)", Article::Art12_1),
        ("SSC.11(1)", Article::Art12_1),
        ("Art 12(2)", Article::Art12_2),
        ("SSC.11(2)", Article::Art12_2),
        ("Art 13(1)(a)", Article::Art13_1A),
        ("Art 13(1)(b)(i)", Article::Art13_1BI),
        ("Art 13(1)(b)(ii)", Article::Art13_1BIi),
        ("Art 13(1)(b)(iii)", Article::Art13_1BIii),
        ("Art 13(1)(b)(iv)", Article::Art13_1BIv),
        ("Art 13(2)(a)", Article::Art13_2A),
        ("Art 13(2)(b)", Article::Art13_2B),
        ("Art 13(3)", Article::Art13_3),
        ("Art 13(4)", Article::Art13_4),
    ]
    .into_iter()
    .find(|(text, _)| article_text.contains(text))
    .map(|(_, a)| a)?;
    let posting = matches!(article, Article::Art12_1 | Article::Art12_2);
    let country = |v: Option<&Value>| v.and_then(Value::as_str).and_then(esspass_core::Country::parse);
    let date = |v: Option<&Value>| v.and_then(Value::as_str).and_then(Date::parse);
    let legislation = country(claims.get("legislation_country"))?;
    let addresses: Vec<&Value> = claims.pointer("/work_information/work_address").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    let mut others: Vec<esspass_core::Country> = addresses.iter().filter_map(|a| country(a.get("country"))).chain(country(claims.pointer("/work_information/no_fixed_place_of_work"))).filter(|c| *c != legislation).collect();
    others.dedup();
    if posting {
        others.truncate(1);
    }
    if others.is_empty() {
        return None;
    }
    let buc = if posting { "LA_BUC_04" } else { "LA_BUC_02" };
    let run = || -> Result<Vec<OutboxRow>, String> {
        let receivers = others
            .iter()
            .map(|c| ap.competent(*c, buc, now).and_then(|id| esspass_core::InstitutionId::parse(&id)).ok_or_else(|| format!("no institution of {} takes part in {buc} in the Institution Repository", c.iso())))
            .collect::<Result<Vec<_>, _>>()?;
        let inst_id = esspass_core::InstitutionId::parse(&ap.institution_id).ok_or("institution id")?;
        let SedParts { person, employer, self_employment, work_place } = sed_parts(claims, person, legislation, &inst_id)?;
        let start = date(claims.get("starting_date")).ok_or("the PDA1 has no starting date")?;
        let end = date(claims.get("ending_date"));
        let decision = Decision { legislation_country: legislation, period: Period { start_date: start, end_date: end }, for_duration_of_activity: false, is_change: false, previous_decision_date: None };
        let (sed_type, buc_type, sed) = if posting {
            (SedType::A009, BucType::LaBuc04, Sed::A009(A009 { person, employer, self_employment, work_place, article, decision, additional_information: None }))
        } else {
            (SedType::A003, BucType::LaBuc02, Sed::A003(A003 { person, employer, self_employment, work_place, other_state_employer: vec![], article, decision, provisional: false, marginal_activity: None, additional_information: None }))
        };
        // One notification per application: its ids derive from the application, so a second
        // issuance of the same PDA1 queues nothing new (the outbox keeps a message id once).
        let (short, digits) = ids_of(&ap.institution_id, &app.application_id);
        // The A009's message id stays what it was before A003s existed (the X008 finds it). The
        // notification opens its case (a second issuance queues nothing, so writes no case).
        let message_id = |i: usize| if posting { format!("m-{sed_type}-{short}") } else { format!("m-{sed_type}-{short}-{i}") };
        open_case_sending(ap, buc_type, &sed, receivers, (&short, &digits), message_id, now)
    };
    Some(run())
}

/// The outbox rows of a document just sent in `case` (drafted and marked sent by the caller): one
/// message to each receiver, ids from `message_id(i)`, signed and routed; the first row carries the
/// case as the step leaves it (`version`: as read, 0 for a new case).
fn rows_for_step(ap: &AccessPoint, (case, version): (&Case, i64), (document_id, sed): (&esspass_eessi::DocumentId, &esspass_eessi::Sed), receivers: &[esspass_core::InstitutionId], message_id: impl Fn(usize) -> String, now: i64) -> Result<Vec<OutboxRow>, ApiError> {
    use esspass_eessi::{Envelope, MessageId};
    let mut rows = Vec::with_capacity(receivers.len());
    for (i, receiver) in receivers.iter().enumerate() {
        let id = message_id(i);
        let message = Message {
            envelope: Envelope { sender: case.me.clone(), receiver: receiver.clone(), sed_type: sed.sed_type(), cdm_version: case.cdm, document_id: document_id.clone(), case_id: case.id.clone(), buc_type: case.buc, message_id: MessageId::parse(&id).ok_or_else(|| ApiError::new(500, ErrorCode::Internal, format!("message id {id}")))?, created_at: at(now) },
            sed: sed.clone(),
        };
        rows.push(ap.prepare(&message, now)?);
    }
    if let Some(first) = rows.first_mut() {
        first.case = Some(case_row(case, version, now)?);
    }
    Ok(rows)
}

/// An [`ApiError`] as the text the notification builders report.
fn as_text(e: ApiError) -> String {
    format!("{} {}", e.code.code(), e.detail)
}

/// The case a starting message opens, with this institution (its sender) as owner.
fn opened_case(message: &Message, now: i64) -> Result<esspass_store::CaseRow, ApiError> {
    let env = &message.envelope;
    let mut case = Case::open(env.case_id.clone(), env.buc_type, env.cdm_version, env.sender.clone(), vec![env.receiver.clone()], at(now)).map_err(buc_refusal)?;
    case.draft_sed(env.document_id.clone(), &message.sed, vec![env.receiver.clone()], at(now)).map_err(buc_refusal)?;
    case.send(&env.document_id, at(now)).map_err(buc_refusal)?;
    case_row(&case, 0, now)
}

/// The EESSI messages a credential status change causes: the X008s of a revoked PDA1 whose issuance
/// notified other states. A message that cannot be made is logged; the change goes ahead.
pub async fn notice_for_status_change(ap: Option<&AccessPoint>, cred: &esspass_store::CredentialRow, state: esspass_store::CredentialState, reason: Option<&str>, now: i64) -> Vec<OutboxRow> {
    if state != esspass_store::CredentialState::Revoked || cred.vct != esspass_core::CredentialType::Pda1.vct() {
        return vec![];
    }
    let Some(ap) = ap else { return vec![] };
    match x008_for(ap, cred, reason, now).await {
        None => vec![],
        Some(Ok(rows)) => rows,
        Some(Err(_)) => {
            // The reason may quote the SED's content: not logged.
            tracing::warn!(target: "esspass::eessi", "X008 not sent");
            vec![]
        }
    }
}

/// The blocks every legislation SED built from a PDA1's claims (or an application's, shaped
/// alike) carries: the person (with the PIN this institution knows, of `pin_country`), the
/// employers and self-employed activities, the places of work.
struct SedParts {
    person: esspass_eessi::blocks::Person,
    employer: Vec<esspass_eessi::blocks::Employer>,
    self_employment: Vec<esspass_eessi::blocks::Employer>,
    work_place: Vec<esspass_eessi::blocks::WorkPlace>,
}

fn sed_parts(claims: &Value, person: &esspass_store::Person, pin_country: esspass_core::Country, inst_id: &esspass_core::InstitutionId) -> Result<SedParts, String> {
    use esspass_eessi::blocks::{Address, Employer, EmployerIdentifier, IdentifierType, InstitutionRef, Person, Pin, WorkPlace};
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let country = |v: Option<&Value>| v.and_then(Value::as_str).and_then(esspass_core::Country::parse);
    let address = |c| Address { address_type: None, street: None, building: None, town: None, postal_code: None, region: None, country: c };
    let employers_of = |kind: &str| -> Vec<Employer> {
        claims
            .get("employer")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|e| e.get("type").and_then(Value::as_str) == Some(kind))
            .map(|e| Employer {
                name: text(e.get("name")).unwrap_or_default(),
                identifier: if kind == "01" { text(e.get("id")).map(|id| EmployerIdentifier { id_type: IdentifierType::Registration, id }).into_iter().collect() } else { vec![] },
                address: country(e.get("country")).map(address),
            })
            .collect()
    };
    let work_place: Vec<WorkPlace> = claims
        .pointer("/work_information/work_address")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let c = country(a.get("country"))?;
            Some(WorkPlace {
                country: c,
                name: text(a.get("company_name")),
                no_fixed_address: false,
                address: Some(Address { address_type: None, street: text(a.get("street_address")), building: text(a.get("house_number")), town: text(a.get("locality")), postal_code: text(a.get("postal_code")), region: text(a.get("region")), country: c }),
                home_base: text(a.get("flag_base_home")),
            })
        })
        .collect();
    let person = Person {
        family_name: person.family_name.clone(),
        forename: person.given_name.clone(),
        family_name_at_birth: None,
        forename_at_birth: None,
        birth_date: Date::parse(&person.birth_date).ok_or("the person's birth date")?,
        sex: None,
        nationality: person.nationality.as_deref().and_then(esspass_core::Country::parse).into_iter().collect(),
        pin: vec![Pin { country: pin_country, identifier: person.personal_number.clone(), sector: None, institution: Some(InstitutionRef { id: inst_id.clone(), name: None }) }],
        place_of_birth: None,
        address: vec![],
    };
    Ok(SedParts { person, employer: employers_of("01"), self_employment: employers_of("02"), work_place })
}

/// The ids a new case and its first document take from a seed: a short key for document and
/// message ids, and the case id (8 digits).
fn seeded_ids(ap: &AccessPoint, sed_type: esspass_eessi::SedType, seed: &str) -> (String, String) {
    let short = short_id(&format!("{sed_type}:{}:{seed}", ap.institution_id));
    let digits: String = esspass_credential::sha256(format!("{sed_type}:{seed}").as_bytes()).iter().take(8).map(|b| char::from(b'0' + b % 10)).collect();
    (short, digits)
}

/// A new case `case_id` owned by this institution, its starting SED (document `{SED}-{short}`)
/// drafted and sent to `receivers`, one outbox row per receiver (ids from `message_id(i)`); the
/// first row carries the new case.
fn open_case_sending(ap: &AccessPoint, buc: esspass_eessi::BucType, sed: &esspass_eessi::Sed, receivers: Vec<esspass_core::InstitutionId>, (short, case_id): (&str, &str), message_id: impl Fn(usize) -> String, now: i64) -> Result<Vec<OutboxRow>, String> {
    use esspass_eessi::{CaseId, CdmVersion, DocumentId};
    let inst_id = esspass_core::InstitutionId::parse(&ap.institution_id).ok_or("institution id")?;
    let document_id = DocumentId::parse(&format!("{}-{short}", sed.sed_type())).ok_or("document id")?;
    let case_id = CaseId::parse(case_id).ok_or("case id")?;
    let mut case = Case::open(case_id, buc, CdmVersion::V4_2, inst_id, receivers.clone(), at(now)).map_err(|e| e.to_string())?;
    case.draft_sed(document_id.clone(), sed, receivers.clone(), at(now)).map_err(|e| e.to_string())?;
    case.send(&document_id, at(now)).map_err(|e| e.to_string())?;
    rows_for_step(ap, (&case, 0), (&document_id, sed), &receivers, message_id, now).map_err(as_text)
}

/// An Art 16(1)/(2) exception request (987/2009 Art 18): an A001 in a new LA_BUC_01 case to the
/// competent institution of each state in `states` (whose legislation would otherwise apply),
/// asking that this institution's state's legislation apply for the period the case worker
/// approved. `claims` is the PDA1 the agreement would allow (its period, employers, places of
/// work). The outbox rows (first one opening the case) and the case id.
pub fn exception_request_for(ap: &AccessPoint, app: &esspass_store::ApplicationRow, person: &esspass_store::Person, claims: &Value, states: &[esspass_core::Country], now: i64) -> Result<(Vec<OutboxRow>, String), String> {
    use esspass_eessi::blocks::{Article, Period};
    use esspass_eessi::sed::A001;
    use esspass_eessi::{BucType, Sed};
    let country = |v: Option<&Value>| v.and_then(Value::as_str).and_then(esspass_core::Country::parse);
    let date = |v: Option<&Value>| v.and_then(Value::as_str).and_then(Date::parse);
    let requested = country(claims.get("legislation_country")).ok_or("the decision names no legislation")?;
    let receivers = states
        .iter()
        .map(|c| ap.competent(*c, "LA_BUC_01", now).and_then(|id| esspass_core::InstitutionId::parse(&id)).ok_or_else(|| format!("no institution of {} takes part in LA_BUC_01 in the Institution Repository", c.iso())))
        .collect::<Result<Vec<_>, _>>()?;
    if receivers.is_empty() {
        return Err("no other state concerned to ask for the exception".into());
    }
    let inst_id = esspass_core::InstitutionId::parse(&ap.institution_id).ok_or("institution id")?;
    let SedParts { person, employer, self_employment, work_place } = sed_parts(claims, person, requested, &inst_id)?;
    let start = date(claims.get("starting_date")).ok_or("no starting date")?;
    let end = date(claims.get("ending_date")).ok_or("an exception is asked for a period with an end")?;
    let fin = app.final_decision.as_ref();
    let article = if fin.and_then(|f| f.get("article")).and_then(Value::as_str).is_some_and(|a| a.contains("16(2)")) { Article::Art16_2 } else { Article::Art16_1 };
    let grounds = app.input.pointer("/application/exception_request/grounds").and_then(Value::as_str).map(str::trim).filter(|g| !g.is_empty());
    let reasons: String = grounds.map_or_else(|| "request for an exception under Art 16 of Regulation (EC) No 883/2004 made by the employer or the person concerned".to_owned(), str::to_owned).chars().take(500).collect();
    let sed = Sed::A001(A001 {
        person,
        employer,
        self_employment,
        work_place,
        host_employer: vec![],
        current_legislation: states.to_vec(),
        requested_legislation: requested,
        article,
        requested_period: Period { start_date: start, end_date: Some(end) },
        previous_period: vec![],
        insured_since: None,
        contract_start: None,
        is_change: false,
        previous_request_date: None,
        special_circumstances: None,
        reasons,
        additional_information: None,
    });
    let (short, case_id) = seeded_ids(ap, esspass_eessi::SedType::A001, &format!("{}:{now}", app.application_id));
    let rows = open_case_sending(ap, BucType::LaBuc01, &sed, receivers, (&short, &case_id), |i| format!("m-A001-{short}-{i}"), now)?;
    Ok((rows, case_id))
}

/// What an answer to an Art 16 request changes of the application waiting on its case: an A011
/// (acceptance) or an A002 granting another period records that state's agreement, and once every
/// state asked has agreed the application is `approved` for the period all agreed (the
/// intersection); an A002 refusing it sends the application back to the case workers with the
/// refusal's reasons (the ordinary rules then decide). `None` for any other SED.
pub fn agreement_effect(app: &esspass_store::ApplicationRow, message: &Message, sender_country: esspass_core::Country, now: i64) -> Option<esspass_store::ApplicationUpdate> {
    use esspass_eessi::Sed;
    use esspass_eessi::sed::RefusalKind;
    let fin = app.final_decision.clone()?;
    let env = &message.envelope;
    let reference = format!("{} {}", env.case_id, env.document_id);
    let today = Date::of_instant(at(now)).to_string();
    let requested = fin.get("legislation_country").and_then(Value::as_str).and_then(esspass_core::Country::parse);
    let (granted, sed_name, refusal) = match &message.sed {
        // An acceptance of another state's legislation than the one asked for agrees to nothing
        // asked: the case worker looks at it.
        Sed::A011(a) if Some(a.legislation_country) != requested => (
            None,
            "A011",
            Some(format!("its A011 accepts the legislation of {}, not of {} as asked", a.legislation_country.iso(), requested.map_or_else(|| "?".to_owned(), |c| c.iso().to_owned()))),
        ),
        Sed::A011(a) => (Some(a.granted_period.clone()), "A011", None),
        Sed::A002(a) if a.decision == RefusalKind::OtherPeriod => (a.other_period.clone(), "A002", None),
        Sed::A002(a) => (None, "A002", Some(format!("refused: {}", a.reasons))),
        _ => return None,
    };
    let update = |state: &str, final_decision: Option<Value>, note: String| esspass_store::ApplicationUpdate {
        application_id: app.application_id.clone(),
        from_state: app.state.clone(),
        from_final: app.final_decision.clone(),
        state: state.to_owned(),
        final_decision,
        note: match &app.decision_note {
            Some(n) if !n.is_empty() => format!("{n}\n{note}"),
            _ => note,
        },
        at: now,
    };
    if let Some(reasons) = refusal {
        let note = format!("{} did not agree to the Art 16 exception ({sed_name}, {reference}): {reasons}. Back for a decision.", sender_country.iso());
        return Some(update("pending_review", None, note));
    }
    let granted = granted?;
    let mut f = fin;
    let waiting: Vec<String> = f.pointer("/awaiting_agreement/states").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default();
    if !waiting.iter().any(|s| s == sender_country.iso()) {
        return None;
    }
    let rest: Vec<String> = waiting.into_iter().filter(|s| s != sender_country.iso()).collect();
    let agreement = json!({"state": sender_country.iso(), "sed": sed_name, "date": today, "reference": reference,
        "period": {"start": granted.start_date.to_string(), "end": granted.end_date.map(|d| d.to_string())}});
    let obj = f.as_object_mut()?;
    let agreements = obj.entry("agreements").or_insert_with(|| json!([]));
    if let Some(a) = agreements.as_array_mut() {
        a.push(agreement.clone());
    }
    // The period is what every state agreed: the requested one narrowed to each grant.
    let narrow = |k: &str, d: Option<Date>, later: bool, o: &mut Map<String, Value>| {
        let cur = o.get(k).and_then(Value::as_str).and_then(Date::parse);
        let pick = match (cur, d) {
            (Some(c), Some(d)) => Some(if later == (d > c) { d } else { c }),
            (c, d) => c.or(d),
        };
        if let Some(p) = pick {
            o.insert(k.into(), json!(p.to_string()));
        }
    };
    narrow("start", Some(granted.start_date), true, obj);
    narrow("end", granted.end_date, false, obj);
    let (start, end) = (obj.get("start").and_then(Value::as_str).and_then(Date::parse), obj.get("end").and_then(Value::as_str).and_then(Date::parse));
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        let note = format!("{} agreed to the exception only for a period that leaves nothing of the one agreed by the others ({sed_name}, {reference}). Back for a decision.", sender_country.iso());
        return Some(update("pending_review", None, note));
    }
    let note = format!("{} agreed to the Art 16 exception ({sed_name}, {reference}) for {} to {}.", sender_country.iso(), granted.start_date, granted.end_date.map(|d| d.to_string()).unwrap_or_default());
    if rest.is_empty() {
        obj.remove("awaiting_agreement");
        obj.insert("agreement".into(), agreement);
        Some(update("approved", Some(f), note))
    } else {
        if let Some(w) = obj.get_mut("awaiting_agreement").and_then(Value::as_object_mut) {
            w.insert("states".into(), json!(rest));
        }
        Some(update("awaiting_agreement", Some(f), note))
    }
}

/// Where an application went: the competent institution it was forwarded to, and the case.
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub rows: Vec<OutboxRow>,
    pub case_id: String,
    pub institution_id: String,
    pub institution_name: String,
}

/// Forward an application this institution is not competent for (883/2004 Art 81: the date it
/// was submitted here counts there) to the competent institution of `to` — the one the Institution
/// Repository lists as case owner of `buc`, the BUC the rules engine names for the decision (that
/// institution opens it) — as an H001 in a new H_BUC_01 case: the person, the application's facts
/// and the engine's result, in words a case worker reads.
pub fn forwarding_for(ap: &AccessPoint, app: &esspass_store::ApplicationRow, person: &esspass_store::Person, own: esspass_core::Country, to: esspass_core::Country, buc: &str, now: i64) -> Result<Forwarded, String> {
    use esspass_eessi::sed::H001;
    use esspass_eessi::{BucType, Sed};
    let today = Date::of_instant(at(now));
    let (institution_id, institution_name) = {
        let repo = ap.repository.read().map_err(|_| "lock".to_owned())?;
        let found = repo.competent(to, buc, BucRole::CaseOwner, today).into_iter().chain(repo.competent(to, "H_BUC_01", BucRole::Counterparty, today)).find(|e| e.handles("H_BUC_01", BucRole::Counterparty, today) || e.handles("H_BUC_01", BucRole::CaseOwner, today));
        let e = found.ok_or_else(|| format!("no institution of {} takes part in {buc} in the Institution Repository", to.iso()))?;
        (e.institution_id.clone(), e.name.clone())
    };
    let receiver = esspass_core::InstitutionId::parse(&institution_id).ok_or("institution id")?;
    let inst_id = esspass_core::InstitutionId::parse(&ap.institution_id).ok_or("institution id")?;
    let claims = json!({"work_information": app.input.get("work_information")});
    let SedParts { person: p, .. } = sed_parts(&claims, person, own, &inst_id)?;
    let rules = app.input.get("application").cloned().unwrap_or(Value::Null);
    let mut facts = Vec::new();
    for a in rules.get("activities").and_then(Value::as_array).into_iter().flatten() {
        let kind = a.get("kind").and_then(Value::as_str).unwrap_or("activity").replace('_', " ");
        let start = a.pointer("/period/start").and_then(Value::as_str).unwrap_or("?");
        let end = a.pointer("/period/end").and_then(Value::as_str).unwrap_or("open-ended");
        let employer = a.get("employer").map(|e| format!(" for {} ({}, seat {})", e.get("name").and_then(Value::as_str).unwrap_or("?"), e.get("id").and_then(Value::as_str).unwrap_or("no id"), e.get("seat").and_then(Value::as_str).unwrap_or("?"))).unwrap_or_default();
        let states: Vec<String> = a.get("states").and_then(Value::as_array).into_iter().flatten().filter_map(|s| s.get("country").and_then(Value::as_str)).map(str::to_owned).collect();
        facts.push(format!("{kind}{employer} from {start} to {end} in {}", states.join(", ")));
    }
    let d = &app.decision;
    let result = format!(
        "The rules of Title II point to the legislation of {} ({}); the deciding institution is in {}.",
        d.get("legislation_country").and_then(Value::as_str).unwrap_or("?"),
        d.get("article").and_then(Value::as_str).unwrap_or("no article"),
        d.get("institution_country").and_then(Value::as_str).unwrap_or(to.iso())
    );
    let residence = rules.pointer("/person/residence").and_then(Value::as_str).unwrap_or("?");
    let information: String = format!(
        "Application {} for a PDA1 was submitted to {} on {}. Under Art 81 of Regulation (EC) No 883/2004 that is its date of submission to your institution. Residence: {residence}. Activities: {}. {result}",
        app.application_id,
        ap.institution_id,
        Date::of_instant(at(app.created_at)),
        facts.join("; ")
    )
    .chars()
    .take(4000)
    .collect();
    let sed = Sed::H001(H001 {
        person: Some(p),
        subject: "Forwarded application: determination of the applicable legislation".into(),
        question: vec![format!("Please determine the applicable legislation and issue the PDA1 ({buc}); this institution is not competent.")],
        information: Some(information),
        reply_by: None,
    });
    let (short, case_id) = seeded_ids(ap, esspass_eessi::SedType::H001, &format!("{}:forward", app.application_id));
    let rows = open_case_sending(ap, BucType::HBuc01, &sed, vec![receiver], (&short, &case_id), |i| format!("m-H001-{short}-{i}"), now)?;
    Ok(Forwarded { rows, case_id, institution_id, institution_name })
}
