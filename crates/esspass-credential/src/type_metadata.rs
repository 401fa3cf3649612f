//! SD-JWT VC Type Metadata: which claims are selectively disclosable (`sd`: always / allowed / never),
//! which are mandatory, and how claims are displayed. The metadata for our two `vct`s ships with the
//! product (they are URNs and cannot be fetched) and drives both issuance and verification.

use crate::{Error, Result};
use esspass_core::{CredentialType, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One step of a claim path: a key, an array index, or every element of an array (`null`; the
/// DC4EU rulebook writes `"*"`, which is read as the same).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    Key(String),
    Index(usize),
    AnyElement,
}

impl Serialize for Selector {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Selector::Key(k) => s.serialize_str(k),
            Selector::Index(i) => s.serialize_u64(*i as u64),
            Selector::AnyElement => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(Selector::AnyElement),
            Value::String(s) if s == "*" => Ok(Selector::AnyElement),
            Value::String(s) => Ok(Selector::Key(s)),
            Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()).map(Selector::Index).ok_or_else(|| serde::de::Error::custom("bad index")),
            _ => Err(serde::de::Error::custom("a path step is a string, a non-negative integer or null")),
        }
    }
}

/// A concrete position in a credential's claims.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathElem {
    Key(String),
    Index(usize),
}

/// Whether a concrete path matches a selector path (same length, each step matching).
pub fn matches(pattern: &[Selector], path: &[PathElem]) -> bool {
    pattern.len() == path.len()
        && pattern.iter().zip(path).all(|(s, p)| match (s, p) {
            (Selector::Key(a), PathElem::Key(b)) => a == b,
            (Selector::Index(a), PathElem::Index(b)) => a == b,
            (Selector::AnyElement, PathElem::Index(_)) => true,
            _ => false,
        })
}

