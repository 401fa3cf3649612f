//! Countries. Credential claims use ISO 3166-1 alpha-2 (`GR`, `GB`); EESSI institution ids use the
//! EU's codes (`EL`, `UK`). [`Country`] reads both and always holds the ISO form.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// All officially assigned ISO 3166-1 alpha-2 codes, concatenated (two letters each).
const ISO_3166_ALPHA2: &str = "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ\
CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGP\
GQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMA\
MCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQA\
RERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVC\
VEVGVIVNVUWFWSYEYTZAZMZW";

const EU: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
    "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];
const EEA_EFTA: &[&str] = &["IS", "LI", "NO"];

/// Under which instrument a state takes part in the coordination of social security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// A Member State of the European Union (Reg. 883/2004 directly).
    Eu,
    /// Iceland, Liechtenstein, Norway (EEA Agreement, Annex VI).
    Eea,
    /// Switzerland (EU–Swiss Agreement on the free movement of persons, Annex II).
    Switzerland,
    /// The United Kingdom (EU–UK Trade and Cooperation Agreement, Protocol on SSC).
    UnitedKingdom,
}

/// An ISO 3166-1 alpha-2 country code that is officially assigned. Cannot hold anything else.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// Parse an ISO 3166-1 alpha-2 code, or the EESSI spellings `EL` (Greece) and `UK` (United Kingdom).
    /// Upper case only: claims are case-sensitive (`^[A-Z]{2}$`).
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let [a, c] = b else { return None };
        let code = match [*a, *c] {
            [b'E', b'L'] => [b'G', b'R'],
            [b'U', b'K'] => [b'G', b'B'],
            x => x,
        };
        if !code.iter().all(u8::is_ascii_uppercase) {
            return None;
        }
        let known = ISO_3166_ALPHA2.as_bytes().chunks_exact(2).any(|pair| pair == code);
        known.then_some(Self(code))
    }

    /// Parse the ISO spelling only (what a claim must hold).
    pub fn parse_iso(s: &str) -> Option<Self> {
        if s == "EL" || s == "UK" {
            return None;
        }
        Self::parse(s)
    }

    /// The ISO 3166-1 alpha-2 code (`GR`).
    pub fn iso(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The EESSI code (`EL` for Greece, `UK` for the United Kingdom, otherwise ISO).
    pub fn eessi(&self) -> &str {
        match &self.0 {
            b"GR" => "EL",
            b"GB" => "UK",
            _ => self.iso(),
        }
    }

    /// Whether and how the state takes part in social security coordination.
    pub fn area(&self) -> Option<Area> {
        let iso = self.iso();
        if EU.contains(&iso) {
            Some(Area::Eu)
        } else if EEA_EFTA.contains(&iso) {
            Some(Area::Eea)
        } else if iso == "CH" {
            Some(Area::Switzerland)
        } else if iso == "GB" {
            Some(Area::UnitedKingdom)
        } else {
            None
        }
    }

    /// Every participating state (EU 27, IS, LI, NO, CH, UK).
    pub fn participating() -> impl Iterator<Item = Country> {
        EU.iter().chain(EEA_EFTA).chain(&["CH", "GB"]).filter_map(|c| Country::parse(c))
    }
}

impl std::fmt::Debug for Country {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.iso())
    }
}

impl std::fmt::Display for Country {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.iso())
    }
}

impl std::str::FromStr for Country {
    type Err = crate::ErrorCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Country::parse(s).ok_or(crate::ErrorCode::InvalidCountry)
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.iso())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Country::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a country code: {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_spellings_writes_iso() {
        let gr = Country::parse("EL").unwrap();
        assert_eq!(gr, Country::parse("GR").unwrap());
        assert_eq!(gr.iso(), "GR");
        assert_eq!(gr.eessi(), "EL");
        assert_eq!(Country::parse("UK").unwrap().iso(), "GB");
        assert_eq!(serde_json::to_string(&gr).unwrap(), "\"GR\"");
    }

    #[test]
    fn rejects_unassigned_and_lowercase() {
        for bad in ["", "G", "GRC", "gr", "XX", "ZZ", "A1", "Gr"] {
            assert!(Country::parse(bad).is_none(), "{bad}");
        }
        assert!(Country::parse_iso("EL").is_none());
    }

    #[test]
    fn participating_states() {
        assert_eq!(Country::participating().count(), 32);
        assert_eq!(Country::parse("NO").unwrap().area(), Some(Area::Eea));
        assert_eq!(Country::parse("UK").unwrap().area(), Some(Area::UnitedKingdom));
        assert_eq!(Country::parse("CH").unwrap().area(), Some(Area::Switzerland));
        assert_eq!(Country::parse("US").unwrap().area(), None);
        assert_eq!(Country::parse("TR").unwrap().area(), None);
    }
}
