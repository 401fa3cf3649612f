//! The verifier's services: open a transaction for a profile, hand the wallet the signed request,
//! take the wallet's answer once, verify it with the credential crate's pipeline, keep the report
//! (only what the profile allows) and sign the verification proof.
//!
//! HTTP handlers call these and nothing else; no rule lives in a handler.

use super::config::{ClientIdPrefix, ProfileConfig, VerifierConfig};
use super::protocol;
use crate::services::issuance::ApiError;
use esspass_core::{Clock, Date, ErrorCode};
use esspass_credential::proof::{DocumentRef, IssuerRef, StatusFound, VerificationProof};
use esspass_credential::status::StatusCache;
use esspass_credential::trust::{TrustedList, VerifierEntry};
use esspass_credential::verify::{Expectation, Outcome, Report, Verifier};
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_credential::{EcdsaP256Signer, b64};
use esspass_store::{AuditEntry, Store, VerificationRow};
use serde_json::{Map, Value, json};
use std::sync::{Arc, RwLock};

/// Everything a verifier node holds.
pub struct VerifierState {
    pub cfg: Arc<VerifierConfig>,
    pub store: Store,
    pub signer: Arc<EcdsaP256Signer>,
    pub chain: Arc<Vec<Vec<u8>>>,
    pub leaf: Certificate,
    /// `x509_hash:…` or `x509_san_dns:…`.
    pub client_id: String,
    pub chains: ChainValidator,
    pub issuers: Arc<RwLock<TrustedList>>,
    /// The credential pipeline with the Issuer Trusted List and the shared status cache.
    pub verifier: RwLock<Arc<Verifier>>,
    pub verifiers: Arc<RwLock<TrustedList>>,
    pub entry: VerifierEntry,
    pub status: Arc<StatusCache>,
    pub clock: Arc<dyn Clock>,
    /// The results' writer: answers are committed in groups (one sync to disk for many), each
    /// acknowledged only once its group is durable.
    pub writer: tokio::sync::mpsc::Sender<(esspass_store::FinishVerification, tokio::sync::oneshot::Sender<Result<bool, String>>)>,
    /// The offline bundle as last loaded, with its manifest's modification time.
    pub bundle: RwLock<Option<(std::time::SystemTime, Arc<esspass_paper::bundle::Bundle>)>>,
    /// Fetches trusted lists given by URL (and status lists).
    pub lists_client: reqwest::Client,
    /// When the trusted lists were last read.
    pub lists_checked: std::sync::atomic::AtomicI64,
    /// The pending transactions this process opened, so that fetching the request and answering
    /// need no database read; the database stays the authority (an answer is accepted only by the
    /// conditional update from `pending`, so another process's answer still wins).
    pub open: PendingCache,
}

/// Pending transactions opened by this process, by id; bounded, expired ones (with their
/// decryption keys) swept every 256 insertions and when full.
#[derive(Debug, Default)]
pub struct PendingCache(std::sync::Mutex<std::collections::HashMap<String, Arc<VerificationRow>>>);

impl PendingCache {
    /// The most transactions held; beyond it new ones are read from the database.
    const MAX: usize = 100_000;

    fn insert(&self, row: VerificationRow, now: i64) {
        let Ok(mut m) = self.0.lock() else { return };
        if m.len() >= Self::MAX || m.len() % 256 == 255 {
            m.retain(|_, r| r.expires_at > now);
            if m.len() >= Self::MAX {
                return;
            }
        }
        m.insert(row.transaction_id.clone(), Arc::new(row));
    }

    fn get(&self, id: &str) -> Option<Arc<VerificationRow>> {
        self.0.lock().ok()?.get(id).cloned()
    }

    fn remove(&self, id: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(id);
        }
    }
}

impl std::fmt::Debug for VerifierState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierState").field("verifier", &self.cfg.verifier.id).field("client_id", &self.client_id).finish()
    }
}

