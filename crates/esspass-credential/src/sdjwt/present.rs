//! Holder side: choose which disclosures to reveal (by dotted path, `*` for every array element)
//! and bind the presentation to a verifier with a KB-JWT.

use super::{SdJwt, process::process};
use crate::type_metadata::PathElem;
use crate::{Error, Result, Signer};
use esspass_core::ErrorCode;
use serde_json::{Map, Value};

/// A dotted selection path: `employer.0.name`, `work_information.work_address.*.postal_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection(Vec<Option<String>>);

impl Selection {
    pub fn parse(s: &str) -> Result<Self> {
        if s.is_empty() || s.split('.').any(str::is_empty) {
            return Err(Error::new(ErrorCode::Usage, format!("not a dotted path: {s:?}")));
        }
        Ok(Self(s.split('.').map(|p| if p == "*" { None } else { Some(p.to_owned()) }).collect()))
    }

    /// Whether the path names something in `v` (`*` any element of an array or member of an object).
    pub fn exists_in(&self, v: &Value) -> bool {
        fn walk(steps: &[Option<String>], v: &Value) -> bool {
            let Some((step, rest)) = steps.split_first() else { return true };
            match (step, v) {
                (None, Value::Array(a)) => a.iter().any(|x| walk(rest, x)),
                (None, Value::Object(o)) => o.values().any(|x| walk(rest, x)),
                (Some(k), Value::Object(o)) => o.get(k).is_some_and(|x| walk(rest, x)),
                (Some(k), Value::Array(a)) => k.parse::<usize>().ok().and_then(|i| a.get(i)).is_some_and(|x| walk(rest, x)),
                _ => false,
            }
        }
        walk(&self.0, v)
    }

    fn step_matches(step: &Option<String>, elem: &PathElem) -> bool {
        match (step, elem) {
            (None, PathElem::Index(_)) => true,
            (Some(s), PathElem::Key(k)) => s == k,
            (Some(s), PathElem::Index(i)) => s.parse::<usize>().ok() == Some(*i),
            (None, PathElem::Key(_)) => false,
        }
    }

    /// The claim at `path` is revealed when the selection names it, one of its ancestors (the whole
    /// subtree is revealed), or one of its descendants (the container must be revealed to reach it).
    fn reveals(&self, path: &[PathElem]) -> bool {
        self.0.iter().zip(path).all(|(s, p)| Self::step_matches(s, p))
    }
}

/// Keep only the disclosures the selections need; drop any KB-JWT.
pub fn select(sd_jwt: &SdJwt, selections: &[Selection]) -> Result<SdJwt> {
    let jws = crate::jose::CompactJws::parse(&sd_jwt.jwt)?;
    let processed = process(&jws.payload, &sd_jwt.disclosures)?;
    let disclosures = sd_jwt
        .disclosures
        .iter()
        .zip(&processed.disclosed)
        .filter(|(_, path)| selections.iter().any(|s| s.reveals(path)))
        .map(|(d, _)| d.clone())
        .collect();
    Ok(SdJwt { jwt: sd_jwt.jwt.clone(), disclosures, kb_jwt: None })
}

/// As [`select`], but every selection must name a claim the credential has (after all its
/// disclosures are applied): a misspelt claim or an array index out of range is an error naming it,
/// never a silently smaller presentation.
pub fn select_checked(sd_jwt: &SdJwt, selections: &[(String, Selection)]) -> Result<SdJwt> {
    let jws = crate::jose::CompactJws::parse(&sd_jwt.jwt)?;
    let processed = process(&jws.payload, &sd_jwt.disclosures)?;
    let root = Value::Object(processed.claims);
    for (text, sel) in selections {
        if !sel.exists_in(&root) {
            return Err(Error::new(ErrorCode::Usage, format!("--disclose {text}: the credential has no such claim (or index); `esspass show` lists what it holds and what can be disclosed")));
        }
    }
    let sels: Vec<Selection> = selections.iter().map(|(_, s)| s.clone()).collect();
    select(sd_jwt, &sels)
}

/// What a credential holds: every claim with its value and, for each selectively disclosable one,
/// the dotted path to give to `--disclose`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Contents {
    /// The claims with every disclosure applied.
    pub claims: Map<String, Value>,
    /// Dotted paths of the selectively disclosable claims (in disclosure order).
    pub disclosable: Vec<String>,
}

/// Open a credential for its holder: its claims and what can be disclosed.
pub fn contents(sd_jwt: &SdJwt) -> Result<Contents> {
    let jws = crate::jose::CompactJws::parse(&sd_jwt.jwt)?;
    let processed = process(&jws.payload, &sd_jwt.disclosures)?;
    let disclosable = processed.disclosed.iter().map(|p| crate::type_metadata::dotted(p)).collect();
    Ok(Contents { claims: processed.claims, disclosable })
}

/// Append a KB-JWT (`typ: kb+jwt`, `iat`, `aud`, `nonce`, `sd_hash`) signed with the holder key.
pub fn bind(mut sd_jwt: SdJwt, holder: &dyn Signer, nonce: &str, aud: &str, iat: i64) -> Result<SdJwt> {
    let mut header = Map::new();
    header.insert("typ".into(), Value::String("kb+jwt".into()));
    let mut payload = Map::new();
    payload.insert("iat".into(), Value::from(iat));
    payload.insert("aud".into(), Value::String(aud.into()));
    payload.insert("nonce".into(), Value::String(nonce.into()));
    sd_jwt.kb_jwt = None;
    payload.insert("sd_hash".into(), Value::String(super::sd_hash(&sd_jwt.without_kb())));
    sd_jwt.kb_jwt = Some(crate::jose::sign_compact(holder, header, &payload)?);
    Ok(sd_jwt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> PathElem {
        PathElem::Key(s.into())
    }

    #[test]
    fn selection_semantics() {
        let s = Selection::parse("employer.0.name").unwrap();
        assert!(s.reveals(&[k("employer")]));
        assert!(s.reveals(&[k("employer"), PathElem::Index(0)]));
        assert!(s.reveals(&[k("employer"), PathElem::Index(0), k("name")]));
        assert!(!s.reveals(&[k("employer"), PathElem::Index(1)]));
        assert!(!s.reveals(&[k("employer"), PathElem::Index(0), k("id")]));
        let all = Selection::parse("work_information.work_address.*").unwrap();
        assert!(all.reveals(&[k("work_information"), k("work_address"), PathElem::Index(3), k("postal_code")]));
        assert!(Selection::parse("a..b").is_err());
    }
}
