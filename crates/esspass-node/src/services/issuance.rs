//! OpenID4VCI issuance: offers (pre-authorized code with `tx_code`), the token, nonce, credential and
//! notification steps, with DPoP-bound access tokens. Every single-use value (codes, offers,
//! `c_nonce`s, DPoP `jti`s) is consumed in the database, so several node processes stay correct.
//! DPoP is checked before a code is consumed, a `tx_code` attempt is counted or a `c_nonce` is burnt.

use crate::config::{IssuanceConfig, NodeConfig};
use crate::services::status::{StatusError, StatusService};
use esspass_core::{CredentialType, Date, ErrorCode};
use esspass_credential::vc::{IssueRequest, issue, uuid_v4};
use esspass_credential::{EcdsaP256Signer, b64};
use esspass_oid4vc::dpop::{DpopProof, DpopRequest, validate_dpop_proof};
use esspass_oid4vc::jwt::IatWindow;
use esspass_oid4vc::proof::{check_batch, validate_jwt_proof};
use esspass_oid4vc::vci::{
    CredentialConfiguration, CredentialIssuerMetadata, CredentialOffer, CredentialResponse, CredentialTarget, ErrorCode as VciError, ErrorResponse,
    NotificationRequest, TokenGrant, TokenRequest, TokenResponse, TxCode,
};
use esspass_store::{AuditEntry, Checked, CredentialRow, CredentialState, Store, StoreError};
use serde_json::{Value, json};
use std::sync::Arc;

/// A back-office failure: a stable code and a sentence (RFC 9457 at the edge).
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: ErrorCode,
    pub detail: String,
    /// Every problem found (path and code), when there is more than one thing to say.
    pub problems: Vec<esspass_core::Problem>,
}

impl ApiError {
    pub fn new(status: u16, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), problems: Vec::new() }
    }

    /// With every problem listed (`problems` in the RFC 9457 body).
    #[must_use]
    pub fn with_problems(mut self, problems: Vec<esspass_core::Problem>) -> Self {
        self.problems = problems;
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // The database's own text never reaches a client (it can name tables, constraints, values).
        tracing::error!(target: "esspass::store", error_kind = crate::http::store_error_kind(&e), "storage error");
        ApiError::new(500, ErrorCode::Internal, "a storage error occurred; the request was not carried out")
    }
}

impl From<StatusError> for ApiError {
    fn from(e: StatusError) -> Self {
        match e {
            StatusError::Store(StoreError::NotFound(what)) => ApiError::new(404, ErrorCode::CredentialNotFound, format!("no such {what}")),
            StatusError::Store(StoreError::Final(why)) => ApiError::new(409, ErrorCode::CredentialRevoked, format!("the credential is revoked, and a revocation is final ({why})")),
            StatusError::Store(e) => ApiError::from(e),
            _ => {
                tracing::error!(target: "esspass::status", "status list publication failed");
                ApiError::new(500, ErrorCode::Internal, "the status list could not be published")
            }
        }
    }
}

pub(crate) fn server_error(e: impl std::fmt::Display) -> ErrorResponse {
    // OpenID4VCI has no server-error code; `invalid_request` with 400 would blame the wallet, so the
    // HTTP layer answers 500 for this description prefix. The cause is logged by kind, never sent.
    let text = e.to_string();
    let kind = text.split(':').next().unwrap_or("error").chars().filter(|c| c.is_ascii_alphanumeric() || *c == ' ').take(40).collect::<String>();
    tracing::error!(target: "esspass::issuance", error_kind = %kind, "server error");
    ErrorResponse::new(VciError::InvalidRequest, "server error: the request could not be carried out")
}

/// What `POST /api/v1/credential-offers` answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OfferCreated {
    pub offer_id: String,
    /// The OpenID4VCI credential offer object.
    #[schema(value_type = Object)]
    pub credential_offer: CredentialOffer,
    /// `openid-credential-offer://?credential_offer_uri=…`
    pub credential_offer_uri: String,
    /// By value: `openid-credential-offer://?credential_offer=…`
    pub credential_offer_link: String,
    /// The transaction code of the pre-authorized grant, for the back office to hand to the person
    /// (never to an employer: an employer's offer has no pre-authorized grant — the person signs in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<String>,
    pub expires_at: i64,
}

/// What is issued to whom: the credential type, the person, and (for a PDA1) the A1 application.
#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    t: CredentialType,
    person_id: &'a str,
    application_id: Option<&'a str>,
}

#[derive(Clone)]
pub struct Issuer {
    pub store: Store,
    pub status: StatusService,
    pub signer: Arc<EcdsaP256Signer>,
    pub chain: Arc<Vec<Vec<u8>>>,
    pub cfg: Arc<NodeConfig>,
    /// The secret DPoP server nonces are derived from.
    pub dpop_secret: Arc<[u8; 32]>,
    /// The EESSI access point: a PDA1 under Art 12 notifies the host state (A009).
    pub eessi: Option<Arc<crate::eessi::AccessPoint>>,
}