/// A claim path as a dotted string (`issuing_authority.id`, `employer.0`, `work_address.*`).
pub fn path_text(path: &[esspass_credential::type_metadata::Selector]) -> String {
    use esspass_credential::type_metadata::Selector;
    path.iter()
        .map(|s| match s {
            Selector::Key(k) => k.clone(),
            Selector::Index(i) => i.to_string(),
            Selector::AnyElement => "*".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The claim paths of a profile as dotted strings.
fn dotted(p: &ProfileConfig) -> Vec<String> {
    p.claims.iter().map(|path| path_text(path)).collect()
}

/// The client identifier for the leaf certificate and the configured prefix.
pub fn client_id(prefix: ClientIdPrefix, leaf: &Certificate) -> Result<String, String> {
    match prefix {
        ClientIdPrefix::X509Hash => Ok(format!("x509_hash:{}", b64::encode(esspass_credential::sha256(&leaf.der)))),
        ClientIdPrefix::X509SanDns => {
            leaf.san_dns
                .first().map(|d| format!("x509_san_dns:{d}")).ok_or_else(|| "client_id_prefix x509_san_dns needs a dNSName in the request-signing certificate's subjectAltName".to_owned())
        }
    }
}

/// Refuse to start with a profile that asks for more than the verifier's registration allows.
pub fn check_registration(cfg: &VerifierConfig, entry: &VerifierEntry, today: Date) -> Result<(), String> {
    for p in &cfg.profiles {
        if !entry.may_request(p.credential_type.vct(), &p.claims, today) {
            let allowed: Vec<&Vec<esspass_credential::type_metadata::Selector>> = entry.profiles.iter().filter(|r| r.vct == p.credential_type.vct()).flat_map(|r| r.claims.iter()).collect();
            let beyond: Vec<String> = p.claims.iter().filter(|c| !allowed.contains(c)).map(|c| path_text(c)).collect();
            return Err(format!(
                "{} profile {} asks for {} beyond what {} is registered for in the Verifier Trusted List{}",
                ErrorCode::ProfileBeyondRegistration.code(),
                p.name,
                if beyond.is_empty() { "a credential type".to_owned() } else { beyond.join(", ") },
                entry.verifier_id,
                if entry.valid_until.is_some_and(|u| u < today) || entry.valid_from > today { " (the registration is not in force today)" } else { "" }
            ));
        }
    }
    Ok(())
}

/// A new transaction as answered to the verifier's own system.
#[derive(Debug, serde::Serialize)]
pub struct Created {
    pub transaction_id: String,
    /// `openid4vp://?client_id=…&request_uri=…`.
    pub authorization_request: String,
    pub request_uri: String,
    pub expires_at: i64,
    pub profile: String,
}

fn random_b64<const N: usize>() -> String {
    b64::encode(esspass_credential::random_bytes::<N>())
}

impl VerifierState {
    pub fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// Read the Issuer and Verifier Trusted Lists again (files or URLs) once `trust.refresh_seconds`
    /// have passed: a newer list replaces the one in use (the issuers' in the verification
    /// pipeline at once); a list with a lower sequence than the one in use (a rollback), a list that
    /// does not verify, or an unreachable URL leaves the one in use, which serves until its
    /// `next_update`.
    pub async fn refresh_lists(&self, now: i64) {
        use std::sync::atomic::Ordering;
        if now - self.lists_checked.load(Ordering::Relaxed) < self.cfg.trust.refresh_seconds {
            return;
        }
        self.lists_checked.store(now, Ordering::Relaxed);
        for (src, slot, issuers) in [(&self.cfg.trust.issuer_list, &self.issuers, true), (&self.cfg.trust.verifier_list, &self.verifiers, false)] {
            let fresh = match crate::trusted_lists::load_list(src, &self.chains, &self.lists_client, now).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(target: "esspass::verifier", list = %src, error = %e, "trusted list not refreshed; the one in use stays");
                    continue;
                }
            };
            let right_kind = matches!((&fresh.body, issuers), (esspass_credential::trust::ListBody::Issuers { .. }, true) | (esspass_credential::trust::ListBody::Verifiers { .. }, false));
            let Ok(mut current) = slot.write() else { continue };
            match (right_kind, crate::trusted_lists::update(&current, &fresh)) {
                (false, _) => {
                    tracing::warn!(target: "esspass::verifier", list = %src, "trusted list refused: another kind of list");
                    continue;
                }
                (true, crate::trusted_lists::Update::Refused(why)) => {
                    tracing::warn!(target: "esspass::verifier", list = %src, "trusted list refused: {why}");
                    continue;
                }
                (true, crate::trusted_lists::Update::Unchanged) => continue,
                (true, crate::trusted_lists::Update::Newer) => {}
            }
            *current = fresh.clone();
            drop(current);
            if issuers && let Ok(mut v) = self.verifier.write() {
                let mut pipeline = Verifier::new(ChainValidator::new(self.chains.anchors().to_vec()), Some(fresh), None);
                pipeline.status = Some(self.status.clone());
                *v = Arc::new(pipeline);
            }
            tracing::info!(target: "esspass::verifier", list = %src, "trusted list replaced by a newer one");
        }
    }

    /// Open a transaction for `profile`, the validity to be checked on `for_date` (today when absent).
    pub async fn create(&self, profile: &str, for_date: Option<&str>, actor: &str) -> Result<Created, ApiError> {
        let p = self.cfg.profile(profile).ok_or_else(|| ApiError::new(404, ErrorCode::UnknownProfile, format!("no profile {profile:?}; this verifier has {}", self.cfg.profiles.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "))))?;
        if let Some(d) = for_date
            && Date::parse(d).is_none()
        {
            return Err(ApiError::new(400, ErrorCode::BadRequest, "date must be YYYY-MM-DD"));
        }
        let now = self.now();
        let transaction_id = random_b64::<16>();
        let key = protocol::EphemeralKey::generate().map_err(|e| ApiError::new(500, ErrorCode::Internal, e))?;
        let secrets = json!({"nonce": random_b64::<32>(), "state": random_b64::<16>(), "key": key.to_b64(), "kid": random_b64::<8>()});
        let row = VerificationRow {
            transaction_id: transaction_id.clone(),
            profile: p.name.clone(),
            state: "pending".into(),
            created_at: now,
            expires_at: now + self.cfg.verification.transaction_seconds,
            for_date: for_date.map(str::to_owned),
            created_by: actor.to_owned(),
            secrets,
            outcome: None,
            code: None,
            report: None,
            claims: None,
            proof: None,
            answered_at: None,
        };
        self.store.insert_verification(&row).await?;
        let expires_at = row.expires_at;
        self.open.insert(row, now);
        let request_uri = format!("{}/request/{transaction_id}", self.cfg.public_url);
        let authorization_request = protocol::authorization_link(&self.client_id, &request_uri);
        Ok(Created { transaction_id, authorization_request, request_uri, expires_at, profile: p.name.clone() })
    }

    async fn pending(&self, transaction_id: &str) -> Result<(Arc<VerificationRow>, &ProfileConfig), ApiError> {
        let row = match self.open.get(transaction_id) {
            Some(r) => r,
            None => Arc::new(self.store.verification(transaction_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::TransactionNotFound, "no such transaction"))?),
        };
        let p = self.cfg.profile(&row.profile).ok_or_else(|| ApiError::new(410, ErrorCode::TransactionNotFound, "the transaction's profile is no longer configured"))?;
        if row.state != "pending" {
            return Err(ApiError::new(409, ErrorCode::ResponseReplayed, "the transaction has been answered"));
        }
        if self.now() >= row.expires_at {
            return Err(ApiError::new(410, ErrorCode::TransactionExpired, "the transaction has expired"));
        }
        Ok((row, p))
    }

    /// The `openid4vp://` link of a pending transaction.
    pub async fn link(&self, transaction_id: &str) -> Result<String, ApiError> {
        self.pending(transaction_id).await?;
        Ok(protocol::authorization_link(&self.client_id, &format!("{}/request/{transaction_id}", self.cfg.public_url)))
    }

    /// The signed request object the wallet fetches from `request_uri`.
    pub async fn request_object(&self, transaction_id: &str) -> Result<String, ApiError> {
        let (row, p) = self.pending(transaction_id).await?;
        let s = |k: &str| row.secrets.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let key = protocol::EphemeralKey::from_b64(&s("key")).map_err(|e| ApiError::new(500, ErrorCode::Internal, e))?;
        protocol::request_object(&protocol::RequestInput {
            signer: self.signer.as_ref(),
            chain: &self.chain,
            client_id: &self.client_id,
            response_uri: &format!("{}/response/{transaction_id}", self.cfg.public_url),
            response_mode: p.response_mode,
            nonce: &s("nonce"),
            state: &s("state"),
            query_id: &p.name,
            vct: p.credential_type.vct(),
            claims: &p.claims,
            trusted_authorities: &self.chains,
            encryption_key: &key,
            encryption_kid: &s("kid"),
            verifier_name: &self.cfg.verifier.name,
            purpose: p.purpose.as_deref(),
            now: self.now(),
            expires_at: row.expires_at,
        })
        .map_err(|e| ApiError::new(500, ErrorCode::Internal, e))
    }

    /// The wallet's answer at the response URI: taken once, verified, the result and the proof
    /// stored together with the audit record. A refused answer stores nothing as verified.
    pub async fn respond(self: &Arc<Self>, transaction_id: &str, content_type: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
        let (row, p) = self.pending(transaction_id).await?;
        // One answer per transaction: whatever this one turns out to be, the next reads the database.
        self.open.remove(transaction_id);
        let s = |k: &str| row.secrets.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let key = protocol::EphemeralKey::from_b64(&s("key")).map_err(|e| ApiError::new(500, ErrorCode::Internal, e))?;
        let answer = protocol::open_response(content_type, body, p.response_mode, &key, &s("kid")).map_err(|e| ApiError::new(400, e.0, e.1))?;
        if answer.state.as_deref() != Some(s("state").as_str()) {
            return Err(ApiError::new(400, ErrorCode::ResponseForAnotherTransaction, "the response's state is not this transaction's"));
        }
        let presentation = answer.presentation_for(&p.name).map_err(|e| ApiError::new(400, e.0, e.1))?;
        // The pipeline (signatures, chains, the status list) runs here when the status lists it
        // needs are fresh in the cache — CPU only, no hand-off to another thread; when one must be
        // fetched over the network it runs again off the async threads.
        let (nonce, pname) = (s("nonce"), p.name.clone());
        let for_date = row.for_date.clone();
        let now = self.now();
        let checked = match esspass_credential::status::from_cache_only(|| self.check(&pname, transaction_id, &presentation, &nonce, for_date.as_deref(), now)) {
            Some(checked) => checked?,
            None => {
                let me = self.clone();
                let tid = transaction_id.to_owned();
                tokio::task::spawn_blocking(move || me.check(&pname, &tid, &presentation, &nonce, for_date.as_deref(), now)).await.map_err(|_| ApiError::new(500, ErrorCode::Internal, "verification task"))??
            }
        };
        let (report, claims, proof_payload) = checked;
        let proof = proof_payload.sign(self.signer.as_ref(), &self.chain).map_err(|e| ApiError::new(500, e.code, e.detail))?;
        let outcome = proof_payload.outcome.clone();
        let state = if outcome == "valid" { "verified" } else { "rejected" };
        let audit = AuditEntry::new(now, "wallet", "verification_answered", transaction_id, "verification", json!({"profile": p.name, "outcome": outcome, "code": proof_payload.code}));
        let item = esspass_store::FinishVerification {
            transaction_id: transaction_id.to_owned(),
            state: state.to_owned(),
            outcome: outcome.clone(),
            code: proof_payload.code.clone(),
            report,
            claims,
            proof,
            now,
            audit,
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.writer.send((item, tx)).await.map_err(|_| ApiError::new(503, ErrorCode::Internal, "the results' writer has stopped"))?;
        let taken = rx.await.map_err(|_| ApiError::new(503, ErrorCode::Internal, "the results' writer has stopped"))?.map_err(|e| {
            tracing::error!(target: "esspass::verifier", error = %e, "storing verification results failed");
            ApiError::new(500, ErrorCode::Internal, "the result could not be stored")
        })?;
        if !taken {
            return Err(ApiError::new(409, ErrorCode::ResponseReplayed, "the transaction has been answered or has expired"));
        }
        Ok(json!({}))
    }

    /// Verify one presentation for a profile: the report (checks, no claims), the claims the
    /// profile allows, and the proof to sign.
    fn check(&self, profile: &str, transaction_id: &str, presentation: &str, nonce: &str, for_date: Option<&str>, now: i64) -> Result<(Value, Option<Value>, VerificationProof), ApiError> {
        let p = self.cfg.profile(profile).ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "profile"))?;
        let verifier = self.verifier.read().map_err(|_| ApiError::new(500, ErrorCode::Internal, "lock"))?.clone();
        let at = time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let mut report = verifier.verify(presentation, &Expectation { nonce: Some(nonce), aud: Some(&self.client_id) }, at);
        let mut extra_code = None;
        if report.outcome == Outcome::Valid {
            if report.vct.as_deref() != Some(p.credential_type.vct()) {
                extra_code = Some((ErrorCode::WrongCredentialType, format!("the profile asks for {}, the wallet presented {}", p.credential_type.vct(), report.vct.as_deref().unwrap_or("?"))));
            } else if let Some(extra) = protocol::beyond_query(&report.disclosed, &dotted(p)) {
                extra_code = Some((ErrorCode::DisclosedBeyondQuery, format!("disclosed beyond the query: {}", extra.join(", "))));
            } else if let Some(d) = for_date.and_then(Date::parse).or_else(|| Some(Date::of_instant(at)))
                && let Some(problem) = period_problem(report.claims.as_ref(), d)
            {
                extra_code = Some((ErrorCode::NotCoveredOnDate, problem));
            }
        }
        if let Some((code, detail)) = extra_code {
            report.outcome = Outcome::Invalid;
            report.code = Some(code);
            report.checks.push(esspass_credential::verify::Check { id: "profile", result: esspass_credential::verify::CheckResult::Fail, code: Some(code), detail });
        }
        let allowed = filter_claims(report.claims.as_ref(), p);
        let document = report.claims.as_ref().and_then(|c| c.get("document_number")).and_then(Value::as_str).map(DocumentRef::new).transpose().map_err(|e| ApiError::new(500, e.code, e.detail))?;
        let issuer = report.issuer.as_ref().and_then(|i| Some(IssuerRef { institution_id: i.institution_id.clone()?, country: i.country.clone()? }));
        let status = report.status.as_ref().map(|s| StatusFound {
            value: match s.value {
                Some(0) => "valid",
                Some(1) => "revoked",
                Some(2) => "suspended",
                _ => "unknown",
            }
            .into(),
            source: s.source.map_or("unavailable".into(), |x| serde_json::to_value(x).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()),
            age_seconds: s.age_seconds,
            uri: Some(s.uri.clone()),
        });
        let outcome = if report.outcome == Outcome::Valid { "valid" } else { "invalid" };
        let proof = VerificationProof {
            outcome: outcome.into(),
            code: report.code.map(|c| c.code().to_owned()),
            checked_for_date: for_date.map(str::to_owned).or_else(|| Some(Date::of_instant(at).to_string())),
            document,
            issuer,
            status,
            ..self.proof_base(p, transaction_id, now)
        };
        let report_value = report_without_claims(&report);
        Ok((report_value, allowed, proof))
    }

    /// The parts of a verification proof every verification of a profile shares.
    fn proof_base(&self, p: &ProfileConfig, transaction_id: &str, now: i64) -> VerificationProof {
        VerificationProof {
            jti: random_b64::<16>(),
            iat: now,
            verifier_id: self.cfg.verifier.id.clone(),
            transaction_id: transaction_id.to_owned(),
            profile: p.name.clone(),
            policy_version: p.policy_version.clone(),
            vct: p.credential_type.vct().to_owned(),
            outcome: "invalid".into(),
            code: None,
            checked_for_date: None,
            document: None,
            issuer: None,
            status: None,
        }
    }

    /// The transaction's state and, when answered, the report and the claims the profile allows;
    /// reading claims is audited.
    pub async fn get(&self, transaction_id: &str, actor: &str) -> Result<Value, ApiError> {
        let row = self.store.verification(transaction_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::TransactionNotFound, "no such transaction"))?;
        let now = self.now();
        let state = if row.state == "pending" && now >= row.expires_at { "expired" } else { row.state.as_str() };
        let mut out = json!({"transaction_id": row.transaction_id, "profile": row.profile, "state": state, "created_at": row.created_at, "expires_at": row.expires_at, "for_date": row.for_date});
        if let (Some(o), Some(outcome)) = (out.as_object_mut(), &row.outcome) {
            o.insert("outcome".into(), json!(outcome));
            o.insert("code".into(), json!(row.code));
            o.insert("report".into(), row.report.clone().unwrap_or(Value::Null));
            o.insert("claims".into(), row.claims.clone().unwrap_or(Value::Null));
            o.insert("answered_at".into(), json!(row.answered_at));
        }
        if row.claims.is_some() {
            self.store.append_audit(now, actor, "read_verification", transaction_id, "verification result", &json!({"profile": row.profile})).await?;
        }
        Ok(out)
    }

    /// The signed verification proof of an answered transaction.
    pub async fn proof(&self, transaction_id: &str) -> Result<String, ApiError> {
        let row = self.store.verification(transaction_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::TransactionNotFound, "no such transaction"))?;
        row.proof.ok_or_else(|| ApiError::new(409, ErrorCode::TransactionNotFound, "the transaction has not been answered"))
    }
}

