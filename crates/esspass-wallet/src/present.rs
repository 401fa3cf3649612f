//! The holder's side of OpenID4VP 1.0 (HAIP): read the `openid4vp://` link, fetch the signed
//! request object, check it — the signature and chain, the client id against the certificate
//! (`x509_hash` / `x509_san_dns`), the verifier in the Verifier Trusted List, and the DCQL query
//! within the verifier's registered profile — then, with the holder's consent, answer with a
//! presentation disclosing only what was asked, bound to the request's nonce and client id,
//! encrypted to the verifier's key for `direct_post.jwt`.

use crate::WalletError;
use esspass_core::{Date, ErrorCode};
use esspass_credential::sdjwt::SdJwt;
use esspass_credential::sdjwt::present::{Selection, bind, contents, select};
use esspass_credential::trust::{TrustedList, VerifierEntry};
use esspass_credential::type_metadata::Selector;
use esspass_credential::x509::ChainValidator;
use esspass_credential::{Signer, b64, jose::CompactJws};
use serde_json::{Value, json};

/// A refusal with its stable code (`ESP-7112` untrusted, `ESP-7113` beyond registration, …).
#[derive(Debug)]
pub struct Refused {
    pub code: ErrorCode,
    pub reason: String,
}

fn refused(code: ErrorCode, reason: impl Into<String>) -> Refused {
    Refused { code, reason: reason.into() }
}

/// `openid4vp://?client_id=…&request_uri=…` → (client_id, request_uri, request_uri_method).
pub fn parse_link(link: &str) -> Result<(String, String, Option<String>), Refused> {
    let query = link.split_once('?').map(|(_, q)| q).ok_or_else(|| refused(ErrorCode::ResponseMalformed, "not an openid4vp link"))?;
    let mut client_id = None;
    let mut request_uri = None;
    let mut method = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "client_id" => client_id = Some(v.into_owned()),
            "request_uri" => request_uri = Some(v.into_owned()),
            "request_uri_method" => method = Some(v.into_owned()),
            _ => {}
        }
    }
    match (client_id, request_uri) {
        (Some(c), Some(r)) if r.starts_with("https://") => Ok((c, r, method)),
        (Some(_), Some(r)) => Err(refused(ErrorCode::ResponseMalformed, format!("request_uri {r} is not https"))),
        _ => Err(refused(ErrorCode::ResponseMalformed, "the link needs client_id and request_uri (request by reference)")),
    }
}

/// A request object the wallet has checked.
#[derive(Debug, Clone)]
pub struct CheckedRequest {
    pub client_id: String,
    pub verifier: VerifierEntry,
    pub response_uri: String,
    pub response_mode: String,
    pub nonce: String,
    pub state: Option<String>,
    pub query_id: String,
    pub vct: String,
    pub paths: Vec<Vec<Selector>>,
    /// The verifier's encryption key (`direct_post.jwt`) and the `enc` chosen.
    pub encryption: Option<(Value, String)>,
    pub purpose: Option<String>,
}

fn selector(v: &Value) -> Option<Selector> {
    match v {
        Value::String(s) => Some(Selector::Key(s.clone())),
        Value::Number(n) => n.as_u64().and_then(|i| usize::try_from(i).ok()).map(Selector::Index),
        Value::Null => Some(Selector::AnyElement),
        _ => None,
    }
}

