//! Issuer side: turn claims into an SD-JWT payload with `_sd` digests, array-element digests
//! (`{"...": digest}`), nested disclosures and decoys, then sign it.

use super::{Disclosure, SdJwt, disclosure::decoy_digest};
use crate::type_metadata::PathElem;
use crate::{Error, Result, Signer};
use esspass_core::ErrorCode;
use serde_json::{Map, Value};

/// Decides, for a concrete claim path, whether that claim becomes a disclosure.
pub type SdPolicy<'a> = &'a dyn Fn(&[PathElem]) -> bool;

/// The payload with digests in place of the disclosable claims, and the disclosures.
#[derive(Debug, Clone)]
pub struct Disclosable {
    pub payload: Map<String, Value>,
    pub disclosures: Vec<Disclosure>,
}

/// Make claims selectively disclosable. Children are processed before their parents, so a
/// disclosable object may itself contain disclosable members (recursive disclosures).
/// `decoys` adds one to three decoy digests to every `_sd` array and, with probability ½, one decoy
/// element to every array that has disclosable elements.
pub fn make_disclosable(claims: &Map<String, Value>, policy: SdPolicy<'_>, decoys: bool) -> Disclosable {
    let mut disclosures = Vec::new();
    let mut path = Vec::new();
    let payload = object(claims, &mut path, policy, decoys, &mut disclosures);
    Disclosable { payload, disclosures }
}

fn small_random(max_exclusive: u8) -> u8 {
    crate::random_bytes::<1>()[0] % max_exclusive.max(1)
}

fn object(m: &Map<String, Value>, path: &mut Vec<PathElem>, policy: SdPolicy<'_>, decoys: bool, out: &mut Vec<Disclosure>) -> Map<String, Value> {
    let mut result = Map::new();
    let mut digests = Vec::new();
    for (k, v) in m {
        path.push(PathElem::Key(k.clone()));
        let child = value(v, path, policy, decoys, out);
        if policy(path) {
            let d = Disclosure::new(Some(k), child);
            digests.push(d.digest());
            out.push(d);
        } else {
            result.insert(k.clone(), child);
        }
        path.pop();
    }
    if !digests.is_empty() {
        if decoys {
            for _ in 0..=small_random(3) {
                digests.push(decoy_digest());
            }
        }
        digests.sort();
        result.insert("_sd".into(), Value::Array(digests.into_iter().map(Value::String).collect()));
    }
    result
}

fn value(v: &Value, path: &mut Vec<PathElem>, policy: SdPolicy<'_>, decoys: bool, out: &mut Vec<Disclosure>) -> Value {
    match v {
        Value::Object(m) => Value::Object(object(m, path, policy, decoys, out)),
        Value::Array(items) => {
            let mut any_sd = false;
            let mut result: Vec<Value> = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push(PathElem::Index(i));
                let child = value(item, path, policy, decoys, out);
                if policy(path) {
                    any_sd = true;
                    let d = Disclosure::new(None, child);
                    result.push(ellipsis(d.digest()));
                    out.push(d);
                } else {
                    result.push(child);
                }
                path.pop();
            }
            if any_sd && decoys && small_random(2) == 1 {
                let at = usize::from(small_random(u8::try_from(result.len() + 1).unwrap_or(u8::MAX)));
                result.insert(at.min(result.len()), ellipsis(decoy_digest()));
            }
            Value::Array(result)
        }
        other => other.clone(),
    }
}

fn ellipsis(digest: String) -> Value {
    let mut m = Map::new();
    m.insert("...".into(), Value::String(digest));
    Value::Object(m)
}

/// Sign a prepared payload into an SD-JWT carrying all its disclosures.
pub fn sign(signer: &dyn Signer, header: Map<String, Value>, mut disclosable: Disclosable) -> Result<SdJwt> {
    disclosable.payload.insert("_sd_alg".into(), Value::String("sha-256".into()));
    let jwt = crate::jose::sign_compact(signer, header, &disclosable.payload)?;
    Ok(SdJwt { jwt, disclosures: disclosable.disclosures.into_iter().map(|d| d.encoded).collect(), kb_jwt: None })
}

/// Refuse a payload that already uses the reserved names `_sd` / `...` (they would be ambiguous).
pub fn check_reserved_names(v: &Value, path: &str) -> Result<()> {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == "_sd" || k == "..." || k == "_sd_alg" {
                    return Err(Error::new(ErrorCode::MalformedSdPayload, format!("{path}.{k} uses a name reserved by SD-JWT")));
                }
                check_reserved_names(child, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        Value::Array(a) => a.iter().enumerate().try_for_each(|(i, c)| check_reserved_names(c, &format!("{path}[{i}]"))),
        _ => Ok(()),
    }
}
