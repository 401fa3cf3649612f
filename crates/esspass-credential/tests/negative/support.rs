//! Crafting malicious inputs, and the one assertion every negative test ends with.
//!
//! A [`Scenario`] holds the full claim set of a credential exactly as `vc::issue` would build it
//! (JWT claims + normalised business claims) and the JOSE header; a test changes claims, header,
//! payload or disclosures in ways `vc::issue` never would, signs the result with the real
//! institution key from the demo PKI, and checks the verifier's report with [`expect`].

use crate::common::*;
use esspass_core::{CredentialType, ErrorCode};
use esspass_credential::jose::sign_compact;
use esspass_credential::sdjwt::issue::make_disclosable;
use esspass_credential::sdjwt::present::bind;
use esspass_credential::sdjwt::{Disclosure, SdJwt, sd_hash};
use esspass_credential::type_metadata::{PathElem, Sd, TypeMetadata};
use esspass_credential::verify::{CHECKS, CheckResult, Expectation, Outcome, Report, Verifier};
use esspass_credential::{EcdsaP256Signer, Signer, b64};
use serde_json::{Map, Value, json};
use std::panic::AssertUnwindSafe;

pub const NONCE: &str = "n-0S6_WzA2Mj";
pub const AUD: &str = "https://127.0.0.1:8452";
/// The status index every scenario credential carries.
pub const IDX: u64 = 7;

pub fn expectation() -> Expectation<'static> {
    Expectation { nonce: Some(NONCE), aud: Some(AUD) }
}

/// Verify at NOW with the usual expectation; a panic becomes a test failure naming the input size.
pub fn run(v: &Verifier, presentation: &str) -> Report {
    run_with(v, presentation, &expectation())
}

pub fn run_with(v: &Verifier, presentation: &str, e: &Expectation<'_>) -> Report {
    match std::panic::catch_unwind(AssertUnwindSafe(|| v.verify(presentation, e, now()))) {
        Ok(r) => r,
        Err(_) => panic!("the verifier panicked on an input of {} bytes", presentation.len()),
    }
}

pub fn x5c_value(chain: &[Vec<u8>]) -> Value {
    Value::Array(chain.iter().map(|c| Value::String(b64::encode_std(c))).collect())
}

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// base64url(JSON) of a header or payload, for hand-made JWS.
pub fn b64_json(v: &Value) -> String {
    b64::encode(serde_json::to_vec(v).unwrap())
}

/// A value nested `depth` arrays deep.
pub fn nested(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = Value::Array(vec![v]);
    }
    v
}

/// The claims, header and holder of one credential before selective disclosure is applied.
pub struct Scenario {
    pub t: CredentialType,
    pub slug: &'static str,
    pub holder: EcdsaP256Signer,
    pub claims: Map<String, Value>,
    pub header: Map<String, Value>,
}

impl Scenario {
    /// What `vc::issue` would sign for `t` from `slug`: iss (the slug's SAN URI), iat/nbf an hour
    /// ago, exp in a year, vct, jti, sub, cnf.jwk, status (IDX at STATUS_URI) and the example claims.
    pub fn new(t: CredentialType, slug: &'static str) -> Self {
        let p = pki();
        let holder = EcdsaP256Signer::generate().unwrap();
        let mut c = Map::new();
        c.insert("iss".into(), json!(p.iss(slug)));
        c.insert("iat".into(), json!(NOW - 3600));
        c.insert("nbf".into(), json!(NOW - 3600));
        c.insert("exp".into(), json!(NOW + 365 * 86400));
        c.insert("vct".into(), json!(t.vct()));
        c.insert("jti".into(), json!(format!("urn:uuid:{}", esspass_credential::vc::uuid_v4())));
        c.insert("sub".into(), json!(b64::encode(esspass_credential::random_bytes::<16>())));
        c.insert("cnf".into(), json!({"jwk": holder.public_jwk().to_value()}));
        c.insert("status".into(), json!({"status_list": {"idx": IDX, "uri": STATUS_URI}}));
        c.extend(esspass_credential::vc::normalise_claims(t, &claims(t)).unwrap());
        let mut header = Map::new();
        header.insert("typ".into(), json!("dc+sd-jwt"));
        header.insert("x5c".into(), x5c_value(&p.chain(slug)));
        Self { t, slug, holder, claims: c, header }
    }

