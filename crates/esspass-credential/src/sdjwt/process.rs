//! Verifier-side processing of disclosures, RFC 9901 §7.1 steps 3–5: every digest is found at most
//! once, every disclosure is used exactly once, names `_sd` / `...` are refused, a disclosed name
//! may not collide with a claim already present, array-element and property disclosures are not
//! interchangeable, and unmatched digests (decoys) are dropped.

use super::Disclosure;
use crate::type_metadata::PathElem;
use crate::{Error, Result};
use esspass_core::ErrorCode;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Digests are base64url SHA-256 values chosen by the issuer: uniformly distributed already, so an
/// FNV-1a hash of their bytes is enough (no SipHash needed against flooding: at most a few hundred
/// entries, and a collision costs a string comparison, not correctness).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

/// The result of processing: the claims as the holder disclosed them.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The payload with disclosures applied and `_sd`, `_sd_alg`, `...` removed.
    pub claims: Map<String, Value>,
    /// For each disclosure (in the order given), the concrete path of the claim it revealed.
    pub disclosed: Vec<Vec<PathElem>>,
}

struct Walker<'a> {
    by_digest: FastMap<String, usize>,
    disclosures: &'a mut [Disclosure],
    paths: Vec<Option<Vec<PathElem>>>,
    seen_digests: FastSet<String>,
}

/// Process an issuer-signed payload against the disclosures (base64url strings as received).
pub fn process(payload: &Map<String, Value>, disclosures: &[String]) -> Result<Processed> {
    process_owned(payload.clone(), disclosures)
}

/// As [`process`], consuming the payload (no copies of the claims are made).
pub fn process_owned(payload: Map<String, Value>, disclosures: &[String]) -> Result<Processed> {
    match payload.get("_sd_alg") {
        None => {}
        Some(Value::String(a)) if a == "sha-256" => {}
        Some(other) => return Err(Error::new(ErrorCode::UnsupportedSdAlg, format!("_sd_alg {other} is not supported; only sha-256"))),
    }
    let mut parsed: Vec<Disclosure> = disclosures.iter().map(|d| Disclosure::parse(d)).collect::<Result<_>>()?;
    let mut by_digest = FastMap::with_capacity_and_hasher(parsed.len(), BuildHasherDefault::default());
    for (i, d) in parsed.iter().enumerate() {
        if by_digest.insert(d.digest(), i).is_some() {
            return Err(Error::new(ErrorCode::DuplicateDisclosure, format!("disclosure {} is given twice", i + 1)));
        }
    }
    let n = parsed.len();
    let mut w = Walker { by_digest, disclosures: &mut parsed, paths: vec![None; n], seen_digests: FastSet::default() };
    let mut path = Vec::new();
    let claims = w.object(payload, &mut path, true)?;
    let mut disclosed = Vec::with_capacity(n);
    for (i, p) in w.paths.into_iter().enumerate() {
        match p {
            Some(p) => disclosed.push(p),
            None => return Err(Error::new(ErrorCode::UnreferencedDisclosure, format!("disclosure {} is not referenced by any digest", i + 1))),
        }
    }
    Ok(Processed { claims, disclosed })
}