impl VerifierState {
    /// The offline bundle, re-read when its manifest changed; `None` when none is configured.
    fn offline_bundle(&self, now: i64) -> Result<Option<Arc<esspass_paper::bundle::Bundle>>, ApiError> {
        let Some(dir) = &self.cfg.trust.offline_bundle else { return Ok(None) };
        let manifest = dir.join(esspass_paper::bundle::MANIFEST_FILE);
        let mtime = std::fs::metadata(&manifest).and_then(|m| m.modified()).map_err(|e| ApiError::new(503, ErrorCode::BundleInvalid, format!("the offline bundle: {e}")))?;
        if let Ok(held) = self.bundle.read()
            && let Some((t, b)) = held.as_ref()
            && *t == mtime
        {
            if b.age(now) > self.cfg.trust.max_bundle_age {
                return Err(ApiError::new(503, ErrorCode::BundleTooOld, "the offline bundle is older than allowed: refresh it (esspass bundle fetch)"));
            }
            return Ok(Some(b.clone()));
        }
        let text = std::fs::read_to_string(&manifest).map_err(|e| ApiError::new(503, ErrorCode::BundleInvalid, format!("the offline bundle: {e}")))?;
        let read = |rel: &str| if esspass_paper::bundle::safe_path(rel) { std::fs::read(dir.join(rel)).ok() } else { None };
        let b = Arc::new(esspass_paper::bundle::Bundle::load(&text, &read, &self.chains, now, self.cfg.trust.max_bundle_age).map_err(|e| ApiError::new(503, e.code, e.detail))?);
        if let Ok(mut held) = self.bundle.write() {
            *held = Some((mtime, b.clone()));
        }
        Ok(Some(b))
    }

