//! Status lists of the institution: random index allocation (the database refuses reuse), signing
//! and re-signing `statuslist+jwt` tokens, and state changes that are durable and published before
//! the caller is answered.

use crate::config::StatusConfig;
use esspass_credential::status::{StatusList, TokenClaims, sign_token};
use esspass_credential::{EcdsaP256Signer, b64};
use esspass_store::{CredentialRow, CredentialState, StatusListRow, Store, StoreError};
use std::sync::Arc;

/// The first list. Lists are numbered 1, 2, …; new credentials go to the highest-numbered list
/// that is below the fill threshold, and a new list starts when the current one reaches it.
pub const CURRENT_LIST: &str = "1";

#[derive(Clone)]
pub struct StatusService {
    pub store: Store,
    pub signer: Arc<EcdsaP256Signer>,
    pub chain: Arc<Vec<Vec<u8>>>,
    pub cfg: StatusConfig,
    pub base_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("status list {0}: {1}")]
    Sign(String, String),
    #[error("status list {0} has no free index left after many attempts")]
    Full(String),
}

impl StatusService {
    pub fn list_uri(&self, list_id: &str) -> String {
        format!("{}/status/{list_id}", self.base_url)
    }

    fn new_list_row(&self, list_id: &str, now: i64) -> StatusListRow {
        StatusListRow {
            list_id: list_id.into(),
            uri: self.list_uri(list_id),
            bits: self.cfg.bits,
            size: self.cfg.list_size,
            bytes: vec![0u8; usize::try_from(self.cfg.list_size * u64::from(self.cfg.bits) / 8).unwrap_or(0)],
            version: 0,
            token: None,
            etag: None,
            token_version: -1,
            token_exp: None,
            updated_at: now,
        }
    }

