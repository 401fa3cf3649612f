//! The verification pipeline: one ordered list of named checks over a presented SD-JWT VC.
//!
//! Three outcomes, never blurred: `valid` (every check ran and passed, trust established),
//! `invalid` (a check failed — the credential or presentation is wrong; later checks are skipped),
//! `error` (a check could not be carried out — no trust input, status list unreachable — so nothing
//! can be said; later checks still run, and a later failure makes the outcome `invalid`).

use crate::sdjwt::{SdJwt, process::process_owned, sd_hash};
use crate::status::{StatusCache, StatusSource};
use crate::trust::TrustedList;
use crate::type_metadata::{NEVER_DISCLOSABLE, PathElem, Sd, TypeMetadata, dotted, matches, parse_json_path};
use crate::x509::{Certificate, ChainValidator};
use crate::{Error, Jwk, jose::CompactJws};
use esspass_core::document::ClaimsMode;
use esspass_core::{CredentialType, Date, Ehic, ErrorCode, Pda1};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Stable ids of the checks, in the order they run.
pub const CHECKS: &[&str] = &[
    "format",
    "jws.header",
    "x5c.chain",
    "jws.signature",
    "sd.disclosures",
    "sd_jwt_vc.claims",
    "type_metadata",
    "trusted_list",
    "iss.san",
    "validity.token",
    "validity.document",
    "validity.coverage",
    "status",
    "holder_binding",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Valid,
    Invalid,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    Pass,
    Fail,
    /// Could not be carried out (missing trust input, unreachable status list).
    Error,
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub result: CheckResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct IssuerInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    pub certificate_subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_anchor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institution_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institution_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub uri: String,
    pub idx: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<StatusSource>,
    /// Seconds since the list used was fetched from its issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    /// When the issuer signed the list used (its `iat`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_issued_at: Option<i64>,
}

/// The verification report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub outcome: Outcome,
    /// The code of the failing (or, for `error`, the unperformed) check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    pub verified_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    pub checks: Vec<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusReport>,
    /// Dotted paths of the claims that came from disclosures.
    pub disclosed: Vec<String>,
    /// The claims as presented (disclosures applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    /// The caller asked to check the credential alone ([`Verifier::credential_only`]): holder
    /// binding was not checked, so nothing shows that the presenter holds the credential's key.
    /// Always serialised (`"credential_only": false` for a full presentation check).
    pub credential_only: bool,
}

impl Report {
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// What the verifier expects of the presentation's KB-JWT. A KB-JWT is required either way
/// (unless the verifier checks the credential alone); these add the `nonce` and `aud` comparisons.
#[derive(Debug, Clone, Default)]
pub struct Expectation<'a> {
    pub nonce: Option<&'a str>,
    pub aud: Option<&'a str>,
}

/// A configured verifier; cheap to call repeatedly (chains and status lists are cached).
pub struct Verifier {
    pub chains: ChainValidator,
    pub trusted_list: Option<TrustedList>,
    /// Shared by every verifier that holds it (a node's requests use one cache).
    pub status: Option<std::sync::Arc<StatusCache>>,
    /// KB-JWT `iat` must lie within this many seconds of the verification time (default 300).
    pub kb_window: i64,
    /// Allowed clock skew for `iat`/`nbf`/`exp` of the credential (default 0).
    pub leeway: i64,
    /// Check the credential alone, not a presentation (default `false`). A credential carries a
    /// holder key (`cnf`), so a presentation without a KB-JWT is refused (`ESP-5001`) unless this is
    /// set; when it is set, `holder_binding` is skipped whatever was presented (the [`Expectation`]
    /// is not used) and the report says so (`Report::credential_only`). For a wallet or an issuer
    /// inspecting a credential, never for accepting a presentation.
    pub credential_only: bool,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("anchors", &self.chains.anchors().len()).field("trusted_list", &self.trusted_list.is_some()).finish()
    }
}

