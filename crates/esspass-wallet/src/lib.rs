//! The holder side of esspass: an OpenID4VCI 1.0 client for the pre-authorized code flow and the
//! authorization-code flow (PAR, PKCE S256, sign-in with the wallet's PID; [`authorize`]) with
//! DPoP-bound tokens and `jwt` key proofs. The wallet web and CLI (for people without an EUDI
//! wallet) and the test suites use it.
//!
//! What must not live here: issuer or verifier logic.

pub mod authorize;
pub mod holder;
pub mod present;
pub mod store;

use esspass_credential::{EcdsaP256Signer, Signer, b64, jose::sign_compact};
use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("HTTP: {0}")]
    Http(String),
    #[error("the issuer answered {status}: {body}")]
    Issuer { status: u16, body: Value },
    #[error("{0}")]
    Protocol(String),
    /// The wallet file could not be read or written.
    #[error("wallet: {0}")]
    Store(String),
    /// The passphrase does not open the wallet (or the file was altered).
    #[error("the passphrase does not open this wallet, or the wallet file was altered")]
    Passphrase,
}

impl From<reqwest::Error> for WalletError {
    fn from(e: reqwest::Error) -> Self {
        WalletError::Http(e.to_string())
    }
}

/// What the credential endpoint gave.
#[derive(Debug, Clone)]
pub enum Redeemed {
    Issued(Vec<String>),
    /// The issuer decides later: ask the deferred endpoint with this transaction.
    Deferred(Pending),
}

/// A deferred issuance to collect later.
#[derive(Debug, Clone)]
pub struct Pending {
    pub transaction_id: String,
    pub interval: u64,
    pub deferred_endpoint: String,
    pub access_token: String,
    pub dpop_nonce: Option<String>,
}

/// An OpenID4VCI client.
pub struct Oid4vciClient {
    http: reqwest::Client,
    /// The same trust, redirects not followed (the sign-in's answer is a redirect to the wallet).
    no_redirect: reqwest::Client,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A DPoP proof for one request, with the server's nonce when it asked for one.
pub fn dpop_proof(key: &EcdsaP256Signer, method: &str, url: &str, access_token: Option<&str>, nonce: Option<&str>) -> Result<String, WalletError> {
    let mut h = Map::new();
    h.insert("typ".into(), json!("dpop+jwt"));
    h.insert("jwk".into(), key.public_jwk().to_value());
    let mut p = Map::new();
    p.insert("jti".into(), json!(b64::encode(esspass_credential::random_bytes::<16>())));
    p.insert("htm".into(), json!(method));
    p.insert("htu".into(), json!(url));
    p.insert("iat".into(), json!(now()));
    if let Some(t) = access_token {
        p.insert("ath".into(), json!(esspass_oid4vc::dpop::ath(t)));
    }
    if let Some(n) = nonce {
        p.insert("nonce".into(), json!(n));
    }
    sign_compact(key, h, &p).map_err(|e| WalletError::Protocol(e.detail))
}

/// Whether an answer asks for a (new) DPoP nonce: RFC 9449 §8 (token endpoint: 400
/// `use_dpop_nonce`; resource endpoints: 401 with `WWW-Authenticate: DPoP error="use_dpop_nonce"`).
fn wants_nonce(status: u16, headers: &reqwest::header::HeaderMap, body: &Value) -> bool {
    let in_body = body.get("error").and_then(Value::as_str) == Some("use_dpop_nonce");
    let in_header = headers.get("www-authenticate").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("use_dpop_nonce"));
    (status == 400 || status == 401) && (in_body || in_header)
}

/// A `jwt` key proof for the credential endpoint.
pub fn key_proof(holder: &EcdsaP256Signer, issuer: &str, c_nonce: &str) -> Result<String, WalletError> {
    let mut h = Map::new();
    h.insert("typ".into(), json!("openid4vci-proof+jwt"));
    h.insert("jwk".into(), holder.public_jwk().to_value());
    let p = json!({"aud": issuer, "nonce": c_nonce, "iat": now()});
    sign_compact(holder, h, p.as_object().ok_or_else(|| WalletError::Protocol("payload".into()))?).map_err(|e| WalletError::Protocol(e.detail))
}

async fn answer(resp: reqwest::Response) -> Result<Value, WalletError> {
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if (200..300).contains(&status) { Ok(body) } else { Err(WalletError::Issuer { status, body }) }
}