impl Walker<'_> {
    fn take(&mut self, digest: &str) -> Result<Option<usize>> {
        if !self.seen_digests.insert(digest.to_owned()) {
            return Err(Error::new(ErrorCode::DuplicateDigest, "a digest appears more than once"));
        }
        Ok(self.by_digest.get(digest).copied())
    }

    fn object(&mut self, m: Map<String, Value>, path: &mut Vec<PathElem>, top: bool) -> Result<Map<String, Value>> {
        let mut out = Map::with_capacity(m.len());
        let mut digests: Vec<Value> = Vec::new();
        for (k, v) in m {
            match k.as_str() {
                "_sd" => match v {
                    Value::Array(a) => digests = a,
                    _ => return Err(Error::new(ErrorCode::MalformedSdPayload, "_sd must be an array")),
                },
                "_sd_alg" if top => {}
                "_sd_alg" | "..." => return Err(Error::new(ErrorCode::MalformedSdPayload, format!("{k} is not allowed here"))),
                _ => {
                    path.push(PathElem::Key(k.clone()));
                    let child = self.value(v, path)?;
                    path.pop();
                    out.insert(k, child);
                }
            }
        }
        for d in digests {
            let Value::String(digest) = d else { return Err(Error::new(ErrorCode::MalformedSdPayload, "_sd holds strings")) };
            let Some(i) = self.take(&digest)? else { continue };
            let disc = self.disclosures.get_mut(i).ok_or_else(|| Error::new(ErrorCode::Internal, "disclosure index"))?;
            let Some(name) = disc.name.clone() else {
                return Err(Error::new(ErrorCode::MalformedDisclosure, "an array-element disclosure is referenced from _sd"));
            };
            if out.contains_key(&name) {
                return Err(Error::new(ErrorCode::ClaimNameCollision, format!("{name:?} is both a claim and a disclosure")));
            }
            let dv = std::mem::take(&mut disc.value);
            path.push(PathElem::Key(name.clone()));
            let value = self.value(dv, path)?;
            if let Some(slot) = self.paths.get_mut(i) {
                *slot = Some(path.clone());
            }
            path.pop();
            out.insert(name, value);
        }
        Ok(out)
    }

    fn value(&mut self, v: Value, path: &mut Vec<PathElem>) -> Result<Value> {
        // Each disclosure is depth-checked when parsed, but recursive disclosures stack: bound the
        // depth of the processed claims too (the walk recurses once per level).
        if matches!(v, Value::Object(_) | Value::Array(_)) && path.len() >= crate::json::MAX_DEPTH {
            return Err(Error::new(ErrorCode::NestingTooDeep, format!("the processed claims nest deeper than {} levels", crate::json::MAX_DEPTH)));
        }
        match v {
            Value::Object(m) => Ok(Value::Object(self.object(m, path, false)?)),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Value::Object(m) = &item
                        && let Some(d) = m.get("...") {
                            if m.len() != 1 {
                                return Err(Error::new(ErrorCode::MalformedSdPayload, "an array-element digest object has \"...\" as its only key"));
                            }
                            let Value::String(digest) = d else { return Err(Error::new(ErrorCode::MalformedSdPayload, "\"...\" holds a string")) };
                            let Some(i) = self.take(digest)? else { continue };
                            let disc = self.disclosures.get_mut(i).ok_or_else(|| Error::new(ErrorCode::Internal, "disclosure index"))?;
                            if disc.name.is_some() {
                                return Err(Error::new(ErrorCode::MalformedDisclosure, "a property disclosure is referenced as an array element"));
                            }
                            let dv = std::mem::take(&mut disc.value);
                            path.push(PathElem::Index(out.len()));
                            let value = self.value(dv, path)?;
                            if let Some(slot) = self.paths.get_mut(i) {
                                *slot = Some(path.clone());
                            }
                            path.pop();
                            out.push(value);
                            continue;
                        }
                    path.push(PathElem::Index(out.len()));
                    let value = self.value(item, path)?;
                    path.pop();
                    out.push(value);
                }
                Ok(Value::Array(out))
            }
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdjwt::issue::make_disclosable;
    use serde_json::json;

    #[test]
    fn issue_then_process_restores_claims() {
        let claims = json!({"a": 1, "b": {"c": [1, {"d": 2}, 3]}, "e": [{"f": "g"}]});
        let m = claims.as_object().unwrap();
        let policy = |p: &[PathElem]| !p.is_empty() && !matches!(p.first(), Some(PathElem::Key(k)) if k == "a");
        let d = make_disclosable(m, &policy, true);
        let enc: Vec<String> = d.disclosures.iter().map(|d| d.encoded.clone()).collect();
        let p = process(&d.payload, &enc).unwrap();
        assert_eq!(Value::Object(p.claims), claims);
        // Withholding the parent hides the children; an orphaned child is unreferenced.
        let only_child: Vec<String> = d.disclosures.iter().filter(|x| x.name.as_deref() == Some("d")).map(|d| d.encoded.clone()).collect();
        assert_eq!(process(&d.payload, &only_child).unwrap_err().code, ErrorCode::UnreferencedDisclosure);
        let none = process(&d.payload, &[]).unwrap();
        assert_eq!(Value::Object(none.claims), json!({"a": 1}));
    }
}