impl Verifier {
    pub fn new(chains: ChainValidator, trusted_list: Option<TrustedList>, status: Option<StatusCache>) -> Self {
        Self { chains, trusted_list, status: status.map(std::sync::Arc::new), kb_window: 300, leeway: 0, credential_only: false }
    }

    /// The same verifier, checking the credential alone (see [`Verifier::credential_only`]).
    pub fn for_credential_only(mut self) -> Self {
        self.credential_only = true;
        self
    }

    /// Run every check at instant `now`.
    pub fn verify(&self, presentation: &str, expect: &Expectation<'_>, now: time::OffsetDateTime) -> Report {
        let mut run = Run::new(now);
        run.credential_only = self.credential_only;
        self.pipeline(presentation, expect, &mut run);
        run.finish()
    }

    fn pipeline(&self, presentation: &str, expect: &Expectation<'_>, r: &mut Run) {
        let t = r.now.unix_timestamp();
        let today = Date::of_instant(r.now);

        // format
        let Some(sd) = r.step("format", || SdJwt::parse(presentation).map(|s| (s, "compact SD-JWT".to_string()))) else { return };

        // jws.header
        let Some(mut jws) = r.step("jws.header", || {
            let jws = CompactJws::parse(&sd.jwt)?;
            match jws.typ() {
                Some("dc+sd-jwt") => Ok((jws, "alg ES256, typ dc+sd-jwt".to_string())),
                Some("vc+sd-jwt") => Ok((jws, "alg ES256, typ vc+sd-jwt (legacy, accepted when reading)".to_string())),
                other => Err(Error::new(ErrorCode::WrongTyp, format!("typ {other:?}; expected dc+sd-jwt"))),
            }
        }) else {
            return;
        };

        // x5c.chain
        let x5c: Vec<&str> = jws.header.get("x5c").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let leaf: Arc<Certificate>;
        if x5c.is_empty() {
            r.fail("x5c.chain", Error::new(ErrorCode::MissingX5c, "the issuer-signed JWT has no x5c chain"));
            return;
        }
        // Whether the chain was validated to an anchor: only then is anything the credential points
        // to (its status list) fetched.
        let chain_validated = self.chains.has_anchors();
        if chain_validated {
            let Some(chain) = r.step("x5c.chain", || {
                let c = self.chains.validate_x5c(&x5c, t)?;
                let purpose = c.leaf.check_credential_signer(self.trusted_list.is_some())?;
                let d = format!("{} → {}{}; {purpose}", c.leaf.subject_text, c.anchor_subject, if c.cached { " (cached)" } else { "" });
                Ok((c, d))
            }) else {
                return;
            };
            r.issuer.certificate_subject = chain.leaf.subject_text.clone();
            r.issuer.trust_anchor = Some(chain.anchor_subject.clone());
            leaf = chain.leaf;
        } else {
            r.error("x5c.chain", Error::new(ErrorCode::NoTrustInput, "no trust anchor configured: the chain cannot be checked"));
            let parsed = x5c.first().ok_or_else(|| Error::new(ErrorCode::MissingX5c, "x5c is empty")).and_then(|c| crate::b64::decode_std(c)).and_then(|d| Certificate::from_der(&d));
            match parsed {
                Ok(c) => {
                    r.issuer.certificate_subject = c.subject_text.clone();
                    leaf = Arc::new(c);
                }
                Err(e) => {
                    r.fail("jws.signature", e);
                    return;
                }
            }
        }

        // jws.signature
        let sig_ok = r.step("jws.signature", || {
            let point = leaf.p256_point().ok_or_else(|| Error::new(ErrorCode::SignatureInvalid, "the signing certificate's key is not P-256"))?;
            if jws.verify_with_point(point) { Ok(((), "ES256 signature verifies with the x5c leaf key".into())) } else { Err(Error::new(ErrorCode::SignatureInvalid, "the signature does not verify with the x5c leaf key")) }
        });
        if sig_ok.is_none() {
            return;
        }
        r.vct = jws.payload.get("vct").and_then(Value::as_str).map(str::to_owned);
        r.issuer.iss = jws.payload.get("iss").and_then(Value::as_str).map(str::to_owned);

        // sd.disclosures
        let Some(processed) = r.step("sd.disclosures", || {
            let p = process_owned(std::mem::take(&mut jws.payload), &sd.disclosures)?;
            let d = format!("{} disclosure(s) processed", p.disclosed.len());
            Ok((p, d))
        }) else {
            return;
        };
        r.disclosed = processed.disclosed.iter().map(|p| dotted(p)).collect();
        let claims = &processed.claims;

        // sd_jwt_vc.claims
        let Some(cnf_jwk) = r.step("sd_jwt_vc.claims", || {
            for p in &processed.disclosed {
                if let (1, Some(PathElem::Key(k))) = (p.len(), p.first())
                    && NEVER_DISCLOSABLE.contains(&k.as_str()) {
                        return Err(Error::new(ErrorCode::NonDisclosableClaimDisclosed, format!("{k} must not be selectively disclosable")));
                    }
                if let Some(PathElem::Key(k)) = p.first()
                    && p.len() > 1 && NEVER_DISCLOSABLE.contains(&k.as_str()) {
                        return Err(Error::new(ErrorCode::NonDisclosableClaimDisclosed, format!("sub-claims of {k} must not be selectively disclosable")));
                    }
            }
            if !matches!(claims.get("vct"), Some(Value::String(_))) {
                return Err(Error::new(ErrorCode::MissingVct, "no vct claim"));
            }
            for k in ["iat", "nbf", "exp"] {
                if claims.get(k).is_some_and(|v| !v.is_i64() && !v.is_u64()) {
                    return Err(Error::new(ErrorCode::WrongType, format!("{k} must be an integer (seconds)")));
                }
            }
            if claims.get("iss").is_some_and(|v| !v.is_string()) {
                return Err(Error::new(ErrorCode::WrongType, "iss must be a string"));
            }
            if claims.get("iat").is_none() {
                // The DC4EU schemas require iat; issuer authorisation is judged at that instant.
                return Err(Error::new(ErrorCode::MissingField, "no iat: the instant of signing is required"));
            }
            let jwk = claims.get("cnf").and_then(|c| c.get("jwk")).ok_or_else(|| Error::new(ErrorCode::MissingCnf, "no cnf.jwk holder key"))?;
            let jwk = Jwk::from_value(jwk).map_err(|e| Error::new(ErrorCode::MissingCnf, format!("cnf.jwk unusable: {}", e.detail)))?;
            Ok((jwk, "vct, iat and cnf.jwk present, reserved claims visible".into()))
        }) else {
            return;
        };
        let vct = r.vct.clone().unwrap_or_default();

        // type_metadata
        let ok = r.step("type_metadata", || {
            let meta = TypeMetadata::for_vct(&vct).ok_or_else(|| Error::new(ErrorCode::UnknownVct, format!("no type metadata for {vct}")))?;
            check_type_metadata(meta, claims, &processed.disclosed)?;
            Ok(((), format!("conforms to the type metadata of {vct}")))
        });
        if ok.is_none() {
            return;
        }
        let doc = claims;
        let date_of = |k: &str| doc.get(k).and_then(Value::as_str).and_then(Date::parse);
        let issuance = date_of("date_of_issuance");
        // An integer beyond i64 (sd_jwt_vc.claims admits any u64) lies in the far future; it must not read as absent.
        let num = |k: &str| claims.get(k).and_then(|v| v.as_i64().or_else(|| v.as_u64().map(|_| i64::MAX)));
        let iat = num("iat");
        // The day the credential was signed, the day issuer authorisation is judged on. An iat in the
        // future is refused by validity.token; until then it counts as now.
        let signed_on = iat.and_then(|i| time::OffsetDateTime::from_unix_timestamp(i.min(t)).ok()).map(Date::of_instant);

        // trusted_list
        let entry = match &self.trusted_list {
            None => {
                r.skip("trusted_list", if self.chains.has_anchors() { "no trusted list given: the signer was accepted for its credential-signing key purpose (x5c.chain)" } else { "no trusted list given" });
                None
            }
            Some(list) => {
                let Some(e) = r.step("trusted_list", || {
                    let e = list.issuer_for(&leaf).ok_or_else(|| Error::new(ErrorCode::IssuerNotListed, format!("{} is not in the Issuer Trusted List", leaf.subject_text)))?;
                    // Judged on the day of signing (iat), never on the issuer-asserted date_of_issuance,
                    // which a no-longer-authorised issuer could backdate.
                    let day = signed_on.ok_or_else(|| Error::new(ErrorCode::WrongType, "iat is not a representable instant"))?;
                    if !e.authorises(&vct, day) {
                        return Err(Error::new(ErrorCode::NotAuthorisedForType, format!("{} is not authorised for {vct} on {day}, the day it signed the credential (iat)", e.institution_id)));
                    }
                    if vct == CredentialType::Pid.vct() {
                        // A PID names its provider by name and country (PID Rulebook §4.1), both
                        // selectively disclosable: what is disclosed must be the listed provider's.
                        let country = doc.get("issuing_country").and_then(Value::as_str);
                        if let Some(c) = country
                            && esspass_core::Country::parse(c) != Some(e.country)
                        {
                            return Err(Error::new(ErrorCode::IssuingAuthorityMismatch, format!("issuing_country {c} but the certificate belongs to {} ({})", e.institution_id, e.country)));
                        }
                    } else {
                        let ia = doc.get("issuing_authority");
                        let ia_id = ia.and_then(|i| i.get("id")).and_then(Value::as_str).unwrap_or_default();
                        let ia_country = ia.and_then(|i| i.get("country")).and_then(Value::as_str).and_then(esspass_core::Country::parse);
                        if ia_id != e.institution_id || ia_country != Some(e.country) {
                            return Err(Error::new(ErrorCode::IssuingAuthorityMismatch, format!("issuing_authority {ia_id}/{} but the certificate belongs to {}/{}", ia_country.map_or("(no country)".to_owned(), |c| c.iso().to_owned()), e.institution_id, e.country)));
                        }
                    }
                    Ok((e.clone(), format!("{} ({}) authorised for {vct} on {day} (iat)", e.institution_id, e.name)))
                }) else {
                    return;
                };
                r.issuer.institution_id = Some(e.institution_id.clone());
                r.issuer.institution_name = Some(e.name.clone());
                r.issuer.country = Some(e.country.to_string());
                Some(e)
            }
        };

        // iss.san
        match claims.get("iss").and_then(Value::as_str) {
            None => r.skip("iss.san", "no iss claim; the issuer is identified by the certificate"),
            Some(iss) => {
                if r.step("iss.san", || {
                    if leaf.san_uris.iter().any(|u| u == iss) { Ok(((), format!("{iss} is a subjectAltName URI of the signing certificate"))) } else { Err(Error::new(ErrorCode::IssNotInSan, format!("iss {iss} is not among the certificate's SAN URIs ({})", if leaf.san_uris.is_empty() { "none".to_owned() } else { leaf.san_uris.join(", ") }))) }
                })
                .is_none()
                {
                    return;
                }
            }
        }

        // validity.token
        let lw = self.leeway;
        if r.step("validity.token", || {
            if let Some(nbf) = num("nbf")
                && t + lw < nbf {
                    return Err(Error::new(ErrorCode::TokenNotYetValid, format!("nbf {nbf} is after {t}")));
                }
            if let Some(iat) = num("iat")
                && t + lw < iat {
                    return Err(Error::new(ErrorCode::TokenNotYetValid, format!("iat {iat} is in the future")));
                }
            if let Some(exp) = num("exp")
                && t - lw >= exp {
                    return Err(Error::new(ErrorCode::TokenExpired, format!("exp {exp} has passed")));
                }
            if let Some(iat) = iat
                && !(leaf.not_before.saturating_sub(lw) <= iat && iat <= leaf.not_after.saturating_add(lw)) {
                    return Err(Error::new(ErrorCode::CertificateNotValidAtTime, format!("iat {iat} lies outside the signing certificate's validity ({}..{})", leaf.not_before, leaf.not_after)));
                }
            Ok(((), "iat/nbf/exp hold; signed (iat) within the signing certificate's validity".into()))
        })
        .is_none()
        {
            return;
        }

        // validity.document
        if issuance.is_none() && vct == CredentialType::Pid.vct() {
            // A PID's dates are selectively disclosable (PID Rulebook §4.1): undisclosed, the
            // credential's own validity (iat/nbf/exp) is what holds.
            r.skip("validity.document", "the PID's date_of_issuance was not disclosed: validity rests on iat/nbf/exp");
        } else if r.step("validity.document", || {
            let issued = issuance.ok_or_else(|| Error::new(ErrorCode::InvalidDocument, "no date_of_issuance"))?;
            if today < issued {
                return Err(Error::new(ErrorCode::DocumentNotYetIssued, format!("date_of_issuance {issued} is after {today}")));
            }
            if let Some(signed) = signed_on
                && issued > signed {
                    return Err(Error::new(ErrorCode::IssuedAfterSigning, format!("date_of_issuance {issued} is after the credential was signed (iat, {signed})")));
                }
            if let Some(x) = date_of("date_of_expiry")
                && today > x {
                    return Err(Error::new(ErrorCode::DocumentExpired, format!("date_of_expiry {x} has passed ({today})")));
                }
            Ok(((), format!("issued {issued}, not after signing, in force on {today}")))
        })
        .is_none()
        {
            return;
        }

        // validity.coverage
        if r.step("validity.coverage", || {
            let (s, e) = (date_of("starting_date"), date_of("ending_date"));
            if let Some(s) = s
                && today < s {
                    return Err(Error::new(ErrorCode::CoverageNotStarted, format!("coverage starts {s}, today is {today}")));
                }
            if let Some(e) = e
                && today > e {
                    return Err(Error::new(ErrorCode::CoverageEnded, format!("coverage ended {e}, today is {today}")));
                }
            Ok(((), format!("{today} within {}..{}", s.map_or("-".into(), |d| d.to_string()), e.map_or("-".into(), |d| d.to_string()))))
        })
        .is_none()
        {
            return;
        }

        // status
        if !chain_validated {
            // The status URI comes from a credential whose issuer is not authenticated: never fetch it.
            if claims.get("status").is_some() {
                r.skip("status", "not fetched: the issuer's chain was not validated, so its status URI is not used");
            } else {
                r.skip("status", "the credential carries no status reference");
            }
        } else if !self.status_check(claims, &leaf, entry.as_ref(), t, r) {
            return;
        }

        // holder_binding
        self.holder_binding(&sd, &cnf_jwk, expect, t, r);
        r.claims = Some(processed.claims);
    }