    /// A paper credential (the `PA1:`/`EH1:` text, or a PNG/JPEG photo of its QR code) checked for a
    /// profile: the signer from the Issuer Trusted List (or the bundle), revocation from the offline
    /// bundle when one is configured; stored and proven like an online verification.
    pub async fn verify_paper(&self, profile: &str, body: &[u8], actor: &str) -> Result<Value, ApiError> {
        let p = self.cfg.profile(profile).ok_or_else(|| ApiError::new(404, ErrorCode::UnknownProfile, format!("no profile {profile:?}")))?;
        let now = self.now();
        let is_image = body.starts_with(b"\x89PNG\r\n\x1a\n") || body.starts_with(&[0xFF, 0xD8, 0xFF]);
        let owned = body.to_vec();
        let text = if is_image {
            tokio::task::spawn_blocking(move || esspass_paper::scan(&owned)).await.map_err(|_| ApiError::new(500, ErrorCode::Internal, "scan task"))?.map_err(|e| ApiError::new(422, e.code, e.detail))?
        } else {
            String::from_utf8(owned).map_err(|_| ApiError::new(400, ErrorCode::BadRequest, "the body is neither a PA1:/EH1: text nor a PNG/JPEG image"))?.trim().to_owned()
        };
        let bundle = self.offline_bundle(now)?;
        let issuers = self.issuers.read().map_err(|_| ApiError::new(500, ErrorCode::Internal, "lock"))?.clone();
        let today = Date::of_instant(time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH));
        let listed = match &issuers.body {
            esspass_credential::trust::ListBody::Issuers { issuers } => esspass_paper::bundle::signers(issuers, today),
            esspass_credential::trust::ListBody::Verifiers { .. } | esspass_credential::trust::ListBody::Institutions { .. } => Vec::new(),
        };
        let from_list = |k: &[u8]| listed.iter().find(|(kid, _)| kid.as_slice() == k).map(|(_, s)| s.clone());
        let result = match &bundle {
            Some(b) => esspass_paper::verify_with_bundle(&text, b, now),
            None => esspass_paper::verify(&text, &from_list, now),
        };
        let type_ok = |r: &esspass_paper::PaperReport| r.credential_type == p.credential_type.short_name();
        let (outcome, code, claims, report) = match &result {
            Ok(r) if !type_ok(r) => ("invalid", Some(ErrorCode::WrongCredentialType), None, json!({"credential_type": r.credential_type, "detail": format!("the profile asks for {}", p.credential_type.short_name())})),
            Ok(r) => {
                let claims = r.claims.as_object().cloned();
                let mut rep = serde_json::to_value(r).unwrap_or(Value::Null);
                if let Some(o) = rep.as_object_mut() {
                    o.remove("claims");
                }
                ("valid", None, filter_claims(claims.as_ref(), p), rep)
            }
            Err(e) => ("invalid", Some(e.code), None, json!({"detail": e.detail})),
        };
        let revocation = match (&bundle, &result) {
            (Some(b), Ok(_)) => json!({"checked": true, "source": "offline_bundle", "sequence": b.manifest.sequence, "age_seconds": b.age(now)}),
            (Some(b), Err(e)) if matches!(e.code, ErrorCode::PaperRevoked | ErrorCode::PaperSuspended) => json!({"checked": true, "source": "offline_bundle", "sequence": b.manifest.sequence, "age_seconds": b.age(now)}),
            _ => json!({"checked": false, "detail": "no offline bundle is configured: revocation was not checked"}),
        };
        let report = json!({"paper": report, "revocation": revocation});
        let number = result.as_ref().ok().and_then(|r| r.claims.get("document_number")).and_then(Value::as_str);
        let issuer_id = result.as_ref().ok().map(|r| r.iss.clone());
        let status_value = match (&result, &bundle) {
            (Err(e), _) if e.code == ErrorCode::PaperRevoked => "revoked",
            (Err(e), _) if e.code == ErrorCode::PaperSuspended => "suspended",
            (Ok(_), Some(_)) => "valid",
            _ => "unknown",
        };
        let transaction_id = random_b64::<16>();
        let proof = VerificationProof {
            outcome: outcome.into(),
            code: code.map(|c| c.code().to_owned()),
            checked_for_date: Some(today.to_string()),
            document: number.map(DocumentRef::new).transpose().map_err(|e| ApiError::new(500, e.code, e.detail))?,
            issuer: issuer_id.map(|id| IssuerRef { country: id.split(':').next().unwrap_or_default().to_owned(), institution_id: id }),
            status: Some(StatusFound { value: status_value.into(), source: if bundle.is_some() { "offline_bundle".into() } else { "unavailable".into() }, age_seconds: bundle.as_ref().map(|b| b.age(now)), uri: None }),
            ..self.proof_base(p, &transaction_id, now)
        };
        let signed = proof.sign(self.signer.as_ref(), &self.chain).map_err(|e| ApiError::new(500, e.code, e.detail))?;
        let row = VerificationRow {
            transaction_id: transaction_id.clone(),
            profile: p.name.clone(),
            state: "pending".into(),
            created_at: now,
            expires_at: now + 60,
            for_date: None,
            created_by: actor.to_owned(),
            secrets: json!({"paper": true}),
            outcome: None,
            code: None,
            report: None,
            claims: None,
            proof: None,
            answered_at: None,
        };
        self.store.insert_verification(&row).await?;
        let state = if outcome == "valid" { "verified" } else { "rejected" };
        let audit = AuditEntry::new(now, actor, "paper_verified", &transaction_id, "verification", json!({"profile": p.name, "outcome": outcome, "code": code.map(|c| c.code())}));
        self.store.finish_verification(&transaction_id, state, outcome, code.map(|c| c.code()), &report, claims.as_ref(), &signed, now, Some(&audit)).await?;
        Ok(json!({"transaction_id": transaction_id, "profile": p.name, "state": state, "outcome": outcome, "code": code.map(|c| c.code()), "report": report, "claims": claims}))
    }
}

