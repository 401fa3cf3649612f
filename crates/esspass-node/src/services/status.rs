//! Status lists of the institution: random index allocation (the database refuses reuse), signing
//! and re-signing `statuslist+jwt` tokens, and state changes that are durable and published before
//! the caller is answered.

use crate::config::StatusConfig;
use esspass_credential::status::{StatusList, TokenClaims, sign_token};
use esspass_credential::{EcdsaP256Signer, b64};
use esspass_store::{CredentialRow, CredentialState, StatusListRow, Store, StoreError};
use std::sync::Arc;

/// The list new credentials go to (a full list would roll to the next one; one list of a million
/// entries serves the demo and the tests).
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

    /// Create the current list if it does not exist yet, and publish it.
    pub async fn ensure_list(&self, now: i64) -> Result<(), StatusError> {
        if self.store.status_list(CURRENT_LIST).await?.is_none() {
            let bytes = vec![0u8; usize::try_from(self.cfg.list_size * u64::from(self.cfg.bits) / 8).unwrap_or(0)];
            let row = StatusListRow {
                list_id: CURRENT_LIST.into(),
                uri: self.list_uri(CURRENT_LIST),
                bits: self.cfg.bits,
                size: self.cfg.list_size,
                bytes,
                version: 0,
                token: None,
                etag: None,
                token_version: -1,
                token_exp: None,
                updated_at: now,
            };
            match self.store.insert_status_list(&row).await {
                Ok(()) | Err(StoreError::Duplicate(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.publish(CURRENT_LIST, now, false).await
    }

    /// A random unused index in the current list, claimed in the database.
    pub async fn allocate(&self) -> Result<(String, u64), StatusError> {
        for _ in 0..256 {
            let r = u64::from_le_bytes(esspass_credential::random_bytes::<8>()) % self.cfg.list_size;
            if self.store.claim_status_index(CURRENT_LIST, r).await? {
                return Ok((CURRENT_LIST.into(), r));
            }
        }
        Err(StatusError::Full(CURRENT_LIST.into()))
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

    /// Re-sign every list whose token is missing, stale or past half-life.
    pub async fn publish_all(&self, now: i64) -> Result<(), StatusError> {
        for l in self.store.status_lists().await? {
            self.publish(&l.list_id, now, false).await?;
        }
        Ok(())
    }

    /// Change a credential's status: durable, then published, then answered.
    pub async fn set_state(&self, credential_id: &str, state: CredentialState, reason: Option<&str>, now: i64) -> Result<CredentialRow, StatusError> {
        let row = self.store.set_credential_state(credential_id, state, reason, now).await?;
        self.publish(&row.list_id, now, true).await?;
        Ok(row)
    }
}