    fn status_check(&self, claims: &Map<String, Value>, leaf: &Certificate, entry: Option<&crate::trust::IssuerEntry>, t: i64, r: &mut Run) -> bool {
        let Some(st) = claims.get("status") else {
            r.skip("status", "the credential carries no status reference");
            return true;
        };
        let sl = st.get("status_list");
        let uri = sl.and_then(|s| s.get("uri")).and_then(Value::as_str);
        let idx = sl.and_then(|s| s.get("idx")).and_then(Value::as_u64);
        let (Some(uri), Some(idx)) = (uri, idx) else {
            r.fail("status", Error::new(ErrorCode::StatusListMalformed, "status.status_list needs idx (integer) and uri (string)"));
            return false;
        };
        r.status = Some(StatusReport { uri: uri.into(), idx, value: None, label: None, source: None, age_seconds: None, list_issued_at: None });
        let Some(cache) = &self.status else {
            r.error("status", Error::new(ErrorCode::StatusUnavailable, "no status list source configured"));
            return true;
        };
        let (token, source, fetched_at) = match cache.lookup(uri, &self.chains, t) {
            Ok(x) => x,
            Err(e) if matches!(e.code, ErrorCode::StatusUnavailable | ErrorCode::NoTrustInput) => {
                r.error("status", e);
                return true;
            }
            Err(e) => {
                r.fail("status", e);
                return false;
            }
        };
        let authorised = token.signer.der == leaf.der || entry.is_some_and(|e| e.may_sign_status(&token.signer));
        if !authorised {
            r.fail("status", Error::new(ErrorCode::StatusSignerNotAuthorised, format!("the status list is signed by {}, not by the credential's issuer", token.signer.subject_text)));
            return false;
        }
        let Some(value) = usize::try_from(idx).ok().and_then(|i| token.list.get(i)) else {
            r.fail("status", Error::new(ErrorCode::StatusIndexOutOfRange, format!("index {idx} outside a list of {} entries", token.list.len())));
            return false;
        };
        let label = match value {
            crate::status::VALID => "VALID",
            crate::status::INVALID => "INVALID",
            crate::status::SUSPENDED => "SUSPENDED",
            _ => "APPLICATION_SPECIFIC",
        };
        if let Some(s) = r.status.as_mut() {
            s.value = Some(value);
            s.label = Some(label);
            s.source = Some(source);
            s.age_seconds = Some(t - fetched_at);
            s.list_issued_at = Some(token.claims.iat);
        }
        let res = match value {
            crate::status::VALID => Ok(((), format!("VALID at index {idx} ({})", match source {
                crate::status::StatusSource::Fetched => "list fetched",
                crate::status::StatusSource::Cache => "cached list",
                crate::status::StatusSource::StaleCache => "cached list: the refetch failed",
            }))),
            crate::status::INVALID => Err(Error::new(ErrorCode::Revoked, format!("INVALID (revoked) at index {idx}"))),
            crate::status::SUSPENDED => Err(Error::new(ErrorCode::Suspended, format!("SUSPENDED at index {idx}"))),
            v => Err(Error::new(ErrorCode::StatusUnknownValue, format!("value {v:#x} at index {idx}"))),
        };
        r.step("status", || res).is_some()
    }