    /// A PDA1 from e-EFKA (GR), which the Issuer Trusted List authorises for PDA1.
    pub fn pda1() -> Self {
        Self::new(CredentialType::Pda1, "el-efka")
    }

    /// An EHIC from ZZZS (SI), authorised for EHIC only.
    pub fn ehic() -> Self {
        Self::new(CredentialType::Ehic, "si-zzzs")
    }

    pub fn set(mut self, key: &str, v: Value) -> Self {
        self.claims.insert(key.into(), v);
        self
    }

    pub fn without(mut self, key: &str) -> Self {
        self.claims.remove(key);
        self
    }

    pub fn header(mut self, key: &str, v: Value) -> Self {
        self.header.insert(key.into(), v);
        self
    }

    /// Whether the shipped Type Metadata makes `path` a disclosure (what the issuer does).
    pub fn metadata_says_disclosable(&self, path: &[PathElem]) -> bool {
        TypeMetadata::builtin(self.t).sd_for(path) != Sd::Never
    }

    /// Apply selective disclosure as the issuer does (Type Metadata, with decoys).
    pub fn cred(&self) -> Cred {
        self.cred_with(&|p| self.metadata_says_disclosable(p))
    }

    /// Apply selective disclosure with another policy.
    pub fn cred_with(&self, policy: &dyn Fn(&[PathElem]) -> bool) -> Cred {
        let d = make_disclosable(&self.claims, policy, true);
        let mut payload = d.payload;
        payload.insert("_sd_alg".into(), json!("sha-256"));
        Cred { header: self.header.clone(), payload, disclosures: d.disclosures.iter().map(|d| d.encoded.clone()).collect() }
    }

    /// The institution's real signing key.
    pub fn signer(&self) -> EcdsaP256Signer {
        pki().signer(self.slug)
    }

    pub fn issue(&self) -> SdJwt {
        self.cred().sign(&self.signer())
    }

    /// Bind with the holder key for NONCE / AUD at NOW.
    pub fn present(&self, sd: SdJwt) -> String {
        bind(sd, &self.holder, NONCE, AUD, NOW).unwrap().serialize()
    }

    /// A status source with the institution's own (all VALID) list published at STATUS_URI.
    pub fn status_source(&self) -> MemorySource {
        let src = MemorySource::default();
        publish(&src, self.slug, STATUS_URI, &[]);
        src
    }

    /// Verify with the demo root, the Issuer Trusted List and the institution's status list.
    pub fn verify(&self, presentation: &str) -> Report {
        run(&verifier(&self.status_source()), presentation)
    }
}

/// A credential with selective disclosure applied, before signing.
#[derive(Clone)]
pub struct Cred {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    pub disclosures: Vec<String>,
}

impl Cred {
    pub fn sign(&self, signer: &dyn Signer) -> SdJwt {
        SdJwt { jwt: sign_compact(signer, self.header.clone(), &self.payload).unwrap(), disclosures: self.disclosures.clone(), kb_jwt: None }
    }

    /// Index of the disclosure for the claim `name`.
    pub fn position(&self, name: &str) -> usize {
        self.disclosures.iter().position(|d| Disclosure::parse(d).unwrap().name.as_deref() == Some(name)).unwrap_or_else(|| panic!("no disclosure named {name}"))
    }

    pub fn disclosure(&self, name: &str) -> Disclosure {
        Disclosure::parse(&self.disclosures[self.position(name)]).unwrap()
    }

    /// The top-level `_sd` array.
    pub fn top_sd(&mut self) -> &mut Vec<Value> {
        self.payload.get_mut("_sd").and_then(Value::as_array_mut).expect("the payload has a top-level _sd")
    }

    /// Add a disclosure and reference it from the top-level `_sd`.
    pub fn add_top(&mut self, d: &Disclosure) {
        self.top_sd().push(json!(d.digest()));
        self.disclosures.push(d.encoded.clone());
    }

    /// The digests of the top-level `_sd` that no disclosure matches (the decoys).
    pub fn decoys(&self) -> Vec<String> {
        let real: Vec<String> = self.disclosures.iter().map(|d| esspass_credential::sdjwt::disclosure::digest_of(d)).collect();
        self.payload["_sd"].as_array().unwrap().iter().filter_map(Value::as_str).filter(|d| !real.iter().any(|r| r == d)).map(str::to_owned).collect()
    }
}

