//! The OpenID4VP 1.0 messages of the verifier role (HAIP profile): the `openid4vp://` link, the
//! signed request object with its DCQL query, and the wallet's answer — a form with `response`
//! (a JWE, `direct_post.jwt`) or `vp_token` and `state` (`direct_post`).

use super::config::ResponseMode;
use esspass_core::ErrorCode;
use esspass_credential::type_metadata::Selector;
use esspass_credential::x509::ChainValidator;
use esspass_credential::{Signer, b64};
use serde_json::{Map, Value, json};

/// A refusal of the wallet's answer: its code and what was wrong.
#[derive(Debug)]
pub struct Refusal(pub ErrorCode, pub String);

fn refuse(code: ErrorCode, detail: impl Into<String>) -> Refusal {
    Refusal(code, detail.into())
}

/// The transaction's ephemeral ECDH P-256 key: the wallet encrypts its answer to it.
pub struct EphemeralKey {
    scalar: Vec<u8>,
    key: aws_lc_rs::agreement::PrivateKey,
}

impl std::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EphemeralKey(…)")
    }
}

impl EphemeralKey {
    pub fn generate() -> Result<Self, String> {
        let key = aws_lc_rs::agreement::PrivateKey::generate(&aws_lc_rs::agreement::ECDH_P256).map_err(|_| "no randomness".to_owned())?;
        let bin: aws_lc_rs::encoding::EcPrivateKeyBin<'_> = aws_lc_rs::encoding::AsBigEndian::as_be_bytes(&key).map_err(|_| "key export".to_owned())?;
        let scalar = bin.as_ref().to_vec();
        Ok(Self { scalar, key })
    }

    pub fn to_b64(&self) -> String {
        b64::encode(&self.scalar)
    }

    pub fn from_b64(s: &str) -> Result<Self, String> {
        let scalar = b64::decode(s).map_err(|e| e.detail)?;
        let key = aws_lc_rs::agreement::PrivateKey::from_private_key(&aws_lc_rs::agreement::ECDH_P256, &scalar).map_err(|_| "not a P-256 key".to_owned())?;
        Ok(Self { scalar, key })
    }

    /// The public key as a JWK for `client_metadata.jwks`.
    pub fn public_jwk(&self, kid: &str) -> Result<Value, String> {
        let public = self.key.compute_public_key().map_err(|_| "public key".to_owned())?;
        let point = public.as_ref();
        let (x, y) = (point.get(1..33).ok_or("point")?, point.get(33..65).ok_or("point")?);
        Ok(json!({"kty": "EC", "crv": "P-256", "x": b64::encode(x), "y": b64::encode(y), "use": "enc", "alg": "ECDH-ES", "kid": kid}))
    }
}

/// `openid4vp://?client_id=…&request_uri=…` (request by reference).
pub fn authorization_link(client_id: &str, request_uri: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("openid4vp://?client_id={}&request_uri={}", enc(client_id), enc(request_uri))
}

/// What a request object is made from.
pub struct RequestInput<'a> {
    pub signer: &'a dyn Signer,
    pub chain: &'a [Vec<u8>],
    pub client_id: &'a str,
    pub response_uri: &'a str,
    pub response_mode: ResponseMode,
    pub nonce: &'a str,
    pub state: &'a str,
    /// The DCQL credential query's id (the profile's name).
    pub query_id: &'a str,
    pub vct: &'a str,
    pub claims: &'a [Vec<Selector>],
    /// The trust anchors: their key identifiers go into `trusted_authorities` (`aki`).
    pub trusted_authorities: &'a ChainValidator,
    pub encryption_key: &'a EphemeralKey,
    pub encryption_kid: &'a str,
    pub verifier_name: &'a str,
    pub purpose: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

/// The DCQL query of a profile: one `dc+sd-jwt` credential of the type, the claims by path, and
/// the trust anchors by authority key identifier.
pub fn dcql(query_id: &str, vct: &str, claims: &[Vec<Selector>], anchors: &ChainValidator) -> Value {
    let paths: Vec<Value> = claims.iter().map(|p| json!({"path": p.iter().map(selector_json).collect::<Vec<_>>()})).collect();
    let akis: Vec<Value> = anchors.anchors().iter().filter_map(|c| c.subject_key_id.as_ref().map(|k| Value::String(b64::encode(k)))).collect();
    let mut cq = json!({"id": query_id, "format": "dc+sd-jwt", "meta": {"vct_values": [vct]}, "claims": paths});
    if !akis.is_empty()
        && let Some(o) = cq.as_object_mut()
    {
        o.insert("trusted_authorities".into(), json!([{"type": "aki", "values": akis}]));
    }
    json!({"credentials": [cq]})
}

fn selector_json(s: &Selector) -> Value {
    match s {
        Selector::Key(k) => Value::String(k.clone()),
        Selector::Index(i) => json!(i),
        Selector::AnyElement => Value::Null,
    }
}