    fn holder_binding(&self, sd: &SdJwt, cnf: &Jwk, expect: &Expectation<'_>, t: i64, r: &mut Run) {
        if self.credential_only {
            r.skip("holder_binding", "NOT CHECKED at the caller's request (credential only): nothing shows that the presenter holds the cnf key");
            return;
        }
        let Some(kb) = &sd.kb_jwt else {
            r.fail("holder_binding", Error::new(ErrorCode::KbJwtMissing, "the credential has a holder key (cnf) but the presentation has no KB-JWT; checking the credential alone must be asked for explicitly"));
            return;
        };
        let window = self.kb_window;
        r.step("holder_binding", || {
            let jws = CompactJws::parse(kb).map_err(|e| Error::new(if e.code == ErrorCode::AlgorithmNotAllowed { e.code } else { ErrorCode::KbJwtSignatureInvalid }, format!("KB-JWT: {}", e.detail)))?;
            if jws.typ() != Some("kb+jwt") {
                return Err(Error::new(ErrorCode::KbJwtTyp, format!("KB-JWT typ {}; expected kb+jwt", jws.typ().unwrap_or("(none)"))));
            }
            if !jws.verify_with_point(&cnf.point()?) {
                return Err(Error::new(ErrorCode::KbJwtSignatureInvalid, "the KB-JWT is not signed by the cnf key"));
            }
            let p = &jws.payload;
            if p.get("sd_hash").and_then(Value::as_str) != Some(sd_hash(&sd.without_kb()).as_str()) {
                return Err(Error::new(ErrorCode::KbJwtSdHash, "sd_hash does not match the presented SD-JWT"));
            }
            let mut detail = String::from("KB-JWT signed by cnf key, sd_hash matches");
            match expect.nonce {
                Some(n) if p.get("nonce").and_then(Value::as_str) != Some(n) => return Err(Error::new(ErrorCode::KbJwtNonce, "nonce differs from the expected one")),
                Some(_) => detail.push_str(", nonce matches"),
                None => detail.push_str(", nonce not checked (none expected)"),
            }
            match expect.aud {
                Some(a) if p.get("aud").and_then(Value::as_str) != Some(a) => return Err(Error::new(ErrorCode::KbJwtAudience, "aud differs from this verifier")),
                Some(_) => detail.push_str(", aud matches"),
                None => detail.push_str(", aud not checked (none expected)"),
            }
            let iat = p.get("iat").and_then(Value::as_i64).ok_or_else(|| Error::new(ErrorCode::KbJwtIat, "KB-JWT has no iat"))?;
            if (t - iat).abs() > window {
                let when = if iat < t { format!("{} s ago", t.saturating_sub(iat)) } else { format!("{} s in the future", iat.saturating_sub(t)) };
                return Err(Error::new(ErrorCode::KbJwtIat, format!("the KB-JWT was made (iat) {when}; at most {window} s either way is accepted")));
            }
            Ok(((), detail))
        });
    }
}