/// Dotted rendering of a concrete path: `employer.0.name`.
pub fn dotted(path: &[PathElem]) -> String {
    path.iter()
        .map(|p| match p {
            PathElem::Key(k) => k.clone(),
            PathElem::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Parse a JSON path as used in validation problems (`$.employer[0].name`) into path elements.
pub fn parse_json_path(p: &str) -> Vec<PathElem> {
    let mut out = Vec::new();
    let rest = p.strip_prefix('$').unwrap_or(p);
    for seg in rest.split('.').filter(|s| !s.is_empty()) {
        let mut parts = seg.split('[');
        if let Some(k) = parts.next().filter(|k| !k.is_empty()) {
            out.push(PathElem::Key(k.to_owned()));
        }
        for idx in parts {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(PathElem::Index(i));
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sd {
    Always,
    #[default]
    Allowed,
    Never,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimMetadata {
    pub path: Vec<Selector>,
    #[serde(default)]
    pub sd: Sd,
    #[serde(default)]
    pub mandatory: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeMetadata {
    pub vct: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Value>,
    #[serde(default)]
    pub claims: Vec<ClaimMetadata>,
}

/// Claims that are never selectively disclosable in an SD-JWT VC (and, in our profile, `iat`, `sub`, `jti`).
pub const NEVER_DISCLOSABLE: &[&str] = &["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "iat", "sub", "jti"];

impl TypeMetadata {
    pub fn parse(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::new(ErrorCode::InvalidJson, format!("type metadata: {e}")))
    }

    /// The metadata that ships with esspass for one of our types (parsed once per process).
    pub fn builtin(t: CredentialType) -> &'static Self {
        static PDA1: std::sync::OnceLock<TypeMetadata> = std::sync::OnceLock::new();
        static EHIC: std::sync::OnceLock<TypeMetadata> = std::sync::OnceLock::new();
        static PID: std::sync::OnceLock<TypeMetadata> = std::sync::OnceLock::new();
        let (cell, src) = match t {
            CredentialType::Pda1 => (&PDA1, include_str!("../metadata/pda1.json")),
            CredentialType::Ehic => (&EHIC, include_str!("../metadata/ehic.json")),
            CredentialType::Pid => (&PID, include_str!("../metadata/pid.json")),
        };
        // The shipped files are checked by a unit test; a broken file yields metadata with no claims.
        cell.get_or_init(|| Self::parse(src).unwrap_or(Self { vct: t.vct().into(), name: None, description: None, display: Vec::new(), claims: Vec::new() }))
    }

    /// The built-in metadata for a `vct`, if it is one of ours.
    pub fn for_vct(vct: &str) -> Option<&'static Self> {
        CredentialType::from_vct(vct).map(Self::builtin)
    }

    /// The `sd` rule for a concrete path: the first claim entry whose path matches; `allowed` if none.
    /// The reserved JWT claims at the top level are always `never`.
    pub fn sd_for(&self, path: &[PathElem]) -> Sd {
        if let [PathElem::Key(k), ..] = path
            && NEVER_DISCLOSABLE.contains(&k.as_str()) {
                return Sd::Never;
            }
        self.claims.iter().find(|c| matches(&c.path, path)).map_or(Sd::Allowed, |c| c.sd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> PathElem {
        PathElem::Key(s.into())
    }

    #[test]
    fn shipped_metadata_parses_and_follows_the_rulebook() {
        for t in CredentialType::DOCUMENTS {
            let src = match t {
                CredentialType::Pda1 => include_str!("../metadata/pda1.json"),
                CredentialType::Ehic | CredentialType::Pid => include_str!("../metadata/ehic.json"),
            };
            let m = TypeMetadata::parse(src).unwrap();
            assert_eq!(m.vct, t.vct());
            assert_eq!(m.sd_for(&[k("personal_administrative_number")]), Sd::Always);
            assert_eq!(m.sd_for(&[k("document_number")]), Sd::Always);
            assert_eq!(m.sd_for(&[k("issuing_authority")]), Sd::Never);
            assert_eq!(m.sd_for(&[k("issuing_authority"), k("country")]), Sd::Never);
            assert_eq!(m.sd_for(&[k("date_of_issuance")]), Sd::Never);
            assert_eq!(m.sd_for(&[k("cnf")]), Sd::Never);
        }
        let p = TypeMetadata::builtin(CredentialType::Pda1);
        assert_eq!(p.sd_for(&[k("employer"), PathElem::Index(3), k("name")]), Sd::Never);
        assert_eq!(p.sd_for(&[k("transitional_rules")]), Sd::Always);
    }

    /// The DC4EU rulebooks' `sd` exactly: `always` for personal_administrative_number,
    /// document_number and (PDA1) transitional_rules; `never` for every other claim, including
    /// each work address and its fields and the EHIC representation block (`subject`).
    #[test]
    fn sd_is_the_rulebooks_always_and_never() {
        for t in CredentialType::DOCUMENTS {
            let m = TypeMetadata::builtin(t);
            let always: &[&str] = match t {
                CredentialType::Pda1 => &["personal_administrative_number", "document_number", "transitional_rules"],
                CredentialType::Ehic | CredentialType::Pid => &["personal_administrative_number", "document_number"],
            };
            for c in &m.claims {
                let want = if matches!(c.path.as_slice(), [Selector::Key(k)] if always.contains(&k.as_str())) { Sd::Always } else { Sd::Never };
                assert_eq!(c.sd, want, "{t:?} {:?}", c.path);
            }
            assert!(!m.claims.iter().any(|c| c.sd == Sd::Allowed));
        }
        let p = TypeMetadata::builtin(CredentialType::Pda1);
        let wa = |rest: &[PathElem]| [vec![k("work_information"), k("work_address"), PathElem::Index(1)], rest.to_vec()].concat();
        assert_eq!(p.sd_for(&wa(&[])), Sd::Never);
        for f in ["formatted", "street_address", "house_number", "postal_code", "company_name", "company_id", "locality", "country", "region", "flag_base_home"] {
            assert_eq!(p.sd_for(&wa(&[k(f)])), Sd::Never, "{f}");
        }
        assert_eq!(p.sd_for(&[k("issuing_country")]), Sd::Never);
        let e = TypeMetadata::builtin(CredentialType::Ehic);
        for f in ["forenames", "familynames", "date_of_birth"] {
            assert_eq!(e.sd_for(&[k("subject"), k(f)]), Sd::Never, "{f}");
        }
        assert_eq!(e.sd_for(&[k("subject")]), Sd::Never);
    }

    #[test]
    fn star_and_null_are_the_same() {
        let a: Vec<Selector> = serde_json::from_str(r#"["a", "*", 2]"#).unwrap();
        let b: Vec<Selector> = serde_json::from_str(r#"["a", null, 2]"#).unwrap();
        assert_eq!(a, b);
        assert!(matches(&a, &[k("a"), PathElem::Index(7), PathElem::Index(2)]));
        assert_eq!(parse_json_path("$.employer[0].name"), vec![k("employer"), PathElem::Index(0), k("name")]);
    }
}