impl Oid4vciClient {
    /// A client trusting the platform roots and `extra_ca_der` (the demo root).
    pub fn new(extra_ca_der: &[Vec<u8>]) -> Result<Self, WalletError> {
        let certs = extra_ca_der.iter().map(|d| reqwest::Certificate::from_der(d)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { http: reqwest::Client::builder().tls_certs_merge(certs.clone()).build()?, no_redirect: reqwest::Client::builder().tls_certs_merge(certs).redirect(reqwest::redirect::Policy::none()).build()? })
    }

    /// Resolve an `openid-credential-offer://` link (by value or by reference) to the offer.
    pub async fn resolve_offer(&self, link: &str) -> Result<Value, WalletError> {
        let query = link.split_once('?').map(|(_, q)| q).ok_or_else(|| WalletError::Protocol("not an offer link".into()))?;
        let url = reqwest::Url::parse(&format!("https://x/?{query}")).map_err(|e| WalletError::Protocol(e.to_string()))?;
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "credential_offer" => return serde_json::from_str(&v).map_err(|e| WalletError::Protocol(e.to_string())),
                "credential_offer_uri" => return answer(self.http.get(v.as_ref()).send().await?).await,
                _ => {}
            }
        }
        Err(WalletError::Protocol("the link has neither credential_offer nor credential_offer_uri".into()))
    }

    /// The pre-authorized code flow: one credential per holder key, DPoP-bound to `dpop_key`.
    /// A deferred answer is an error here; see [`Oid4vciClient::redeem_or_defer`].
    pub async fn redeem(&self, offer: &Value, tx_code: Option<&str>, dpop_key: &EcdsaP256Signer, holders: &[&EcdsaP256Signer]) -> Result<Vec<String>, WalletError> {
        match self.redeem_or_defer(offer, tx_code, dpop_key, holders).await? {
            Redeemed::Issued(c) => Ok(c),
            Redeemed::Deferred(p) => Err(WalletError::Protocol(format!("issuance deferred (transaction {})", p.transaction_id))),
        }
    }

    /// Ask the deferred credential endpoint once: the credentials, or still pending.
    pub async fn collect(&self, pending: &Pending, dpop_key: &EcdsaP256Signer) -> Result<Redeemed, WalletError> {
        let url = &pending.deferred_endpoint;
        let resp = self
            .http
            .post(url)
            .header("Authorization", format!("DPoP {}", pending.access_token))
            .header("DPoP", dpop_proof(dpop_key, "POST", url, Some(&pending.access_token), pending.dpop_nonce.as_deref())?)
            .json(&json!({"transaction_id": pending.transaction_id}))
            .send()
            .await?;
        let status = resp.status().as_u16();
        let nonce = resp.headers().get("dpop-nonce").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body: Value = serde_json::from_str(&resp.text().await?).unwrap_or(Value::Null);
        match status {
            200 => Ok(Redeemed::Issued(credentials_of(&body)?)),
            202 => Ok(Redeemed::Deferred(Pending { dpop_nonce: nonce.or_else(|| pending.dpop_nonce.clone()), ..pending.clone() })),
            _ => Err(WalletError::Issuer { status, body }),
        }
    }

    /// The pre-authorized code flow, accepting a deferred answer.
    pub async fn redeem_or_defer(&self, offer: &Value, tx_code: Option<&str>, dpop_key: &EcdsaP256Signer, holders: &[&EcdsaP256Signer]) -> Result<Redeemed, WalletError> {
        let issuer = offer.get("credential_issuer").and_then(Value::as_str).ok_or_else(|| WalletError::Protocol("offer without credential_issuer".into()))?;
        let config = offer.pointer("/credential_configuration_ids/0").and_then(Value::as_str).ok_or_else(|| WalletError::Protocol("offer without configuration".into()))?;
        let code = offer
            .pointer("/grants/urn:ietf:params:oauth:grant-type:pre-authorized_code/pre-authorized_code")
            .and_then(Value::as_str)
            .ok_or_else(|| WalletError::Protocol("offer without a pre-authorized code".into()))?;
        let mut form = vec![("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code".to_owned()), ("pre-authorized_code", code.to_owned())];
        if let Some(tx) = tx_code {
            form.push(("tx_code", tx.to_owned()));
        }
        self.exchange(issuer, config, &form, dpop_key, holders, None).await
    }

    /// POST a form with a DPoP proof by `key`; where the server asks for a (new) DPoP nonce (RFC 9449
    /// §8), the identical request once more with it. The answer's body; `nonce` is left at the
    /// server's latest (the next request starts with it).
    pub(crate) async fn post_form_dpop(&self, url: &str, form: &[(&str, String)], key: &EcdsaP256Signer, nonce: &mut Option<String>) -> Result<Value, WalletError> {
        for attempt in 0..2 {
            let resp = self.http.post(url).header("DPoP", dpop_proof(key, "POST", url, None, nonce.as_deref())?).form(form).send().await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let text = resp.text().await?;
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            if let Some(n) = headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) {
                let retry = attempt == 0 && wants_nonce(status, &headers, &body) && nonce.as_deref() != Some(n);
                *nonce = Some(n.to_owned());
                if retry {
                    continue;
                }
            }
            if !(200..300).contains(&status) {
                return Err(WalletError::Issuer { status, body });
            }
            return Ok(body);
        }
        Err(WalletError::Protocol(format!("{url} kept asking for a new DPoP nonce")))
    }

    /// The token request (`form`), then the credential request with one key proof per holder key;
    /// DPoP-bound to `dpop_key`, retrying once with the server's DPoP nonce where it asks for one.
    pub(crate) async fn exchange(&self, issuer: &str, config: &str, form: &[(&str, String)], dpop_key: &EcdsaP256Signer, holders: &[&EcdsaP256Signer], nonce: Option<String>) -> Result<Redeemed, WalletError> {
        let meta = answer(self.http.get(format!("{issuer}/.well-known/openid-credential-issuer")).send().await?).await?;
        let as_meta = answer(self.http.get(format!("{issuer}/.well-known/oauth-authorization-server")).send().await?).await?;
        let token_url = as_meta.get("token_endpoint").and_then(Value::as_str).ok_or_else(|| WalletError::Protocol("no token_endpoint".into()))?.to_owned();
        // The server may ask for a DPoP nonce; the retry resends the identical request with it.
        let mut dpop_nonce: Option<String> = nonce;
        let tok = self.post_form_dpop(&token_url, form, dpop_key, &mut dpop_nonce).await?;
        let token = tok.get("access_token").and_then(Value::as_str).ok_or_else(|| WalletError::Protocol(format!("no access_token in {tok}")))?.to_owned();
        let nonce_url = meta.get("nonce_endpoint").and_then(Value::as_str).ok_or_else(|| WalletError::Protocol("no nonce_endpoint".into()))?;
        let c_nonce = answer(self.http.post(nonce_url).send().await?).await?.get("c_nonce").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| WalletError::Protocol("no c_nonce".into()))?;
        let cred_url = meta.get("credential_endpoint").and_then(Value::as_str).ok_or_else(|| WalletError::Protocol("no credential_endpoint".into()))?;
        let proofs = holders.iter().map(|h| key_proof(h, issuer, &c_nonce)).collect::<Result<Vec<_>, _>>()?;
        let body = json!({"credential_configuration_id": config, "proofs": {"jwt": proofs}});
        let mut resp = Value::Null;
        for attempt in 0..2 {
            let r = self
                .http
                .post(cred_url)
                .header("Authorization", format!("DPoP {token}"))
                .header("DPoP", dpop_proof(dpop_key, "POST", cred_url, Some(&token), dpop_nonce.as_deref())?)
                .json(&body)
                .send()
                .await?;
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let text = r.text().await?;
            let answer: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            if attempt == 0 && wants_nonce(status, &headers, &answer)
                && let Some(n) = headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) {
                    dpop_nonce = Some(n.to_owned());
                    continue;
                }
            if !(200..300).contains(&status) {
                return Err(WalletError::Issuer { status, body: answer });
            }
            resp = answer;
            break;
        }
        if let Some(tx) = resp.get("transaction_id").and_then(Value::as_str) {
            let deferred_endpoint = meta.get("deferred_credential_endpoint").and_then(Value::as_str).ok_or_else(|| WalletError::Protocol("deferred answer but no deferred_credential_endpoint".into()))?;
            return Ok(Redeemed::Deferred(Pending {
                transaction_id: tx.to_owned(),
                interval: resp.get("interval").and_then(Value::as_u64).unwrap_or(5),
                deferred_endpoint: deferred_endpoint.to_owned(),
                access_token: token,
                dpop_nonce,
            }));
        }
        Ok(Redeemed::Issued(credentials_of(&resp)?))
    }
}

fn credentials_of(resp: &Value) -> Result<Vec<String>, WalletError> {
    resp.get("credentials")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|c| c.get("credential").and_then(Value::as_str).map(str::to_owned)).collect())
        .ok_or_else(|| WalletError::Protocol(format!("no credentials in {resp}")))
}
