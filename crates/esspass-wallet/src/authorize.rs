//! The authorization-code flow of OpenID4VCI 1.0 (HAIP): a pushed authorization request (RFC 9126)
//! with PKCE S256 (RFC 7636), DPoP-bound (RFC 9449), the offer's `issuer_state` where it has one;
//! the sign-in at the institution; the redirect's `code`, `state` and `iss` (RFC 9207) checked; the
//! code redeemed with the verifier and the same DPoP key.
//!
//! A CLI wallet has no browser: on the same device it plays the person's browser on the
//! institution's sign-in page — it reads the page's `openid4vp://` link and sign-in reference
//! ([`pid_sign_in_of`]), the wallet presents its PID to that link (the caller does, after the usual
//! checks and consent), and [`Oid4vciClient::continue_pid_sign_in`] takes the redirect.

use crate::{Oid4vciClient, Redeemed, WalletError, answer};
use esspass_credential::{EcdsaP256Signer, b64};
use serde_json::Value;

/// A started authorization: where the person signs in, and what the wallet keeps to redeem the code.
#[derive(Debug, Clone)]
pub struct Started {
    pub issuer: String,
    pub configuration: String,
    /// `{authorization_endpoint}?client_id=…&request_uri=…`.
    pub authorize_url: String,
    /// The PKCE code verifier (kept by the wallet, never sent before the token request).
    pub code_verifier: String,
    /// The `state` sent; the redirect must carry it back.
    pub state: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub dpop_nonce: Option<String>,
}

/// The code of a redirect to the wallet, after checking `state` and `iss` (RFC 9207: the code
/// comes from the issuer the wallet asked, not from a mix-up).
pub fn code_of_redirect(location: &str, started: &Started) -> Result<String, WalletError> {
    let url = url::Url::parse(location).map_err(|e| WalletError::Protocol(format!("the redirect is not a URL: {e}")))?;
    if !location.starts_with(&started.redirect_uri) {
        return Err(WalletError::Protocol("the sign-in redirected somewhere other than the wallet's redirect_uri".into()));
    }
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(e) = q.get("error") {
        return Err(WalletError::Protocol(format!("the authorization failed: {e} {}", q.get("error_description").map(String::as_str).unwrap_or_default())));
    }
    if q.get("state") != Some(&started.state) {
        return Err(WalletError::Protocol("the redirect's state is not the one sent (refused)".into()));
    }
    if q.get("iss") != Some(&started.issuer) {
        return Err(WalletError::Protocol(format!("the redirect's iss is {:?}, not the issuer asked {} (RFC 9207; refused)", q.get("iss"), started.issuer)));
    }
    q.get("code").cloned().ok_or_else(|| WalletError::Protocol("the redirect has no code".into()))
}

/// The `openid4vp://` link and the sign-in reference of an institution's PID sign-in page.
pub fn pid_sign_in_of(page: &str) -> Result<(String, String), WalletError> {
    let link = page
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|h| h.starts_with("openid4vp://"))
        .map(|h| h.replace("&amp;", "&"))
        .ok_or_else(|| WalletError::Protocol("the institution's sign-in page offers no sign-in with a PID".into()))?;
    let marker = "name=\"signin\" value=\"";
    let signin = page.split_once(marker).and_then(|(_, rest)| rest.split('"').next()).map(str::to_owned).ok_or_else(|| WalletError::Protocol("the sign-in page has no sign-in reference".into()))?;
    Ok((link, signin))
}

