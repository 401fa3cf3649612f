//! A wallet at work: receiving credentials into a [`WalletFile`] (pre-authorized code, or the
//! authorization-code flow signing in with the wallet's PID), and answering a verifier's request
//! with the holder's consent in between. `esspass wallet`, the web wallet and `esspass demo` all go
//! through these functions; they only differ in how they ask for consent and what they print.

use crate::present::{CheckedRequest, Plan, Refused, check_request, parse_link, plan, response_body};
use crate::store::{StoredCredential, StoredPending, WalletFile};
use crate::{Oid4vciClient, Pending, Redeemed, WalletError};
use esspass_core::ErrorCode;
use esspass_credential::EcdsaP256Signer;
use esspass_credential::sdjwt::SdJwt;
use esspass_credential::trust::TrustedList;
use esspass_credential::x509::ChainValidator;
use serde_json::Value;

/// Why a holder operation did not happen: the wallet or the network failed, or a request or a
/// credential was refused (with its stable code).
#[derive(Debug, thiserror::Error)]
pub enum HolderError {
    #[error(transparent)]
    Wallet(#[from] WalletError),
    #[error("{} {}", .0.code.code(), .0.reason)]
    Refused(Refused),
    /// The holder said no: nothing was sent.
    #[error("declined: nothing was sent")]
    Declined,
}

impl From<Refused> for HolderError {
    fn from(r: Refused) -> Self {
        HolderError::Refused(r)
    }
}

fn refused(code: ErrorCode, reason: impl Into<String>) -> HolderError {
    HolderError::Refused(Refused { code, reason: reason.into() })
}

/// A key as the wallet file keeps it (base64url PKCS#8).
pub fn key_b64(k: &EcdsaP256Signer) -> Result<String, HolderError> {
    Ok(esspass_credential::b64::encode(k.to_pkcs8_der().map_err(|e| refused(ErrorCode::KeyInvalid, e.detail))?))
}

/// A key the wallet file keeps.
pub fn key_of(b64: &str) -> Result<EcdsaP256Signer, HolderError> {
    esspass_credential::b64::decode(b64).and_then(|d| EcdsaP256Signer::from_pkcs8_der(&d)).map_err(|e| refused(ErrorCode::KeyInvalid, format!("a key in the wallet: {}", e.detail)))
}

fn generate() -> Result<EcdsaP256Signer, HolderError> {
    EcdsaP256Signer::generate().map_err(|e| refused(ErrorCode::Internal, e.detail))
}

/// Store issued credentials, each with the key it is bound to (the batch's i-th credential to the
/// i-th key); their wallet ids.
pub fn keep(w: &mut WalletFile, issuer: &str, issued: &[String], keys: &[String], now: i64) -> Result<Vec<String>, HolderError> {
    let mut ids = Vec::new();
    for (i, sd) in issued.iter().enumerate() {
        let parsed = SdJwt::parse(sd).map_err(|e| refused(e.code, format!("the issuer sent something that is not an SD-JWT VC: {}", e.detail)))?;
        let claims = esspass_credential::sdjwt::present::contents(&parsed).map_err(|e| refused(e.code, format!("the issuer sent an SD-JWT VC that does not decode: {}", e.detail)))?.claims;
        let vct = claims.get("vct").and_then(Value::as_str).unwrap_or("?").to_owned();
        let key = keys.get(i).or(keys.first()).cloned().ok_or_else(|| refused(ErrorCode::Internal, "no holder key"))?;
        let id = WalletFile::new_id("c")?;
        w.contents.credentials.push(StoredCredential { id: id.clone(), vct, issuer: issuer.to_owned(), received_at: now, sd_jwt: sd.clone(), key });
        ids.push(id);
    }
    Ok(ids)
}

/// What a receipt gave: credentials kept now, or an issuance the issuer decides later (kept as
/// pending in the wallet; [`Oid4vciClient::collect_pending`] asks again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Issued(Vec<String>),
    Pending(String),
}

/// A checked request and what answering it would disclose, waiting for the holder's consent.
#[derive(Debug, Clone)]
pub struct Consent {
    pub request: CheckedRequest,
    pub credential_id: String,
    pub vct: String,
    pub plan: Plan,
    selected: SdJwt,
    key: String,
}

/// How a wallet-initiated or offer-started authorization-code flow signs in: the wallet's client
/// registration at the issuer, and the trust it checks the issuer's PID request against.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub chains: &'a ChainValidator,
    pub verifiers: &'a TrustedList,
}

impl Oid4vciClient {
    /// Fetch and check the request behind an `openid4vp://` link, and choose the wallet's newest
    /// credential of the asked type (or `credential`, an id or its prefix): what the holder is
    /// asked to consent to.
    pub async fn prepare_presentation(&self, w: &WalletFile, link: &str, chains: &ChainValidator, verifiers: &TrustedList, credential: Option<&str>, now: i64) -> Result<Consent, HolderError> {
        let (client_id, request_uri, method) = parse_link(link)?;
        let jwt = self.fetch_request(&request_uri, method.as_deref()).await?;
        let req = check_request(&jwt, &client_id, chains, verifiers, now)?;
        let chosen: &StoredCredential = w
            .contents
            .credentials
            .iter()
            .filter(|c| c.vct == req.vct && credential.is_none_or(|id| c.id == id || c.id.starts_with(id)))
            .max_by_key(|c| c.received_at)
            .ok_or_else(|| refused(ErrorCode::WrongCredentialType, format!("the wallet holds no {} credential{}", req.vct, credential.map(|c| format!(" {c}")).unwrap_or_default())))?;
        let sd = SdJwt::parse(&chosen.sd_jwt).map_err(|e| refused(e.code, e.detail))?;
        let (selected, plan) = plan(&req, &sd)?;
        Ok(Consent { credential_id: chosen.id.clone(), vct: chosen.vct.clone(), plan, selected, key: chosen.key.clone(), request: req })
    }