/// Type Metadata conformance: no `never` claim came from a disclosure; no `always` claim is plain;
/// every mandatory `never` claim is present; the visible document validates against its type.
fn check_type_metadata(meta: &TypeMetadata, claims: &Map<String, Value>, disclosed: &[Vec<PathElem>]) -> crate::Result<()> {
    for p in disclosed {
        if meta.sd_for(p) == Sd::Never {
            return Err(Error::new(ErrorCode::TypeMetadataViolation, format!("{} is selectively disclosable but the type metadata says sd=never", dotted(p))));
        }
    }
    for c in &meta.claims {
        if c.sd == Sd::Always {
            // Every position the pattern reaches must have come from a disclosure.
            let present = count(claims, &c.path);
            let disclosed_here = disclosed.iter().filter(|p| matches(&c.path, p)).count();
            if present > disclosed_here {
                return Err(Error::new(ErrorCode::TypeMetadataViolation, format!("{} must be selectively disclosable (sd=always) but is plain", selector_text(&c.path))));
            }
        } else if c.mandatory && c.sd == Sd::Never && c.path.iter().all(|s| matches!(s, crate::type_metadata::Selector::Key(_))) && count(claims, &c.path) == 0 {
            return Err(Error::new(ErrorCode::MandatoryClaimMissing, format!("mandatory claim {} is missing", selector_text(&c.path))));
        }
    }
    let problems = match CredentialType::from_vct(&meta.vct) {
        Some(CredentialType::Pda1) => Pda1::from_map(claims, ClaimsMode::Credential).err(),
        Some(CredentialType::Ehic) => Ehic::from_map(claims, ClaimsMode::Credential).err(),
        Some(CredentialType::Pid) => esspass_core::Pid::from_map(claims, ClaimsMode::Credential).err(),
        None => None,
    };
    if let Some(problems) = problems {
        // A claim the holder may withhold (sd always/allowed) is not missing, only undisclosed.
        // Likewise an array whose elements may all be withheld is not empty, only undisclosed.
        let withheld = |p: &esspass_core::Problem| {
            let mut path = parse_json_path(&p.path);
            match p.code {
                ErrorCode::MissingField => meta.sd_for(&path) != Sd::Never,
                ErrorCode::EmptyArray => {
                    path.push(PathElem::Index(0));
                    meta.sd_for(&path) != Sd::Never
                }
                _ => false,
            }
        };
        let real: Vec<_> = problems.0.iter().filter(|p| !withheld(p)).collect();
        if let Some(first) = real.first() {
            return Err(Error::new(ErrorCode::InvalidDocument, format!("{} ({} problem(s))", first, real.len())));
        }
    }
    Ok(())
}