/// The signed request object (`typ: oauth-authz-req+jwt`, `x5c` the verifier's chain).
pub fn request_object(r: &RequestInput<'_>) -> Result<String, String> {
    let mut header = Map::new();
    header.insert("typ".into(), json!("oauth-authz-req+jwt"));
    header.insert("x5c".into(), Value::Array(r.chain.iter().map(|c| Value::String(b64::encode_std(c))).collect()));
    let mut metadata = json!({
        "vp_formats_supported": {"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]}},
        "client_name": r.verifier_name,
    });
    if r.response_mode == ResponseMode::DirectPostJwt
        && let Some(o) = metadata.as_object_mut()
    {
        o.insert("jwks".into(), json!({"keys": [r.encryption_key.public_jwk(r.encryption_kid)?]}));
        o.insert("encrypted_response_enc_values_supported".into(), json!(["A128GCM", "A256GCM"]));
    }
    let mut payload = json!({
        "iss": r.client_id,
        "aud": "https://self-issued.me/v2",
        "client_id": r.client_id,
        "response_type": "vp_token",
        "response_mode": r.response_mode.as_str(),
        "response_uri": r.response_uri,
        "nonce": r.nonce,
        "state": r.state,
        "dcql_query": dcql(r.query_id, r.vct, r.claims, r.trusted_authorities),
        "client_metadata": metadata,
        "iat": r.now,
        "exp": r.expires_at,
    });
    if let (Some(p), Some(o)) = (r.purpose, payload.as_object_mut()) {
        o.insert("purpose".into(), json!(p));
    }
    let Value::Object(payload) = payload else { return Err("payload".into()) };
    esspass_credential::jose::sign_compact(r.signer, header, &payload).map_err(|e| e.detail)
}

/// The wallet's answer, opened.
#[derive(Debug)]
pub struct Answer {
    pub state: Option<String>,
    pub vp_token: Value,
}

impl Answer {
    /// The one presentation for the query `id` (`vp_token` is `{id: [presentation]}` under DCQL).
    pub fn presentation_for(&self, id: &str) -> Result<String, Refusal> {
        let Some(obj) = self.vp_token.as_object() else { return Err(refuse(ErrorCode::ResponseMalformed, "vp_token is not a JSON object keyed by the query's credential ids")) };
        if let Some(other) = obj.keys().find(|k| *k != id) {
            return Err(refuse(ErrorCode::ResponseMalformed, format!("vp_token answers a query ({other}) this request did not make")));
        }
        let entry = obj.get(id).ok_or_else(|| refuse(ErrorCode::ResponseMalformed, format!("vp_token has no presentation for {id}")))?;
        let one = match entry {
            Value::Array(a) if a.len() == 1 => a.first(),
            Value::Array(_) => return Err(refuse(ErrorCode::ResponseMalformed, "exactly one presentation is expected")),
            // Drafts sent the presentation itself; 1.0 sends an array.
            v @ Value::String(_) => Some(v),
            _ => None,
        };
        one.and_then(Value::as_str).map(str::to_owned).ok_or_else(|| refuse(ErrorCode::ResponseMalformed, "the presentation is not a string"))
    }
}

fn form(body: &[u8]) -> Map<String, Value> {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect()
}

/// Open the wallet's POST to the response URI.
pub fn open_response(content_type: Option<&str>, body: &[u8], mode: ResponseMode, key: &EphemeralKey, kid: &str) -> Result<Answer, Refusal> {
    if !content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        return Err(refuse(ErrorCode::ResponseMalformed, "the response must be application/x-www-form-urlencoded"));
    }
    let f = form(body);
    let fields = match mode {
        ResponseMode::DirectPostJwt => {
            let Some(jwe) = f.get("response").and_then(Value::as_str) else {
                return Err(refuse(ErrorCode::ResponseMalformed, "direct_post.jwt: the form has no response parameter (a plain vp_token is not accepted for this profile)"));
            };
            let plain = esspass_credential::jwe::decrypt(jwe, &key.key, kid).map_err(|e| refuse(ErrorCode::ResponseUndecryptable, e))?;
            let Value::Object(o) = serde_json::from_slice::<Value>(&plain).map_err(|_| refuse(ErrorCode::ResponseMalformed, "the decrypted response is not JSON"))? else {
                return Err(refuse(ErrorCode::ResponseMalformed, "the decrypted response is not a JSON object"));
            };
            o
        }
        ResponseMode::DirectPost => f,
    };
    let vp_token = match fields.get("vp_token") {
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| refuse(ErrorCode::ResponseMalformed, "vp_token is not JSON"))?,
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(refuse(ErrorCode::ResponseMalformed, "the response has no vp_token")),
    };
    Ok(Answer { state: fields.get("state").and_then(Value::as_str).map(str::to_owned), vp_token })
}

/// The disclosed claims (dotted paths) the query did not ask for, if any: a disclosure of a
/// requested object's member counts as asked.
pub fn beyond_query(disclosed: &[String], allowed: &[String]) -> Option<Vec<String>> {
    let extra: Vec<String> = disclosed.iter().filter(|d| !allowed.iter().any(|a| *d == a || d.starts_with(&format!("{a}.")))).cloned().collect();
    (!extra.is_empty()).then_some(extra)
}