    /// Answer the request the holder consented to; the verifier's JSON answer.
    pub async fn send_presentation(&self, consent: Consent, now: i64) -> Result<Value, HolderError> {
        let holder = key_of(&consent.key)?;
        let body = response_body(&consent.request, consent.selected, &holder, now)?;
        Ok(self.post_response(&consent.request.response_uri, body).await?)
    }

    /// Receive what `offer` (a resolved credential offer, or `{credential_issuer,
    /// credential_configuration_ids}` for a wallet-initiated request) stands for, into `w` (saved).
    /// With `sign_in`, through the authorization-code flow: the issuer's sign-in page asks for the
    /// wallet's PID, `consent` decides whether to present it; else with the pre-authorized code and
    /// `tx_code`.
    pub async fn receive_into(&self, w: &mut WalletFile, offer: &Value, tx_code: Option<&str>, sign_in: Option<SignIn<'_>>, consent: &mut (dyn FnMut(&Consent) -> bool + Send), now: i64) -> Result<Received, HolderError> {
        let issuer = offer.get("credential_issuer").and_then(Value::as_str).unwrap_or_default().to_owned();
        let dpop = generate()?;
        let holder = generate()?;
        let keys = vec![key_b64(&holder)?];
        let redeemed = match sign_in {
            Some(s) => {
                let config = offer.pointer("/credential_configuration_ids/0").and_then(Value::as_str).ok_or_else(|| refused(ErrorCode::Usage, "the offer names no credential configuration"))?.to_owned();
                let issuer_state = offer.pointer("/grants/authorization_code/issuer_state").and_then(Value::as_str).map(str::to_owned);
                let started = self.start_authorization(&issuer, &config, issuer_state.as_deref(), s.client_id, s.redirect_uri, &dpop).await?;
                let page = self.sign_in_page(&started).await?;
                let (pid_link, signin) = crate::authorize::pid_sign_in_of(&page)?;
                let c = self.prepare_presentation(w, &pid_link, s.chains, s.verifiers, None, now).await?;
                if !consent(&c) {
                    return Err(HolderError::Declined);
                }
                self.send_presentation(c, now).await?;
                let location = self.continue_pid_sign_in(&started.authorize_url, &signin).await?;
                let code = crate::authorize::code_of_redirect(&location, &started)?;
                self.redeem_code(&started, &code, &dpop, &[&holder]).await?
            }
            None => self.redeem_or_defer(offer, tx_code, &dpop, &[&holder]).await?,
        };
        let received = match redeemed {
            Redeemed::Issued(creds) => Received::Issued(keep(w, &issuer, &creds, &keys, now)?),
            Redeemed::Deferred(p) => {
                let id = WalletFile::new_id("p")?;
                w.contents.pending.push(StoredPending {
                    id: id.clone(),
                    issuer,
                    transaction_id: p.transaction_id,
                    interval: p.interval,
                    deferred_endpoint: p.deferred_endpoint,
                    access_token: p.access_token,
                    dpop_nonce: p.dpop_nonce,
                    dpop_key: key_b64(&dpop)?,
                    holder_keys: keys,
                    created_at: now,
                });
                Received::Pending(id)
            }
        };
        w.save()?;
        Ok(received)
    }

    /// Ask once for every pending issuance of `w` (saved): the ids of the credentials received,
    /// and the shortest interval an issuer asked to wait (`None` when nothing is pending).
    pub async fn collect_pending(&self, w: &mut WalletFile, now: i64) -> Result<(Vec<String>, Option<u64>), HolderError> {
        let mut got = Vec::new();
        let mut still = Vec::new();
        let mut wait: Option<u64> = None;
        let mut all = std::mem::take(&mut w.contents.pending).into_iter();
        while let Some(p) = all.next() {
            let dpop = key_of(&p.dpop_key)?;
            let pending = Pending { transaction_id: p.transaction_id.clone(), interval: p.interval, deferred_endpoint: p.deferred_endpoint.clone(), access_token: p.access_token.clone(), dpop_nonce: p.dpop_nonce.clone() };
            match self.collect(&pending, &dpop).await {
                Ok(Redeemed::Issued(creds)) => got.extend(keep(w, &p.issuer, &creds, &p.holder_keys, now)?),
                Ok(Redeemed::Deferred(next)) => {
                    wait = Some(wait.unwrap_or(u64::MAX).min(next.interval.max(1)));
                    still.push(StoredPending { interval: next.interval, dpop_nonce: next.dpop_nonce, ..p });
                }
                Err(e) => {
                    // Nothing is lost: what is still pending stays (the file is saved with what
                    // was received before).
                    still.push(p);
                    still.extend(all);
                    w.contents.pending = still;
                    w.save()?;
                    return Err(e.into());
                }
            }
        }
        w.contents.pending = still;
        w.save()?;
        Ok((got, wait))
    }
}