/// How many positions in `claims` a selector path reaches (no allocation).
fn count(claims: &Map<String, Value>, pattern: &[crate::type_metadata::Selector]) -> usize {
    use crate::type_metadata::Selector;
    let Some((Selector::Key(k), rest)) = pattern.split_first() else { return 0 };
    claims.get(k).map_or(0, |v| count_in(v, rest))
}

fn count_in(v: &Value, pattern: &[crate::type_metadata::Selector]) -> usize {
    use crate::type_metadata::Selector;
    let Some((first, rest)) = pattern.split_first() else { return 1 };
    match (first, v) {
        (Selector::Key(_), Value::Object(m)) => count(m, pattern),
        (Selector::Index(i), Value::Array(a)) => a.get(*i).map_or(0, |x| count_in(x, rest)),
        (Selector::AnyElement, Value::Array(a)) => a.iter().map(|x| count_in(x, rest)).sum(),
        _ => 0,
    }
}

/// Accumulates check results.
struct Run {
    now: time::OffsetDateTime,
    checks: Vec<Check>,
    failed: bool,
    errored: Option<ErrorCode>,
    first_fail: Option<ErrorCode>,
    vct: Option<String>,
    issuer: IssuerInfo,
    status: Option<StatusReport>,
    disclosed: Vec<String>,
    claims: Option<Map<String, Value>>,
    credential_only: bool,
}

