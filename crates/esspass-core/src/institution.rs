//! EESSI institution ids: `CC:localid`, `CC` an EESSI country code (`EL`, `UK`; ISO spellings are read
//! too), `localid` 1–10 characters of `[A-Za-z0-9]`.

use crate::Country;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An EESSI institution id such as `SE:6`, `NO:NAVAT07` or `EL:EFKA01`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstitutionId {
    country: Country,
    local: String,
}

impl InstitutionId {
    /// Parse `CC:localid`. The country part may be ISO or EESSI; it is always written in EESSI form.
    pub fn parse(s: &str) -> Option<Self> {
        let (cc, local) = s.split_once(':')?;
        let country = Country::parse(cc)?;
        if local.is_empty() || local.len() > 10 || !local.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        Some(Self { country, local: local.to_owned() })
    }

    pub fn country(&self) -> Country {
        self.country
    }

    pub fn local_id(&self) -> &str {
        &self.local
    }
}

impl std::fmt::Display for InstitutionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.country.eessi(), self.local)
    }
}

impl std::fmt::Debug for InstitutionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for InstitutionId {
    type Err = crate::ErrorCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InstitutionId::parse(s).ok_or(crate::ErrorCode::InvalidInstitutionId)
    }
}

impl Serialize for InstitutionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for InstitutionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        InstitutionId::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not an institution id: {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_production_ids() {
        assert_eq!(InstitutionId::parse("SE:6").unwrap().to_string(), "SE:6");
        assert_eq!(InstitutionId::parse("NO:NAVAT07").unwrap().local_id(), "NAVAT07");
        let gr = InstitutionId::parse("GR:EFKA01").unwrap();
        assert_eq!(gr.to_string(), "EL:EFKA01");
        assert_eq!(gr.country().iso(), "GR");
        assert_eq!(InstitutionId::parse("UK:HMRC").unwrap().to_string(), "UK:HMRC");
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["SE", "SE:", ":6", "XX:1", "SE:12345678901", "SE:a-b", "se:6", "SE:6:7"] {
            assert!(InstitutionId::parse(bad).is_none(), "{bad}");
        }
    }
}
