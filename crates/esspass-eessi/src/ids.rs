//! Identifiers of the exchange: SED types, BUC types, CDM versions, and the ids of cases,
//! documents and messages. Each is a type that cannot hold an invalid value.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( #[doc = $text] $variant, )* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// The code as written on the wire.
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $code,)* } }
            /// The meaning in plain English.
            pub fn title(self) -> &'static str { match self { $($name::$variant => $text,)* } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($code => Some($name::$variant),)* _ => None } }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| <D::Error as serde::de::Error>::custom(format!("unknown code {s:?}")))
            }
        }

        impl crate::xml::Leaf for $name {
            fn to_text(&self) -> std::borrow::Cow<'_, str> { std::borrow::Cow::Borrowed(self.as_str()) }
            fn from_text(s: &str) -> Result<Self, String> {
                $name::parse(s).ok_or_else(|| {
                    let all: Vec<&str> = $name::ALL.iter().map(|c| c.as_str()).collect();
                    format!("{s:?} is not one of {}", all.join(", "))
                })
            }
        }
    };
}
pub(crate) use code_enum;

code_enum!(
    /// The SED types this crate knows: the legislation-applicable sector (A001–A012), the horizontal
    /// ad-hoc exchange (H001/H002) and the case administration SEDs usable in every BUC.
    SedType {
    A001 = "A001", "Request for exception (Art 16 Reg. 883/2004, Art 18 Reg. 987/2009)";
    A002 = "A002", "Partial or total refusal of request for exception";
    A003 = "A003", "Determination of applicable legislation (Art 13 Reg. 883/2004, Art 16 Reg. 987/2009)";
    A004 = "A004", "Disagreement with the determination of applicable legislation";
    A005 = "A005", "Request for more information";
    A006 = "A006", "Reply to request for more information";
    A007 = "A007", "Provisional determination of applicable legislation (Art 6 Reg. 987/2009)";
    A008 = "A008", "Notification of relevant information";
    A009 = "A009", "Notification of posting (Art 12 Reg. 883/2004, Art 15 Reg. 987/2009)";
    A010 = "A010", "Notification of applicable legislation (Art 11, 15 Reg. 883/2004)";
    A011 = "A011", "Acceptance of request for exception";
    A012 = "A012", "Approval of the determination of applicable legislation";
    H001 = "H001", "Notification / request for information (ad-hoc exchange)";
    H002 = "H002", "Reply to notification / request for information";
    X001 = "X001", "Request for closure of the case";
    X008 = "X008", "Invalidate SED";
    X009 = "X009", "Reminder";
    X010 = "X010", "Reply to reminder";
    X011 = "X011", "Reject SED";
    X050 = "X050", "Business exception";
});

impl SedType {
    /// Case administration SEDs (the X series), usable in every BUC.
    pub fn is_administrative(self) -> bool {
        self.as_str().starts_with('X')
    }
}

code_enum!(
    /// The business use cases this crate knows.
    BucType {
    LaBuc01 = "LA_BUC_01", "Request for exception (Art 16)";
    LaBuc02 = "LA_BUC_02", "Determination of applicable legislation, activity in two or more states (Art 13)";
    LaBuc03 = "LA_BUC_03", "Notification of relevant information";
    LaBuc04 = "LA_BUC_04", "Notification of posting (Art 12)";
    LaBuc05 = "LA_BUC_05", "Notification of applicable legislation (Art 11, 15)";
    LaBuc06 = "LA_BUC_06", "Request for more information";
    HBuc01 = "H_BUC_01", "Ad-hoc exchange of information";
});

/// A CDM (common data model) version, `generation.version`: `4.2` is `sedGVer="4" sedVer="2"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CdmVersion {
    pub generation: u8,
    pub version: u8,
}

impl CdmVersion {
    pub const V4_2: CdmVersion = CdmVersion {
        generation: 4,
        version: 2,
    };
    pub const V4_3: CdmVersion = CdmVersion {
        generation: 4,
        version: 3,
    };
    pub const V4_4: CdmVersion = CdmVersion {
        generation: 4,
        version: 4,
    };
    /// The versions this crate reads and writes (the SED shapes are the same in all three).
    pub const SUPPORTED: &'static [CdmVersion] = &[Self::V4_2, Self::V4_3, Self::V4_4];

    /// Parse `4.2`.
    pub fn parse(s: &str) -> Option<Self> {
        let (g, v) = s.split_once('.')?;
        Some(Self {
            generation: parse_small(g)?,
            version: parse_small(v)?,
        })
    }

    /// The namespace segment, `4_2`.
    pub fn ns_segment(&self) -> String {
        format!("{}_{}", self.generation, self.version)
    }
}

/// A decimal number 0–99 without sign or leading zeros (except `0` itself).
pub(crate) fn parse_small(s: &str) -> Option<u8> {
    if s.is_empty()
        || s.len() > 2
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

impl std::fmt::Display for CdmVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.generation, self.version)
    }
}

impl Serialize for CdmVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CdmVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CdmVersion::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not a CDM version: {s:?}")))
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// 1–64 characters of `[A-Za-z0-9._:-]`, starting with a letter or digit.
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Option<Self> {
                let ok_first = s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
                let ok_rest = s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
                (ok_first && ok_rest && s.len() <= 64).then(|| Self(s.to_owned()))
            }
            pub fn as_str(&self) -> &str { &self.0 }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
        }
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(&self.0) }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a valid id: {s:?}")))
            }
        }
        impl crate::xml::Leaf for $name {
            fn to_text(&self) -> std::borrow::Cow<'_, str> { std::borrow::Cow::Borrowed(&self.0) }
            fn from_text(s: &str) -> Result<Self, String> {
                $name::parse(s).ok_or_else(|| format!("{s:?} is not an id of 1 to 64 characters [A-Za-z0-9._:-]"))
            }
        }
    };
}

id_type!(
    /// The id of a case (one BUC instance), the same at every participant.
    CaseId
);
id_type!(
    /// The id of a document (one SED instance) within its case.
    DocumentId
);
id_type!(
    /// The id of one message on the wire; the receiver drops duplicates by it.
    MessageId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_back() {
        for t in SedType::ALL {
            assert_eq!(SedType::parse(t.as_str()), Some(*t));
        }
        for b in BucType::ALL {
            assert_eq!(BucType::parse(b.as_str()), Some(*b));
        }
        assert_eq!(SedType::ALL.len(), 20);
        assert!(SedType::X050.is_administrative() && !SedType::H001.is_administrative());
        assert_eq!(BucType::parse("LA_BUC_07"), None);
    }

    #[test]
    fn versions() {
        assert_eq!(CdmVersion::parse("4.2"), Some(CdmVersion::V4_2));
        assert_eq!(CdmVersion::V4_4.ns_segment(), "4_4");
        for bad in ["4", "4.", ".2", "4.02", "a.b", "4.2.1", "-4.2", "100.1"] {
            assert_eq!(CdmVersion::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids() {
        assert!(CaseId::parse("1234567").is_some());
        assert!(DocumentId::parse("a1b2c3d4-e5f6.7").is_some());
        for bad in ["", "-x", "a b", "ä", &"x".repeat(65)] {
            assert!(MessageId::parse(bad).is_none(), "{bad}");
        }
    }
}