impl Run {
    fn new(now: time::OffsetDateTime) -> Self {
        Self { now, checks: Vec::with_capacity(CHECKS.len()), failed: false, errored: None, first_fail: None, vct: None, issuer: IssuerInfo::default(), status: None, disclosed: Vec::new(), claims: None, credential_only: false }
    }

    fn step<T>(&mut self, id: &'static str, f: impl FnOnce() -> crate::Result<(T, String)>) -> Option<T> {
        match f() {
            Ok((v, detail)) => {
                self.checks.push(Check { id, result: CheckResult::Pass, code: None, detail });
                Some(v)
            }
            Err(e) => {
                self.fail(id, e);
                None
            }
        }
    }

    fn fail(&mut self, id: &'static str, e: Error) {
        self.failed = true;
        self.first_fail.get_or_insert(e.code);
        self.checks.push(Check { id, result: CheckResult::Fail, code: Some(e.code), detail: e.detail });
    }

    fn error(&mut self, id: &'static str, e: Error) {
        self.errored.get_or_insert(e.code);
        self.checks.push(Check { id, result: CheckResult::Error, code: Some(e.code), detail: e.detail });
    }

    fn skip(&mut self, id: &'static str, why: &str) {
        self.checks.push(Check { id, result: CheckResult::Skipped, code: None, detail: why.into() });
    }