/// Single-use kind recording that an offer (either of its grants) was redeemed.
pub const OFFER_REDEEMED: &str = "offer_redeemed";

/// Seconds one DPoP server nonce stays current (the previous one is still accepted).
pub const DPOP_NONCE_PERIOD: i64 = 300;

/// The DPoP server nonce of the period containing `now`: an HMAC of the period number, so every
/// process that shares the secret agrees without shared state.
pub fn dpop_nonce(secret: &[u8; 32], now: i64) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, &now.div_euclid(DPOP_NONCE_PERIOD).to_be_bytes());
    b64::encode(tag.as_ref().get(..16).unwrap_or_default())
}

/// The claims of a credential type with their display names, from its Type Metadata, as
/// OpenID4VCI 1.0 `credential_metadata.claims` (which must not be empty when present).
fn claim_descriptions(meta: &esspass_credential::type_metadata::TypeMetadata) -> Vec<esspass_oid4vc::vci::metadata::ClaimDescription> {
    use esspass_oid4vc::vci::metadata::{ClaimDescription, ClaimPathElement};
    meta.claims
        .iter()
        .map(|c| {
            let path = c
                .path
                .iter()
                .map(|sel| match serde_json::to_value(sel).unwrap_or(Value::Null) {
                    Value::String(s) if s == "*" => ClaimPathElement::AllElements,
                    Value::String(s) => ClaimPathElement::Name(s),
                    Value::Number(n) => n.as_u64().map_or(ClaimPathElement::AllElements, ClaimPathElement::Index),
                    _ => ClaimPathElement::AllElements,
                })
                .collect();
            let display: Vec<_> = c
                .display
                .iter()
                .filter_map(|d| {
                    let name = d.get("label").or_else(|| d.get("name")).and_then(Value::as_str)?;
                    let locale = d.get("lang").or_else(|| d.get("locale")).and_then(Value::as_str).unwrap_or("en");
                    serde_json::from_value(json!({"name": name, "locale": locale})).ok()
                })
                .collect();
            ClaimDescription { path, mandatory: Some(c.mandatory), display: (!display.is_empty()).then_some(display) }
        })
        .collect()
}

fn random_token() -> String {
    b64::encode(esspass_credential::random_bytes::<32>())
}

fn random_digits(n: u32) -> String {
    (0..n).map(|_| char::from(b'0' + (esspass_credential::random_bytes::<1>()[0] % 10))).collect()
}