    /// Create list `list_id` unless another process did, and publish it.
    async fn create_list(&self, list_id: &str, now: i64) -> Result<(), StatusError> {
        match self.store.insert_status_list(&self.new_list_row(list_id, now)).await {
            Ok(()) | Err(StoreError::Duplicate(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.publish(list_id, now, false).await
    }

    /// Create the first list if no list exists yet, and publish every list.
    pub async fn ensure_list(&self, now: i64) -> Result<(), StatusError> {
        if self.store.status_list_fill().await?.is_empty() {
            self.create_list(CURRENT_LIST, now).await?;
        }
        self.publish_all(now).await
    }

    /// How many indexes of a list are handed out before the next list starts.
    fn threshold(&self, size: u64) -> u64 {
        (size / 100).saturating_mul(u64::from(self.cfg.max_fill_percent)).max(1)
    }

    /// The list new credentials go to: the highest-numbered list below the fill threshold; when it
    /// has reached it, a new list (created here, or by another process at the same moment).
    pub async fn current_list(&self, now: i64) -> Result<(String, u64), StatusError> {
        let lists = self.store.status_list_fill().await?;
        let top = lists.iter().filter_map(|(id, n, size)| id.parse::<u64>().ok().map(|k| (k, *n, *size))).max_by_key(|(k, _, _)| *k);
        match top {
            Some((k, n, size)) if n < self.threshold(size) => Ok((k.to_string(), size)),
            Some((k, _, _)) => {
                let next = (k + 1).to_string();
                self.create_list(&next, now).await?;
                Ok((next, self.cfg.list_size))
            }
            None => {
                self.create_list(CURRENT_LIST, now).await?;
                Ok((CURRENT_LIST.into(), self.cfg.list_size))
            }
        }
    }

    /// A random unused index in the current list, claimed in the database.
    pub async fn allocate(&self) -> Result<(String, u64), StatusError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (list, size) = self.current_list(now).await?;
        for _ in 0..256 {
            let r = u64::from_le_bytes(esspass_credential::random_bytes::<8>()) % size.max(1);
            if self.store.claim_status_index(&list, r).await? {
                return Ok((list, r));
            }
        }
        Err(StatusError::Full(list))
    }

    /// Sign the list's current version unless a token for it exists that is still young; `force`
    /// signs anyway.
    pub async fn publish(&self, list_id: &str, now: i64, force: bool) -> Result<(), StatusError> {
        let row = self.store.status_list(list_id).await?.ok_or_else(|| StatusError::Sign(list_id.into(), "no such list".into()))?;
        let young = row.token.is_some() && row.token_version == row.version && row.token_exp.is_some_and(|e| e - now > self.cfg.token_lifetime / 2);
        if young && !force {
            return Ok(());
        }
        let list = StatusList::from_bytes(row.bits, row.bytes.clone()).map_err(|e| StatusError::Sign(list_id.into(), e.detail))?;
        let exp = now + self.cfg.token_lifetime;
        let token = sign_token(self.signer.as_ref(), &self.chain, &list, &TokenClaims { sub: row.uri.clone(), iat: now, exp: Some(exp), ttl: Some(self.cfg.ttl) })
            .map_err(|e| StatusError::Sign(list_id.into(), e.detail))?;
        let etag = format!("\"{}-{}\"", row.version, b64::encode(&esspass_credential::sha256(token.as_bytes())[..9]));
        self.store.save_status_token(list_id, row.version, &token, &etag, exp).await?;
        Ok(())
    }

    /// Re-sign every list whose token is missing, stale or past half-life (one list in memory at
    /// a time).
    pub async fn publish_all(&self, now: i64) -> Result<(), StatusError> {
        self.publish_every(now, false).await
    }

    /// As [`StatusService::publish_all`]; `force` re-signs every list.
    pub async fn publish_every(&self, now: i64, force: bool) -> Result<(), StatusError> {
        for (list_id, _, _) in self.store.status_list_fill().await? {
            self.publish(&list_id, now, force).await?;
        }
        Ok(())
    }

    /// Change a credential's status: durable, then published, then answered.
    pub async fn set_state(&self, credential_id: &str, state: CredentialState, reason: Option<&str>, now: i64, audit: Option<&esspass_store::AuditEntry>) -> Result<CredentialRow, StatusError> {
        self.set_state_notifying(credential_id, state, reason, now, audit, &[]).await
    }

    /// A person's (back office, case worker, staff) change of a credential's status, as the API and
    /// the portal make it: the credential looked up, the EESSI notices the change causes (the X008s
    /// of a withdrawn PDA1 to the states its issuance told), the audit record naming them, all
    /// written in one transaction, then published. `action` is `revoke`, `suspend` or `reinstate`.
    pub async fn change(&self, ap: Option<&crate::eessi::AccessPoint>, credential_id: &str, action: &str, reason: Option<&str>, actor: &str, now: i64) -> Result<CredentialRow, crate::services::issuance::ApiError> {
        use crate::services::issuance::ApiError;
        use esspass_core::ErrorCode;
        let state = match action {
            "revoke" => CredentialState::Revoked,
            "suspend" => CredentialState::Suspended,
            "reinstate" => CredentialState::Valid,
            _ => return Err(ApiError::new(404, ErrorCode::BadRequest, "the action is revoke, suspend or reinstate")),
        };
        let cred = self.store.credential(credential_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::CredentialNotFound, "no such credential"))?;
        let notice = crate::eessi::notice_for_status_change(ap, &cred, state, reason, now).await;
        let details = serde_json::json!({"credential": credential_id, "reason": reason, "eessi": notice.iter().map(|m| serde_json::json!({"message_id": m.message_id, "receiver": m.receiver})).collect::<Vec<_>>()});
        let audit = esspass_store::AuditEntry::new(now, actor, &format!("{action}_credential"), &cred.person_id, "credential status", details);
        Ok(self.set_state_notifying(credential_id, state, reason, now, Some(&audit), &notice).await?)
    }

    /// As [`StatusService::set_state`], with the EESSI message the change causes written in the
    /// same transaction.
    pub async fn set_state_notifying(&self, credential_id: &str, state: CredentialState, reason: Option<&str>, now: i64, audit: Option<&esspass_store::AuditEntry>, outbox: &[esspass_store::OutboxRow]) -> Result<CredentialRow, StatusError> {
        let row = self.store.set_credential_state_notifying(credential_id, state, reason, now, audit, outbox).await?;
        self.publish(&row.list_id, now, true).await?;
        Ok(row)
    }
}