    fn finish(mut self) -> Report {
        for id in CHECKS {
            if !self.checks.iter().any(|c| c.id == *id) {
                self.checks.push(Check { id, result: CheckResult::Skipped, code: None, detail: "not run: an earlier check failed".into() });
            }
        }
        let (outcome, code) = if self.failed {
            (Outcome::Invalid, self.first_fail)
        } else if let Some(c) = self.errored {
            (Outcome::Error, Some(c))
        } else {
            (Outcome::Valid, None)
        };
        let verified_at = self.now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let issuer = (!self.issuer.certificate_subject.is_empty()).then_some(self.issuer);
        Report { outcome, code, verified_at, vct: self.vct, checks: self.checks, issuer, status: self.status, disclosed: self.disclosed, claims: if outcome == Outcome::Invalid { None } else { self.claims }, credential_only: self.credential_only }
    }
}

/// A Type Metadata claim path as a reader writes it: `work_information.work_address.*.locality`.
fn selector_text(path: &[crate::type_metadata::Selector]) -> String {
    path.iter()
        .map(|s| match s {
            crate::type_metadata::Selector::Key(k) => k.clone(),
            crate::type_metadata::Selector::Index(i) => i.to_string(),
            crate::type_metadata::Selector::AnyElement => "*".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(".")
}