/// The claims the profile allows, from the claims presented.
fn filter_claims(claims: Option<&Map<String, Value>>, p: &ProfileConfig) -> Option<Value> {
    let claims = claims?;
    let mut out = Map::new();
    for path in &p.claims {
        let Some(esspass_credential::type_metadata::Selector::Key(first)) = path.first() else { continue };
        if let Some(v) = claims.get(first) {
            out.insert(first.clone(), v.clone());
        }
    }
    Some(Value::Object(out))
}

fn report_without_claims(r: &Report) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("claims");
    }
    v
}

/// Whether the document covers `day`: its period (`starting_date`…`ending_date`) and its validity
/// (`date_of_issuance`…`date_of_expiry`) both contain it.
fn period_problem(claims: Option<&Map<String, Value>>, day: Date) -> Option<String> {
    let c = claims?;
    let d = |k: &str| c.get(k).and_then(Value::as_str).and_then(Date::parse);
    if let (Some(s), e) = (d("starting_date"), d("ending_date"))
        && (day < s || e.is_some_and(|e| day > e))
    {
        return Some(format!("{day} is outside the period {s} – {}", e.map_or("(open)".to_owned(), |e| e.to_string())));
    }
    if let Some(x) = d("date_of_expiry")
        && day > x
    {
        return Some(format!("the document expired on {x}, before {day}"));
    }
    None
}

/// The results' writer task: takes every result waiting (up to 256) and commits them together.
pub async fn write_results(store: Store, mut rx: tokio::sync::mpsc::Receiver<(esspass_store::FinishVerification, tokio::sync::oneshot::Sender<Result<bool, String>>)>) {
    while let Some(group) = crate::batch::next_group(&mut rx, 256).await {
        let (items, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        let res = store.finish_verifications(&items).await;
        for (k, reply) in replies.into_iter().enumerate() {
            let _ = reply.send(match &res {
                Ok(taken) => Ok(taken.get(k).copied().unwrap_or(false)),
                Err(e) => Err(e.to_string()),
            });
        }
    }
}