/// A KB-JWT over `sd` with a free header and payload, signed by `key`.
pub fn kb_jwt(key: &dyn Signer, header: Value, payload: Value) -> String {
    sign_compact(key, obj(header), &obj(payload)).unwrap()
}

/// The KB-JWT payload an honest holder would sign for `sd`.
pub fn kb_payload(sd: &SdJwt) -> Value {
    json!({"iat": NOW, "aud": AUD, "nonce": NONCE, "sd_hash": sd_hash(&sd.without_kb())})
}

/// Expectations about a report. Every check before the failing one must have passed, unless it is
/// named in `allowing` with the result it may have instead (a legitimate skip, or an earlier
/// "could not check" error).
pub struct Expect<'r> {
    r: &'r Report,
    allowed: Vec<(&'static str, CheckResult)>,
}

pub fn expect(r: &Report) -> Expect<'_> {
    Expect { r, allowed: Vec::new() }
}

fn dump(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}

impl Expect<'_> {
    pub fn allowing(mut self, id: &'static str, result: CheckResult) -> Self {
        assert!(CHECKS.contains(&id), "unknown check {id}");
        self.allowed.push((id, result));
        self
    }

    fn ordered(&self) {
        let ids: Vec<&str> = self.r.checks.iter().map(|c| c.id).collect();
        assert_eq!(ids, CHECKS, "checks out of order or missing:\n{}", dump(self.r));
    }

    fn earlier_ok(&self, at: usize) {
        for c in &self.r.checks[..at] {
            let ok = c.result == CheckResult::Pass || self.allowed.iter().any(|(id, res)| *id == c.id && *res == c.result);
            assert!(ok, "check {} before the failing one is {:?} ({:?}: {}):\n{}", c.id, c.result, c.code, c.detail, dump(self.r));
        }
    }

    fn index(&self, id: &str) -> usize {
        CHECKS.iter().position(|c| *c == id).unwrap_or_else(|| panic!("unknown check {id}"))
    }

    /// The credential is invalid: `id` failed with `code`, everything before it passed, nothing ran after it.
    pub fn invalid_at(self, id: &str, code: ErrorCode) {
        let r = self.r;
        self.ordered();
        let at = self.index(id);
        let c = &r.checks[at];
        assert_eq!((c.result, c.code), (CheckResult::Fail, Some(code)), "expected {id} to fail with {code}:\n{}", dump(r));
        assert_eq!(r.outcome, Outcome::Invalid, "{}", dump(r));
        assert_eq!(r.code, Some(code), "{}", dump(r));
        assert!(!c.detail.is_empty(), "a failure explains itself");
        self.earlier_ok(at);
        for later in &r.checks[at + 1..] {
            assert_eq!((later.result, later.code), (CheckResult::Skipped, None), "check {} ran after a failure:\n{}", later.id, dump(r));
        }
        assert!(r.claims.is_none(), "an invalid credential exposes no claims");
    }

    /// Nothing can be said: `id` could not be carried out (`code`), everything before it passed, and
    /// every later check still ran and passed (or was allowed).
    pub fn error_at(self, id: &str, code: ErrorCode) {
        let r = self.r;
        self.ordered();
        let at = self.index(id);
        let c = &r.checks[at];
        assert_eq!((c.result, c.code), (CheckResult::Error, Some(code)), "expected {id} to be an error {code}:\n{}", dump(r));
        assert_eq!(r.outcome, Outcome::Error, "{}", dump(r));
        assert_eq!(r.code, Some(code), "{}", dump(r));
        self.earlier_ok(at);
        for later in &r.checks[at + 1..] {
            let ok = later.result == CheckResult::Pass || self.allowed.iter().any(|(id, res)| *id == later.id && *res == later.result);
            assert!(ok, "check {} after the error did not run/pass: {:?}:\n{}", later.id, later.result, dump(r));
        }
    }

    /// Every check passed (or was allowed its result).
    pub fn valid(self) {
        let r = self.r;
        self.ordered();
        assert_eq!((r.outcome, r.code), (Outcome::Valid, None), "{}", dump(r));
        self.earlier_ok(CHECKS.len());
        assert!(r.claims.is_some());
    }
}