impl Issuer {
    fn icfg(&self) -> &IssuanceConfig {
        &self.cfg.issuance
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.public_url)
    }

    /// Configuration id for a type (`ehic`, `pda1`).
    pub fn configuration_id(t: CredentialType) -> &'static str {
        t.short_name()
    }

    pub fn configuration(&self, id: &str) -> Option<CredentialType> {
        CredentialType::from_short_name(id).filter(|t| self.cfg.institution.credential_types.contains(t))
    }

    /// `/.well-known/openid-credential-issuer`.
    pub fn metadata(&self) -> CredentialIssuerMetadata {
        let mut configs = std::collections::BTreeMap::new();
        for t in &self.cfg.institution.credential_types {
            let meta = esspass_credential::type_metadata::TypeMetadata::builtin(*t);
            let display = vec![serde_json::from_value(json!({"name": meta.name, "locale": "en", "description": meta.description})).unwrap_or_default()];
            configs.insert(Self::configuration_id(*t).to_owned(), CredentialConfiguration::sd_jwt_vc(t.vct(), t.short_name(), display, claim_descriptions(meta)));
        }
        let v = json!({
            "credential_issuer": self.cfg.public_url,
            "credential_endpoint": self.url("/credential"),
            "nonce_endpoint": self.url("/nonce"),
            "notification_endpoint": self.url("/notification"),
            "deferred_credential_endpoint": self.url("/deferred-credential"),
            "batch_credential_issuance": {"batch_size": self.icfg().batch_size},
            "display": [{"name": self.cfg.institution.name, "locale": "en"}],
            "credential_configurations_supported": configs,
        });
        serde_json::from_value(v).unwrap_or_else(|_| CredentialIssuerMetadata {
            credential_issuer: self.cfg.public_url.clone(),
            authorization_servers: None,
            credential_endpoint: self.url("/credential"),
            nonce_endpoint: None,
            deferred_credential_endpoint: None,
            notification_endpoint: None,
            batch_credential_issuance: None,
            display: None,
            credential_configurations_supported: std::collections::BTreeMap::new(),
            other: serde_json::Map::new(),
        })
    }

    /// Create an offer for a person and a configuration, after checking the entitlement. The back
    /// office's offers carry a pre-authorized code with a `tx_code` (returned for the back office
    /// to hand to the person) and, where sign-in is enabled, an authorization-code grant; an
    /// employer's offers carry only the authorization-code grant, so the person signs in.
    pub async fn create_offer(&self, config_id: &str, person_id: &str, application_id: Option<&str>, actor: &str, by_employer: bool, now: i64) -> Result<OfferCreated, ApiError> {
        let t = self.configuration(config_id).ok_or_else(|| ApiError::new(400, ErrorCode::UnknownConfiguration, format!("no credential configuration {config_id:?}")))?;
        let person = self.store.person(person_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::PersonNotFound, "no such person"))?;
        match (t, application_id) {
            (CredentialType::Pda1, Some(id)) => {
                let app = self.store.application(id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::BadRequest, "no such application"))?;
                if app.person_id != person.person_id {
                    return Err(ApiError::new(400, ErrorCode::BadRequest, "the application is for another person"));
                }
                crate::services::applications::check_yields(&self.store, &app, &self.cfg.institution).await?;
                // A pending application is offered too: the PDA1 follows by deferred issuance.
                if app.state != "pending_review" {
                    self.claims_for(t, &person.person_id, Some(id), now).await?;
                }
            }
            (CredentialType::Pda1, None) => return Err(ApiError::new(400, ErrorCode::MissingField, "a PDA1 offer names the A1 application (application_id)")),
            (_, Some(_)) => return Err(ApiError::new(400, ErrorCode::BadRequest, "application_id belongs to PDA1 offers only")),
            (_, None) => {
                self.claims_for(t, &person.person_id, None, now).await?;
            }
        }
        let sign_in = self.cfg.sign_in.demo_eid || self.cfg.sign_in.pid.is_some();
        if by_employer && !sign_in {
            return Err(ApiError::new(
                409,
                ErrorCode::SignInDisabled,
                "an employer's offer is taken by the person signing in, which this node does not offer: the back office creates the offer and hands its transaction code to the person",
            ));
        }
        let expires_at = now + self.icfg().offer_lifetime;
        // Both grants of the offer name one group; whichever is redeemed first uses the offer up.
        let group = uuid_v4();
        let code = random_token();
        let tx_code = random_digits(self.icfg().tx_code_length);
        let issuer_state = random_token();
        let offer_id = uuid_v4();
        let mut offer = if by_employer {
            CredentialOffer { credential_issuer: self.cfg.public_url.clone(), credential_configuration_ids: vec![config_id.to_owned()], grants: Some(Default::default()), other: serde_json::Map::new() }
        } else {
            let tx = TxCode { input_mode: Some(esspass_oid4vc::vci::InputMode::Numeric), length: Some(self.icfg().tx_code_length), description: Some("The code the institution gave you".into()) };
            CredentialOffer::pre_authorized(self.cfg.public_url.clone(), vec![config_id.to_owned()], code.clone(), Some(tx))
        };
        if sign_in && let Some(g) = offer.grants.as_mut() {
            // The issuer_state ties the sign-in to this person, credential and (for a PDA1) application.
            g.authorization_code = Some(esspass_oid4vc::vci::AuthorizationCodeGrant { issuer_state: Some(issuer_state.clone()), authorization_server: None });
        }
        let grant = json!({"person_id": person.person_id, "configuration": config_id, "application_id": application_id, "offer_group": group});
        let offer_json = serde_json::to_value(&offer).unwrap_or_default();
        let mut items = vec![esspass_store::NewSingleUse { kind: "offer", value: &offer_id, payload: &offer_json, expires_at, check: None, sealed: true }];
        if !by_employer {
            items.push(esspass_store::NewSingleUse { kind: "pre_auth_code", value: &code, payload: &grant, expires_at, check: Some(&tx_code), sealed: false });
        }
        if sign_in {
            items.push(esspass_store::NewSingleUse { kind: crate::authorize::KIND_ISSUER_STATE, value: &issuer_state, payload: &grant, expires_at, check: None, sealed: false });
        }
        // Offer ids, codes and states are bearer capabilities: the audit names the offer's group.
        let audit = AuditEntry::new(now, actor, "create_offer", &person.person_id, "credential issuance", json!({"configuration": config_id, "offer_group": group, "application_id": application_id, "pre_authorized": !by_employer}));
        self.store.create_single_uses(&items, Some(&audit)).await?;
        Ok(OfferCreated {
            credential_offer_uri: esspass_oid4vc::vci::offer_uri_link(&self.url(&format!("/credential-offer/{offer_id}"))),
            credential_offer_link: offer.to_link(),
            offer_id,
            credential_offer: offer,
            tx_code: (!by_employer).then_some(tx_code),
            expires_at,
        })
    }

    /// `GET /credential-offer/{id}`: the offer by reference, consumed by use.
    pub async fn fetch_offer(&self, offer_id: &str, now: i64) -> Result<Option<Value>, StoreError> {
        self.store.consume_single_use("offer", offer_id, now).await
    }

    /// The business claims of a credential for a person, or why they cannot be issued.
    pub async fn claims_for(&self, t: CredentialType, person_id: &str, application_id: Option<&str>, now: i64) -> Result<Value, ApiError> {
        let person = self.store.person(person_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::PersonNotFound, "no such person"))?;
        let today = Date::of_instant(time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH));
        match t {
            CredentialType::Ehic => {
                let coverage = self.store.coverage_of(person_id).await?;
                let active = coverage.iter().find(|c| {
                    c.kind == "health" && Date::parse(&c.start_date).is_some_and(|s| s <= today) && c.end_date.as_deref().and_then(Date::parse).is_none_or(|e| e >= today)
                });
                let Some(active) = active else {
                    return Err(ApiError::new(409, ErrorCode::NotEntitled, "no health coverage in force today"));
                };
                let five_years = today.add_months(60).and_then(|d| d.pred()).unwrap_or(today);
                let end = active.end_date.as_deref().and_then(Date::parse).map_or(five_years, |e| e.min(five_years));
                let inst = &self.cfg.institution;
                Ok(json!({
                    "personal_administrative_number": person.personal_number,
                    "issuing_authority": {"id": inst.id.to_string(), "name": inst.name, "country": inst.country.iso()},
                    "authentic_source": {"id": inst.id.to_string(), "name": inst.source_name.clone().unwrap_or_else(|| inst.name.clone())},
                    "document_number": "0000",
                    "date_of_issuance": today.to_string(),
                    "date_of_expiry": end.to_string(),
                    "starting_date": today.to_string(),
                    "ending_date": end.to_string(),
                }))
            }
            CredentialType::Pid => {
                // What the PID Rulebook makes mandatory must be in the record: names, birth date,
                // place of birth, a nationality (CIR 2024/2977 Annex, Table 1).
                let missing = |what: &str| ApiError::new(409, ErrorCode::NotEntitled, format!("the person's record has no {what}: a PID cannot be issued without it"));
                let nationality = person.nationality.clone().ok_or_else(|| missing("nationality"))?;
                if person.birth_country.is_none() && person.birth_place.is_none() {
                    return Err(missing("place of birth"));
                }
                let birth = Date::parse(&person.birth_date).ok_or_else(|| ApiError::new(409, ErrorCode::NotEntitled, "the person's birth date is not a date"))?;
                let adult = birth.add_months(18 * 12).is_some_and(|d| d <= today);
                let expiry = today.add_months(self.icfg().credential_days.div_euclid(30).clamp(1, 120) as i32).unwrap_or(today);
                let inst = &self.cfg.institution;
                let mut place = serde_json::Map::new();
                if let Some(c) = &person.birth_country {
                    place.insert("country".into(), json!(c));
                }
                if let Some(l) = &person.birth_place {
                    place.insert("locality".into(), json!(l));
                }
                let mut claims = json!({
                    "family_name": person.family_name,
                    "given_name": person.given_name,
                    "birthdate": person.birth_date,
                    "place_of_birth": place,
                    "nationalities": [nationality],
                    "personal_administrative_number": person.personal_number,
                    "age_equal_or_over": {"18": adult},
                    "date_of_issuance": today.to_string(),
                    "date_of_expiry": expiry.to_string(),
                    "issuing_authority": inst.name,
                    "issuing_country": inst.country.iso(),
                });
                if let (Some(r), Some(o)) = (&person.residence, claims.as_object_mut()) {
                    o.insert("address".into(), json!({"country": r}));
                }
                Ok(claims)
            }
            CredentialType::Pda1 => {
                let id = application_id.ok_or_else(|| ApiError::new(409, ErrorCode::NotEntitled, "a PDA1 is issued from a decided A1 application"))?;
                let app = self.store.application(id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::BadRequest, "no such application"))?;
                if app.person_id != person_id {
                    return Err(ApiError::new(409, ErrorCode::NotEntitled, "the application is for another person"));
                }
                crate::services::applications::check_yields(&self.store, &app, &self.cfg.institution).await?;
                crate::services::applications::pda1_claims(&app, &person, &self.cfg.institution, today)
            }
        }
    }

    /// The nonce a client should put in its next DPoP proof.
    pub fn current_dpop_nonce(&self, now: i64) -> String {
        dpop_nonce(&self.dpop_secret, now)
    }

    /// The DPoP proof of a request, checked and its `jti` recorded (replays refused).
    pub async fn check_dpop(&self, header: Option<&str>, method: &str, path: &str, access_token: Option<&str>, now: i64) -> Result<DpopProof, ErrorResponse> {
        let proof = header.ok_or_else(|| ErrorResponse::new(VciError::InvalidDpopProof, "a DPoP proof is required"))?;
        let url = self.url(path);
        let current = dpop_nonce(&self.dpop_secret, now);
        let previous = dpop_nonce(&self.dpop_secret, now - DPOP_NONCE_PERIOD);
        let accepted: Vec<&str> = if self.icfg().require_dpop_nonce { vec![current.as_str(), previous.as_str()] } else { Vec::new() };
        let p = validate_dpop_proof(proof, &DpopRequest { method, url: &url, access_token, accepted_nonces: &accepted, now, window: IatWindow::default() }).map_err(|e| e.to_response())?;
        let fresh = self.store.first_use("dpop_jti", &format!("{}:{}", p.jkt, p.jti), now + 600, now).await.map_err(server_error)?;
        if !fresh {
            return Err(ErrorResponse::new(VciError::InvalidDpopProof, "the DPoP proof was used before (jti replay)"));
        }
        Ok(p)
    }

    /// The pre-authorized code grant: the `tx_code` checked (wrong attempts counted, the code dies at
    /// the limit), then the code consumed. Returns the grant payload (`person_id`, `configuration`).
    async fn redeem_pre_authorized(&self, pre_authorized_code: &str, tx_code: Option<String>, now: i64) -> Result<Value, ErrorResponse> {
        let gone = || ErrorResponse::new(VciError::InvalidGrant, "the pre-authorized code is unknown, used or expired");
        let Some(given) = tx_code else {
            // Say what is missing only for a live code; a missing tx_code costs no attempt.
            return match self.store.peek_single_use("pre_auth_code", pre_authorized_code, now).await.map_err(server_error)? {
                Some(_) => Err(ErrorResponse::new(VciError::InvalidRequest, "tx_code is required")),
                None => Err(gone()),
            };
        };
        let max = self.icfg().max_tx_code_attempts;
        // Compare, count and consume in one statement: concurrent guesses never get more than `max` tries.
        let payload = match self.store.redeem_checked("pre_auth_code", pre_authorized_code, &given, max, now).await.map_err(server_error)? {
            Checked::Redeemed(p) => p,
            Checked::Wrong { failures } => {
                let left = (max - failures).max(0);
                return Err(ErrorResponse::new(VciError::InvalidGrant, format!("wrong tx_code; {left} attempt(s) left")));
            }
            Checked::Gone => return Err(gone()),
        };
        if let Some(group) = payload.get("offer_group").and_then(Value::as_str)
            && !self.store.first_use(OFFER_REDEEMED, group, now + 86_400, now).await.map_err(server_error)?
        {
            return Err(ErrorResponse::new(VciError::InvalidGrant, "the offer was already taken through the authorization-code flow"));
        }
        Ok(payload)
    }

    /// Token endpoint (the DPoP proof already checked).
    pub async fn token(&self, form: &[u8], dpop: &DpopProof, now: i64) -> Result<TokenResponse, ErrorResponse> {
        let req = TokenRequest::from_form(form)?;
        let payload = match req.grant {
            TokenGrant::PreAuthorizedCode { pre_authorized_code, tx_code } => self.redeem_pre_authorized(&pre_authorized_code, tx_code, now).await?,
            TokenGrant::AuthorizationCode { code, code_verifier, redirect_uri } => {
                let p = crate::authorize::redeem_authorization_code(&self.store, &code, code_verifier.as_deref(), redirect_uri.as_deref(), req.client_id.as_deref(), now).await?;
                // RFC 9449 §10: a code obtained with a DPoP-bound authorization request is redeemed with the same key.
                if p.get("dpop_jkt").and_then(Value::as_str).is_some_and(|bound| bound != dpop.jkt) {
                    return Err(ErrorResponse::new(VciError::InvalidDpopProof, "the DPoP key is not the one the authorization request was bound to"));
                }
                p
            }
        };
        let token = random_token();
        let lifetime = self.icfg().access_token_lifetime;
        let grant = json!({"person_id": payload.get("person_id"), "configuration": payload.get("configuration"), "application_id": payload.get("application_id"), "jkt": dpop.jkt});
        self.store.create_single_use("access_token", &token, &grant, now + lifetime).await.map_err(server_error)?;
        Ok(TokenResponse::dpop(token, u64::try_from(lifetime).unwrap_or(300)))
    }

    /// Nonce endpoint: a fresh `c_nonce`.
    pub async fn nonce(&self, now: i64) -> Result<String, ErrorResponse> {
        let n = random_token();
        self.store.create_single_use("c_nonce", &n, &json!({}), now + self.icfg().c_nonce_lifetime).await.map_err(server_error)?;
        Ok(n)
    }

    /// The grant behind a DPoP-bound access token, checking the binding.
    pub async fn grant(&self, authorization: Option<&str>, dpop_header: Option<&str>, path: &str, now: i64) -> Result<(Value, String, bool), ErrorResponse> {
        let token = authorization.and_then(|a| a.strip_prefix("DPoP ")).ok_or_else(|| ErrorResponse::new(VciError::InvalidToken, "a DPoP-bound access token is required (Authorization: DPoP …)"))?;
        let (grant, used) = self
            .store
            .peek_single_use("access_token", token, now)
            .await
            .map_err(server_error)?
            .ok_or_else(|| ErrorResponse::new(VciError::InvalidToken, "the access token is unknown or expired"))?;
        let dpop = self.check_dpop(dpop_header, "POST", path, Some(token), now).await?;
        if grant.get("jkt").and_then(Value::as_str) != Some(dpop.jkt.as_str()) {
            return Err(ErrorResponse::new(VciError::InvalidDpopProof, "the DPoP key is not the one the token is bound to"));
        }
        Ok((grant, dpop.jkt, used))
    }

    /// Credential endpoint.
    pub async fn credential(&self, grant: &Value, used: bool, token: &str, jkt: &str, body: &[u8], now: i64) -> Result<CredentialResponse, ErrorResponse> {
        let req = esspass_oid4vc::vci::CredentialRequest::parse(body)?;
        let configuration = grant.get("configuration").and_then(Value::as_str).unwrap_or_default();
        match &req.target {
            CredentialTarget::ConfigurationId(id) if id == configuration => {}
            CredentialTarget::ConfigurationId(id) => return Err(ErrorResponse::new(VciError::UnknownCredentialConfiguration, format!("the access token is for {configuration:?}, not {id:?}"))),
            CredentialTarget::Identifier(_) => return Err(ErrorResponse::new(VciError::UnknownCredentialIdentifier, "no credential identifiers were issued")),
        }
        let t = self.configuration(configuration).ok_or_else(|| ErrorResponse::new(VciError::UnknownCredentialConfiguration, "configuration withdrawn"))?;
        let mut keys = Vec::with_capacity(req.jwt_proofs.len());
        for p in &req.jwt_proofs {
            keys.push(validate_jwt_proof(p, &self.cfg.public_url, now, IatWindow::default()).map_err(|e| e.to_response())?);
        }
        check_batch(&keys, self.icfg().batch_size).map_err(|e| e.to_response())?;
        if used {
            return Err(ErrorResponse::new(VciError::CredentialRequestDenied, "this access token was already used for its credential; a new credential needs a new offer"));
        }
        let mut nonces: Vec<&str> = keys.iter().map(|k| k.nonce.as_str()).collect();
        nonces.sort_unstable();
        nonces.dedup();
        for n in nonces {
            if self.store.consume_single_use("c_nonce", n, now).await.map_err(server_error)?.is_none() {
                return Err(ErrorResponse::new(VciError::InvalidNonce, "the proof's nonce is unknown, used or expired; get a fresh one from the nonce endpoint"));
            }
        }
        // One grant, one issuance: the token is marked used in the database (once, across every
        // process) before anything is signed; a second call with it is refused.
        if !self.store.mark_used("access_token", token, now).await.map_err(server_error)? {
            return Err(ErrorResponse::new(VciError::CredentialRequestDenied, "this access token was already used for its credential; a new credential needs a new offer"));
        }
        let person_id = grant.get("person_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let application_id = grant.get("application_id").and_then(Value::as_str).map(str::to_owned);
        if let Some(id) = &application_id {
            let app = self.store.application(id).await.map_err(server_error)?.ok_or_else(|| ErrorResponse::new(VciError::CredentialRequestDenied, "the application is gone"))?;
            if app.state == "pending_review" {
                return self.defer(grant, token, &keys, id, now).await;
            }
        }
        let mut claims = self.claims_for(t, &person_id, application_id.as_deref(), now).await.map_err(|e| ErrorResponse::new(VciError::CredentialRequestDenied, e.detail))?;
        let holders: Vec<esspass_credential::Jwk> = keys.iter().map(|k| k.jwk.clone()).collect();
        self.issue_batch(Target { t, person_id: &person_id, application_id: application_id.as_deref() }, &mut claims, &holders, jkt, now).await
    }

    /// Sign one credential per holder key, record them with the audit record of the issuance in one
    /// transaction, and answer with a notification id.
    async fn issue_batch(&self, to: Target<'_>, claims: &mut Value, holders: &[esspass_credential::Jwk], jkt: &str, now: i64) -> Result<CredentialResponse, ErrorResponse> {
        let (issued, rows) = self.issue_recorded(to, claims, holders, &format!("wallet:{jkt}"), now).await.map_err(server_error)?;
        let ids: Vec<String> = rows.iter().map(|r| r.credential_id.clone()).collect();
        let notification_id = uuid_v4();
        self.store.create_single_use("notification", &notification_id, &json!({"credentials": ids}), now + 86_400 * 30).await.map_err(server_error)?;
        Ok(CredentialResponse::issued(issued, Some(notification_id)))
    }

    /// Sign one credential per holder key (fresh document numbers, status indexes claimed in the
    /// database) and record them all, with the issuance's audit record, in one transaction.
    async fn issue_recorded(&self, to: Target<'_>, claims: &mut Value, holders: &[esspass_credential::Jwk], actor: &str, now: i64) -> Result<(Vec<String>, Vec<CredentialRow>), String> {
        let Target { t, person_id, application_id } = to;
        let mut slots = Vec::with_capacity(holders.len());
        for _ in holders {
            slots.push(self.status.allocate().await.map_err(|e| e.to_string())?);
        }
        for _ in 0..8 {
            let mut issued = Vec::with_capacity(holders.len());
            let mut rows = Vec::with_capacity(holders.len());
            let mut kept = Vec::with_capacity(holders.len());
            for (k, (list_id, idx)) in holders.iter().zip(&slots) {
                let (sd, row) = self.sign_one(t, person_id, application_id, claims, k, list_id, *idx, now)?;
                issued.push(sd);
                rows.push(row);
                // The claims as signed (with this credential's document number), for its paper version.
                kept.push(claims.clone());
            }
            let ids: Vec<&str> = rows.iter().map(|r| r.credential_id.as_str()).collect();
            let notify = self.notification_for(t, person_id, application_id, claims, now).await;
            let audit = AuditEntry::new(now, actor, "issue_credential", person_id, "credential issuance", json!({"vct": t.vct(), "credentials": ids, "application_id": application_id, "eessi": notify.iter().map(|m| json!({"message_id": m.message_id, "receiver": m.receiver})).collect::<Vec<_>>()}));
            match self.store.insert_issued_notifying(&rows, &kept, Some(&audit), &notify).await {
                Ok(()) => return Ok((issued, rows)),
                // A document number drawn twice (10 random digits): draw again.
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("could not find free document numbers".into())
    }

    /// The EESSI messages an issuance causes (a PDA1 under Art 12: the A009 to the host state;
    /// under Art 13: an A003 to every other state of work; see [`crate::eessi::notification_for`]),
    /// written with the credentials in one transaction. Where they cannot be made (a state with no
    /// institution in the repository, a SED that does not validate) the PDA1 is still issued and the
    /// gap is audited for a case worker.
    async fn notification_for(&self, t: CredentialType, person_id: &str, application_id: Option<&str>, claims: &Value, now: i64) -> Vec<esspass_store::OutboxRow> {
        let (CredentialType::Pda1, Some(id), Some(ap)) = (t, application_id, self.eessi.as_ref()) else { return vec![] };
        let (Some(app), Some(person)) = (self.store.application(id).await.ok().flatten(), self.store.person(person_id).await.ok().flatten()) else { return vec![] };
        match crate::eessi::notification_for(ap, &app, &person, claims, now) {
            None => vec![],
            Some(Ok(rows)) => rows,
            Some(Err(reason)) => {
                tracing::warn!(target: "esspass::eessi", "notification not sent");
                let _ = self.store.append_audit(now, "eessi", "eessi_not_sent", person_id, "EESSI exchange", &json!({"application_id": id, "reason": reason})).await;
                vec![]
            }
        }
    }

    /// Seconds a wallet should wait before asking the deferred endpoint again.
    pub const DEFERRED_INTERVAL: u64 = 5;

    /// The application waits for a case worker: remember the holder keys under a transaction id,
    /// keep the access token alive for the wait (30 days), and answer 202.
    async fn defer(&self, grant: &Value, token: &str, keys: &[esspass_oid4vc::proof::KeyProof], application_id: &str, now: i64) -> Result<CredentialResponse, ErrorResponse> {
        let transaction_id = random_token();
        let wait = now + 30 * 86_400;
        let jwks: Vec<Value> = keys.iter().map(|k| k.jwk.to_value()).collect();
        let payload = json!({"application_id": application_id, "person_id": grant.get("person_id"), "configuration": grant.get("configuration"), "jkt": grant.get("jkt"), "holders": jwks});
        self.store.create_single_use("transaction", &transaction_id, &payload, wait).await.map_err(server_error)?;
        self.store.extend_single_use("access_token", token, wait).await.map_err(server_error)?;
        let v = json!({"transaction_id": transaction_id, "interval": Self::DEFERRED_INTERVAL});
        serde_json::from_value(v).map_err(server_error)
    }

    /// Deferred credential endpoint: 202 while the case worker has not decided, the credentials once
    /// approved, `credential_request_denied` if refused.
    pub async fn deferred(&self, grant: &Value, jkt: &str, body: &[u8], now: i64) -> Result<CredentialResponse, ErrorResponse> {
        let req = esspass_oid4vc::vci::DeferredCredentialRequest::parse(body)?;
        let (tx, _) = self
            .store
            .peek_single_use("transaction", &req.transaction_id, now)
            .await
            .map_err(server_error)?
            .ok_or_else(|| ErrorResponse::new(VciError::InvalidTransactionId, "unknown or finished transaction_id"))?;
        if tx.get("jkt") != grant.get("jkt") || tx.get("person_id") != grant.get("person_id") {
            return Err(ErrorResponse::new(VciError::InvalidTransactionId, "the transaction belongs to another access token"));
        }
        let application_id = tx.get("application_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let app = self.store.application(&application_id).await.map_err(server_error)?.ok_or_else(|| ErrorResponse::new(VciError::CredentialRequestDenied, "the application is gone"))?;
        match app.state.as_str() {
            "pending_review" => serde_json::from_value(json!({"transaction_id": req.transaction_id, "interval": Self::DEFERRED_INTERVAL})).map_err(server_error),
            "approved" | "determined" => {
                // Consumed first: a second call cannot issue twice.
                if self.store.consume_single_use("transaction", &req.transaction_id, now).await.map_err(server_error)?.is_none() {
                    return Err(ErrorResponse::new(VciError::InvalidTransactionId, "the transaction was just completed"));
                }
                let person_id = app.person_id.clone();
                let mut claims = self.claims_for(CredentialType::Pda1, &person_id, Some(&application_id), now).await.map_err(|e| ErrorResponse::new(VciError::CredentialRequestDenied, e.detail))?;
                let holders: Vec<esspass_credential::Jwk> = tx.get("holders").and_then(Value::as_array).into_iter().flatten().filter_map(|j| esspass_credential::Jwk::from_value(j).ok()).collect();
                self.issue_batch(Target { t: CredentialType::Pda1, person_id: &person_id, application_id: Some(&application_id) }, &mut claims, &holders, jkt, now).await
            }
            _ => {
                let _ = self.store.consume_single_use("transaction", &req.transaction_id, now).await;
                Err(ErrorResponse::new(VciError::CredentialRequestDenied, "the application was refused"))
            }
        }
    }

    /// Issue one credential of type `t` to a person for a holder key (claims from the records, a
    /// status index, signing, the durable write with its audit record) — the service-level unit
    /// the benchmarks measure.
    pub async fn issue_for(&self, t: CredentialType, person_id: &str, holder: &esspass_credential::Jwk, now: i64) -> Result<(String, CredentialRow), ApiError> {
        let mut claims = self.claims_for(t, person_id, None, now).await?;
        let (mut issued, mut rows) = self.issue_recorded(Target { t, person_id, application_id: None }, &mut claims, std::slice::from_ref(holder), "service", now).await.map_err(|e| {
            tracing::error!(target: "esspass::issuance", "issuance failed");
            ApiError::new(500, ErrorCode::Internal, if e.contains("status") { "no status index could be allocated" } else { "the credential could not be recorded" })
        })?;
        match (issued.pop(), rows.pop()) {
            (Some(sd), Some(row)) => Ok((sd, row)),
            _ => Err(ApiError::new(500, ErrorCode::Internal, "nothing was issued")),
        }
    }

    /// Sign one credential with a fresh document number at a claimed status index.
    #[allow(clippy::too_many_arguments)]
    fn sign_one(&self, t: CredentialType, person_id: &str, application_id: Option<&str>, claims: &mut Value, holder: &esspass_credential::Jwk, list_id: &str, idx: u64, now: i64) -> Result<(String, CredentialRow), String> {
        let uri = self.status.list_uri(list_id);
        let local: String = self.cfg.institution.id.local_id().chars().take(10).collect();
        let number = format!("{local:0>10}{}", random_digits(10));
        claims["document_number"] = Value::String(number.clone());
        let sd = issue(&IssueRequest {
            credential_type: t,
            claims,
            signer: self.signer.as_ref(),
            x5c: &self.chain,
            holder_jwk: holder,
            iss: Some(&self.cfg.public_url),
            iat: now,
            nbf: Some(now),
            exp: Some(now + self.icfg().credential_days * 86_400),
            status: Some((&uri, idx)),
            decoys: true,
        })
        .map_err(|e| e.to_string())?;
        let row = CredentialRow {
            credential_id: uuid_v4(),
            document_number: number,
            person_id: person_id.to_owned(),
            vct: t.vct().to_owned(),
            list_id: list_id.to_owned(),
            idx,
            state: CredentialState::Valid,
            reason: None,
            issued_at: now,
            changed_at: now,
            application_id: application_id.map(str::to_owned),
        };
        Ok((sd.serialize(), row))
    }

    /// Notification endpoint: the wallet's event is recorded in the audit trail.
    pub async fn notification(&self, jkt: &str, body: &[u8], now: i64) -> Result<(), ErrorResponse> {
        let n = NotificationRequest::parse(body)?;
        let Some((payload, _)) = self.store.peek_single_use("notification", &n.notification_id, now).await.map_err(server_error)? else {
            return Err(ErrorResponse::new(VciError::InvalidNotificationId, "unknown notification_id"));
        };
        let event = serde_json::to_value(n.event).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        self.store
            .append_audit(now, &format!("wallet:{jkt}"), &format!("notification:{event}"), "credentials", "credential issuance", &json!({"credentials": payload.get("credentials"), "description": n.event_description}))
            .await
            .map_err(server_error)?;
        Ok(())
    }
}

/// A person's own documents (the portal): every credential issued to them, newest first; the
/// reading is audited under `actor`.
pub async fn documents_of_person(store: &esspass_store::Store, person_id: &str, actor: &str, now: i64) -> Result<Vec<esspass_store::CredentialRow>, ApiError> {
    let mut rows = store.credentials_of(person_id).await?;
    rows.sort_by_key(|r| std::cmp::Reverse(r.issued_at));
    store.append_audit(now, actor, "read_own_documents", person_id, "the person's own documents", &json!({"count": rows.len()})).await?;
    Ok(rows)
}

/// A person found by personal number, with their documents, for a case worker; the search is
/// audited whether or not it found someone (who looked for which number is personal data too).
pub async fn find_person_documents(store: &esspass_store::Store, personal_number: &str, actor: &str, now: i64) -> Result<Option<(esspass_store::Person, Vec<esspass_store::CredentialRow>)>, ApiError> {
    let person = store.person_by_number(personal_number.trim()).await?;
    let subject = person.as_ref().map_or("not found", |p| p.person_id.as_str()).to_owned();
    store.append_audit(now, actor, "find_person", &subject, "case work", &json!({"found": person.is_some()})).await?;
    let Some(p) = person else { return Ok(None) };
    let docs = store.credentials_of(&p.person_id).await?;
    Ok(Some((p, docs)))
}