/// Check a request object fetched from `request_uri` for the link's `client_id`.
pub fn check_request(jwt: &str, link_client_id: &str, chains: &ChainValidator, verifiers: &TrustedList, now: i64) -> Result<CheckedRequest, Refused> {
    let untrusted = |r: String| refused(ErrorCode::RequestUntrusted, r);
    let parsed = CompactJws::parse(jwt.trim()).map_err(|e| untrusted(format!("the request object is not a JWS: {}", e.detail)))?;
    if parsed.typ() != Some("oauth-authz-req+jwt") {
        return Err(untrusted(format!("request typ {}, expected oauth-authz-req+jwt", parsed.typ().unwrap_or("(none)"))));
    }
    let x5c: Vec<&str> = parsed.header.get("x5c").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let chain = chains.validate_x5c(&x5c, now).map_err(|e| untrusted(format!("the request's certificate chain: {}", e.detail)))?;
    let point = chain.leaf.p256_point().ok_or_else(|| untrusted("the request-signing key is not P-256".into()))?;
    if !parsed.verify_with_point(point) {
        return Err(untrusted("the request object's signature does not verify".into()));
    }
    let whole = Value::Object(parsed.payload.clone());
    let p = &whole;
    let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
    let client_id = s("client_id").ok_or_else(|| untrusted("the request has no client_id".into()))?;
    if client_id != link_client_id {
        return Err(untrusted("the request's client_id differs from the link's".into()));
    }
    let bound = if let Some(h) = client_id.strip_prefix("x509_hash:") {
        h == b64::encode(esspass_credential::sha256(&chain.leaf.der))
    } else if let Some(dns) = client_id.strip_prefix("x509_san_dns:") {
        chain.leaf.san_dns.iter().any(|d| d == dns)
    } else {
        false
    };
    if !bound {
        return Err(untrusted(format!("client_id {client_id} does not match the request-signing certificate (x509_hash or x509_san_dns)")));
    }
    if p.get("exp").and_then(Value::as_i64).is_some_and(|e| now >= e) {
        return Err(untrusted("the request has expired".into()));
    }
    let entry = verifiers.verifier_for(&chain.leaf).cloned().ok_or_else(|| untrusted(format!("{} is not in the Verifier Trusted List", chain.leaf.subject_text)))?;
    if s("response_type").as_deref() != Some("vp_token") {
        return Err(refused(ErrorCode::ResponseMalformed, "response_type must be vp_token"));
    }
    let response_mode = s("response_mode").unwrap_or_default();
    if response_mode != "direct_post.jwt" && response_mode != "direct_post" {
        return Err(refused(ErrorCode::ResponseMalformed, format!("response_mode {response_mode:?} is not direct_post.jwt or direct_post")));
    }
    let response_uri = s("response_uri").filter(|u| u.starts_with("https://")).ok_or_else(|| refused(ErrorCode::ResponseMalformed, "the request needs an https response_uri"))?;
    let nonce = s("nonce").filter(|n| !n.is_empty()).ok_or_else(|| refused(ErrorCode::ResponseMalformed, "the request has no nonce"))?;
    let creds = p.pointer("/dcql_query/credentials").and_then(Value::as_array).ok_or_else(|| refused(ErrorCode::ResponseMalformed, "the request has no DCQL query"))?;
    let [cq] = creds.as_slice() else { return Err(refused(ErrorCode::ResponseMalformed, "this wallet answers a query for one credential")) };
    if cq.get("format").and_then(Value::as_str) != Some("dc+sd-jwt") {
        return Err(refused(ErrorCode::ResponseMalformed, "the query is not for dc+sd-jwt"));
    }
    let query_id = cq.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let vct = cq.pointer("/meta/vct_values/0").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut paths = Vec::new();
    for c in cq.get("claims").and_then(Value::as_array).into_iter().flatten() {
        let path: Option<Vec<Selector>> = c.get("path").and_then(Value::as_array).map(|a| a.iter().map(selector).collect::<Option<Vec<_>>>()).unwrap_or(None);
        paths.push(path.ok_or_else(|| refused(ErrorCode::ResponseMalformed, "a claim path is not an array of names, indexes and null"))?);
    }
    let today = Date::of_instant(time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH));
    if !entry.may_request(&vct, &paths, today) {
        return Err(refused(ErrorCode::RequestBeyondRegistration, format!("{} asks for more of {vct} than it is registered for in the Verifier Trusted List", entry.name)));
    }
    let encryption = if response_mode == "direct_post.jwt" {
        let key = p.pointer("/client_metadata/jwks/keys").and_then(Value::as_array).and_then(|k| k.iter().find(|k| k.get("use").and_then(Value::as_str) != Some("sig")).cloned()).ok_or_else(|| refused(ErrorCode::ResponseMalformed, "direct_post.jwt without an encryption key in client_metadata.jwks"))?;
        let offered: Vec<&str> = p.pointer("/client_metadata/encrypted_response_enc_values_supported").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_else(|| vec!["A128GCM"]);
        let enc = ["A256GCM", "A128GCM"].into_iter().find(|e| offered.contains(e)).ok_or_else(|| refused(ErrorCode::ResponseMalformed, "no content encryption this wallet supports (A128GCM, A256GCM)"))?;
        Some((key, enc.to_owned()))
    } else {
        None
    };
    Ok(CheckedRequest { client_id, verifier: entry, response_uri, response_mode, nonce, state: s("state"), query_id, vct, paths, encryption, purpose: s("purpose") })
}