impl Oid4vciClient {
    /// Push the authorization request for `configuration` (with the offer's `issuer_state` when
    /// given) and return where to sign in.
    pub async fn start_authorization(&self, issuer: &str, configuration: &str, issuer_state: Option<&str>, client_id: &str, redirect_uri: &str, dpop_key: &EcdsaP256Signer) -> Result<Started, WalletError> {
        let as_meta = answer(self.http.get(format!("{issuer}/.well-known/oauth-authorization-server")).send().await?).await?;
        let field = |k: &str| as_meta.get(k).and_then(Value::as_str).map(str::to_owned);
        let par = field("pushed_authorization_request_endpoint").ok_or_else(|| WalletError::Protocol(format!("{issuer} offers no authorization-code flow (no pushed_authorization_request_endpoint)")))?;
        let authorize = field("authorization_endpoint").ok_or_else(|| WalletError::Protocol("no authorization_endpoint".into()))?;
        if as_meta.get("code_challenge_methods_supported").and_then(Value::as_array).is_some_and(|m| !m.iter().any(|x| x == "S256")) {
            return Err(WalletError::Protocol("the authorization server does not support PKCE S256".into()));
        }
        let code_verifier = b64::encode(esspass_credential::random_bytes::<32>());
        let state = b64::encode(esspass_credential::random_bytes::<16>());
        let challenge = b64::encode(esspass_credential::sha256(code_verifier.as_bytes()));
        let mut form = vec![
            ("response_type", "code".to_owned()),
            ("client_id", client_id.to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
            ("scope", configuration.to_owned()),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256".to_owned()),
            ("state", state.clone()),
        ];
        if let Some(s) = issuer_state {
            form.push(("issuer_state", s.to_owned()));
        }
        let mut nonce: Option<String> = None;
        let body = self.post_form_dpop(&par, &form, dpop_key, &mut nonce).await?;
        let request_uri = body.get("request_uri").and_then(Value::as_str).ok_or_else(|| WalletError::Protocol("the pushed authorization request gave no request_uri".into()))?;
        let q = url::form_urlencoded::Serializer::new(String::new()).append_pair("client_id", client_id).append_pair("request_uri", request_uri).finish();
        Ok(Started {
            issuer: issuer.to_owned(),
            configuration: configuration.to_owned(),
            authorize_url: format!("{authorize}?{q}"),
            code_verifier,
            state,
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            dpop_nonce: nonce,
        })
    }

    /// The institution's sign-in page (HTML), as the person's browser would fetch it.
    pub async fn sign_in_page(&self, started: &Started) -> Result<String, WalletError> {
        let resp = self.no_redirect.get(&started.authorize_url).header("Accept", "text/html").send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        if status == 200 { Ok(text) } else { Err(WalletError::Issuer { status, body: Value::String(text) }) }
    }

    /// Continue the sign-in once the PID was presented: the redirect to the wallet's redirect URI.
    pub async fn continue_pid_sign_in(&self, page_url: &str, signin: &str) -> Result<String, WalletError> {
        let base = url::Url::parse(page_url).map_err(|e| WalletError::Protocol(e.to_string()))?;
        let url = base.join("/authorize/pid").map_err(|e| WalletError::Protocol(e.to_string()))?;
        let resp = self.no_redirect.post(url).form(&[("signin", signin)]).send().await?;
        let status = resp.status().as_u16();
        if status == 303 || status == 302 {
            return resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned).ok_or_else(|| WalletError::Protocol("a redirect without a location".into()));
        }
        let text = resp.text().await?;
        // The page's message, without its markup.
        let message = text.split("<main>").nth(1).unwrap_or(&text).replace('\n', " ");
        let plain: String = message.split('<').map(|part| part.split_once('>').map_or(part, |(_, t)| t)).collect::<Vec<_>>().join(" ");
        Err(WalletError::Issuer { status, body: Value::String(plain.split_whitespace().collect::<Vec<_>>().join(" ")) })
    }

    /// Redeem the code: token request with the PKCE verifier and the same DPoP key, then the
    /// credential request.
    pub async fn redeem_code(&self, started: &Started, code: &str, dpop_key: &EcdsaP256Signer, holders: &[&EcdsaP256Signer]) -> Result<Redeemed, WalletError> {
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("code_verifier", started.code_verifier.clone()),
            ("redirect_uri", started.redirect_uri.clone()),
            ("client_id", started.client_id.clone()),
        ];
        self.exchange(&started.issuer, &started.configuration, &form, dpop_key, holders, started.dpop_nonce.clone()).await
    }
}