/// What the holder is asked to consent to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    /// Selectively disclosable claims that will be revealed.
    pub disclosed: Vec<String>,
    /// Claims every presentation of this credential shows (not selectively disclosable).
    pub always_visible: Vec<String>,
}

fn path_text(p: &[Selector]) -> String {
    p.iter()
        .map(|s| match s {
            Selector::Key(k) => k.clone(),
            Selector::Index(i) => i.to_string(),
            Selector::AnyElement => "*".into(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The disclosures the request needs from this credential, and what is visible anyway.
pub fn plan(req: &CheckedRequest, credential: &SdJwt) -> Result<(SdJwt, Plan), Refused> {
    let c = contents(credential).map_err(|e| refused(e.code, e.detail))?;
    if c.claims.get("vct").and_then(Value::as_str) != Some(req.vct.as_str()) {
        return Err(refused(ErrorCode::WrongCredentialType, format!("the request asks for {}, this credential is {}", req.vct, c.claims.get("vct").and_then(Value::as_str).unwrap_or("?"))));
    }
    let asked: Vec<String> = req.paths.iter().map(|p| path_text(p)).collect();
    let selections: Vec<Selection> = asked.iter().filter_map(|a| Selection::parse(a).ok()).collect();
    let selected = select(credential, &selections).map_err(|e| refused(e.code, e.detail))?;
    let disclosed: Vec<String> = c.disclosable.iter().filter(|d| asked.iter().any(|a| *d == a || d.starts_with(&format!("{a}.")))).cloned().collect();
    let always_visible: Vec<String> = c.claims.keys().filter(|k| !c.disclosable.iter().any(|d| d == *k || d.starts_with(&format!("{k}.")))).filter(|k| !["cnf", "_sd_alg", "status"].contains(&k.as_str())).cloned().collect();
    Ok((selected, Plan { disclosed, always_visible }))
}

/// The form body to post to the response URI: the presentation bound to the request's nonce and
/// client id, as `{query_id: [presentation]}`, encrypted for `direct_post.jwt`.
pub fn response_body(req: &CheckedRequest, selected: SdJwt, holder: &dyn Signer, now: i64) -> Result<String, Refused> {
    let presented = bind(selected, holder, &req.nonce, &req.client_id, now).map_err(|e| refused(e.code, e.detail))?;
    let vp_token = json!({ req.query_id.clone(): [presented.serialize()] });
    let mut fields = json!({"vp_token": vp_token});
    if let (Some(st), Some(o)) = (&req.state, fields.as_object_mut()) {
        o.insert("state".into(), json!(st));
    }
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    match &req.encryption {
        Some((key, e)) => {
            let plain = serde_json::to_vec(&fields).map_err(|e| refused(ErrorCode::Internal, e.to_string()))?;
            let jwe = esspass_credential::jwe::encrypt(&plain, key, e, b"", req.nonce.as_bytes()).map_err(|e| refused(ErrorCode::Internal, e))?;
            Ok(format!("response={}", enc(&jwe)))
        }
        None => {
            let mut body = format!("vp_token={}", enc(&vp_token.to_string()));
            if let Some(st) = &req.state {
                body.push_str(&format!("&state={}", enc(st)));
            }
            Ok(body)
        }
    }
}

impl crate::Oid4vciClient {
    /// GET (or, when the link asks, POST) the request object.
    pub async fn fetch_request(&self, request_uri: &str, method: Option<&str>) -> Result<String, WalletError> {
        let r = if method == Some("post") { self.http.post(request_uri).header("Content-Type", "application/x-www-form-urlencoded").body("") } else { self.http.get(request_uri) };
        let resp = r.header("Accept", "application/oauth-authz-req+jwt").send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        if (200..300).contains(&status) { Ok(text) } else { Err(WalletError::Issuer { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }) }
    }

    /// POST the answer to the response URI; the verifier's JSON answer.
    pub async fn post_response(&self, response_uri: &str, body: String) -> Result<Value, WalletError> {
        let resp = self.http.post(response_uri).header("Content-Type", "application/x-www-form-urlencoded").body(body).send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) { Ok(v) } else { Err(WalletError::Issuer { status, body: v }) }
    }
}
