//! The two credential documents, PDA1 (`urn:eudi:pda1:1`) and EHIC (`urn:eudi:ehic:1`), exactly as
//! docs/domain.md §2 gives them (DC4EU WP6 model, August 2025).
//!
//! [`Pda1::from_claims`] and [`Ehic::from_claims`] validate a JSON object and return **every** problem
//! with its JSON path and stable code. Older pilot field names (`issuing_country`, a single `employer`
//! object, a top-level `work_address`) are read and normalised; serialisation writes only the current
//! names.

use crate::{Country, Date, EmployerType, ErrorCode, InstitutionId, Problem, Problems, StatusConfirmation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The credential types esspass issues and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialType {
    Pda1,
    Ehic,
    /// The person identification data of the EUDI Wallet (ARF Annex 3.01, PID Rulebook §4), issued by
    /// a PID provider; institutions sign people in with it.
    Pid,
}

impl CredentialType {
    pub const ALL: [CredentialType; 3] = [CredentialType::Pda1, CredentialType::Ehic, CredentialType::Pid];
    /// The social security documents (what institutions issue; what paper and EESSI carry).
    pub const DOCUMENTS: [CredentialType; 2] = [CredentialType::Pda1, CredentialType::Ehic];

    /// The SD-JWT VC type identifier.
    pub fn vct(self) -> &'static str {
        match self {
            CredentialType::Pda1 => "urn:eudi:pda1:1",
            CredentialType::Ehic => "urn:eudi:ehic:1",
            CredentialType::Pid => "urn:eudi:pid:1",
        }
    }

    pub fn from_vct(vct: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.vct() == vct)
    }

    /// `pda1` / `ehic`.
    pub fn short_name(self) -> &'static str {
        match self {
            CredentialType::Pda1 => "pda1",
            CredentialType::Ehic => "ehic",
            CredentialType::Pid => "pid",
        }
    }

    pub fn from_short_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.short_name() == s)
    }
}

/// How strict [`Pda1::from_claims`] / [`Ehic::from_claims`] are about claims outside the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimsMode {
    /// Business claims given to the issuer: JWT claims are an error (`ESP-1014`).
    Business,
    /// The processed payload of a credential: JWT and SD-JWT VC claims are skipped.
    Credential,
}

/// JWT / SD-JWT VC claims that are not part of the business document.
pub const JWT_CLAIMS: &[&str] =
    &["iss", "iat", "nbf", "exp", "jti", "sub", "cnf", "status", "vct", "vct#integrity", "_sd", "_sd_alg", "aud"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuingAuthority {
    pub id: String,
    pub name: String,
    pub country: Country,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticSource {
    pub id: InstitutionId,
    pub name: String,
}

/// The common block of both credentials (docs/domain.md §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Common {
    pub personal_administrative_number: String,
    pub issuing_authority: IssuingAuthority,
    pub authentic_source: AuthenticSource,
    pub document_number: String,
    pub date_of_issuance: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_expiry: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending_date: Option<Date>,
    /// `urn:etsi:esi:eaa:eu:pub` (the EUDI template's name for the legal category).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// EHIC representation block (a card issued to a representative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub forenames: String,
    pub familynames: String,
    pub date_of_birth: Date,
}

/// European Health Insurance Card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ehic {
    #[serde(flatten)]
    pub common: Common,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employer {
    #[serde(rename = "type")]
    pub kind: EmployerType,
    pub id: String,
    pub name: String,
    pub country: Country,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub house_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    pub locality: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub country: Country,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag_base_home: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkInformation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_fixed_place_of_work: Option<Country>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub work_address: Vec<WorkAddress>,
}

/// Portable Document A1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pda1 {
    #[serde(flatten)]
    pub common: Common,
    pub employer: Vec<Employer>,
    pub work_information: WorkInformation,
    pub legislation_country: Country,
    pub status_confirmation: StatusConfirmation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitional_rules: Option<bool>,
}

impl Pda1 {
    /// Validate and normalise a JSON object into a PDA1, or return every problem found.
    pub fn from_claims(v: &Value, mode: ClaimsMode) -> Result<Self, Problems> {
        Self::from_map(as_object(v)?, mode)
    }

    /// As [`Pda1::from_claims`], from a JSON object; copies it only when legacy names need rewriting.
    pub fn from_map(obj: &Map<String, Value>, mode: ClaimsMode) -> Result<Self, Problems> {
        let obj = if has_legacy(obj, true) {
            let mut o = obj.clone();
            normalise_legacy_common(&mut o);
            normalise_legacy_pda1(&mut o);
            std::borrow::Cow::Owned(o)
        } else {
            std::borrow::Cow::Borrowed(obj)
        };
        let obj = obj.as_ref();
        let mut c = Checker::default();
        c.unknown_fields(obj, "$", COMMON_FIELDS.iter().chain(PDA1_FIELDS), mode);
        let common = c.common(obj);
        let employer = c.array(obj, "$", "employer", true, |c, v, p| c.employer(v, &p));
        let work_information = c.object(obj, "$", "work_information", true, |c, o, p| c.work_information(o, &p));
        let legislation_country = c.participating_country(obj, "$", "legislation_country", true);
        let status_confirmation = c.parsed(obj, "$", "status_confirmation", true, ErrorCode::InvalidStatusConfirmation, StatusConfirmation::parse);
        let transitional_rules = c.boolean(obj, "$", "transitional_rules");
        if let Some(cm) = &common {
            if cm.starting_date.is_none() {
                c.push("$.starting_date", ErrorCode::MissingField, "a PDA1 needs starting_date");
            }
            if cm.ending_date.is_none() {
                c.push("$.ending_date", ErrorCode::MissingField, "a PDA1 needs ending_date (the review date for open-ended decisions)");
            }
        }
        match (common, employer, work_information, legislation_country, status_confirmation, c.problems.is_empty()) {
            (Some(common), Some(employer), Some(work_information), Some(legislation_country), Some(status_confirmation), true) => {
                Ok(Pda1 { common, employer, work_information, legislation_country, status_confirmation, transitional_rules })
            }
            _ => Err(c.finish()),
        }
    }

    /// The document as claims (current names only).
    pub fn to_claims(&self) -> Map<String, Value> {
        to_map(self)
    }
}

impl Ehic {
    /// Validate and normalise a JSON object into an EHIC, or return every problem found.
    pub fn from_claims(v: &Value, mode: ClaimsMode) -> Result<Self, Problems> {
        Self::from_map(as_object(v)?, mode)
    }

    /// As [`Ehic::from_claims`], from a JSON object; copies it only when legacy names need rewriting.
    pub fn from_map(obj: &Map<String, Value>, mode: ClaimsMode) -> Result<Self, Problems> {
        let obj = if has_legacy(obj, false) {
            let mut o = obj.clone();
            normalise_legacy_common(&mut o);
            std::borrow::Cow::Owned(o)
        } else {
            std::borrow::Cow::Borrowed(obj)
        };
        let obj = obj.as_ref();
        let mut c = Checker::default();
        c.unknown_fields(obj, "$", COMMON_FIELDS.iter().chain(EHIC_FIELDS), mode);
        let common = c.common(obj);
        let subject = c.object(obj, "$", "subject", false, |c, o, p| {
            c.unknown_fields(o, &p, ["forenames", "familynames", "date_of_birth"].iter(), ClaimsMode::Business);
            let forenames = c.string(o, &p, "forenames", 1, 155, true);
            let familynames = c.string(o, &p, "familynames", 1, 155, true);
            let date_of_birth = c.date(o, &p, "date_of_birth", true);
            Some(Subject { forenames: forenames?, familynames: familynames?, date_of_birth: date_of_birth? })
        });
        match (common, c.problems.is_empty()) {
            (Some(common), true) => Ok(Ehic { common, subject }),
            _ => Err(c.finish()),
        }
    }

    pub fn to_claims(&self) -> Map<String, Value> {
        to_map(self)
    }
}

/// Place of birth (PID Rulebook §3.1.5): at least one of country, region, locality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOfBirth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
}

/// Resident address (OIDC `address`, PID Rulebook §4.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub house_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
}

/// Person identification data in the SD-JWT VC encoding of the PID Rulebook (ARF Annex 3.01 §4,
/// `urn:eudi:pid:1`): the mandatory attributes of CIR 2024/2977 (names, birth date and place,
/// nationalities; expiry date, issuing authority and country) and the optional ones esspass uses.
/// `issuing_authority` is a name here, not the institution object of the social security documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pid {
    pub family_name: String,
    pub given_name: String,
    pub birthdate: Date,
    pub place_of_birth: PlaceOfBirth,
    pub nationalities: Vec<Country>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_administrative_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<PidAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_given_name: Option<String>,
    /// ISO/IEC 5218 plus the rulebook's values: 0 not known, 1 male, 2 female, 3 other, 4 inter,
    /// 5 diverse, 6 open, 9 not applicable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_issuance: Option<Date>,
    pub date_of_expiry: Date,
    pub issuing_authority: String,
    pub issuing_country: Country,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_equal_or_over: Option<std::collections::BTreeMap<String, bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_in_years: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_birth_year: Option<u16>,
}

const PID_FIELDS: &[&str] = &[
    "family_name",
    "given_name",
    "birthdate",
    "place_of_birth",
    "nationalities",
    "personal_administrative_number",
    "address",
    "birth_family_name",
    "birth_given_name",
    "sex",
    "email",
    "date_of_issuance",
    "date_of_expiry",
    "issuing_authority",
    "issuing_country",
    "issuing_jurisdiction",
    "document_number",
    "age_equal_or_over",
    "age_in_years",
    "age_birth_year",
    "trust_anchor",
];

impl Pid {
    /// Validate a JSON object as a PID, or return every problem found.
    pub fn from_claims(v: &Value, mode: ClaimsMode) -> Result<Self, Problems> {
        Self::from_map(as_object(v)?, mode)
    }

    pub fn from_map(obj: &Map<String, Value>, mode: ClaimsMode) -> Result<Self, Problems> {
        let mut c = Checker::default();
        c.unknown_fields(obj, "$", PID_FIELDS.iter(), mode);
        // Either name may be empty for a person who has none, not both (PID Rulebook §2.2).
        let family_name = c.string(obj, "$", "family_name", 0, 150, true);
        let given_name = c.string(obj, "$", "given_name", 0, 150, true);
        if family_name.as_deref() == Some("") && given_name.as_deref() == Some("") {
            c.push("$.family_name", ErrorCode::LengthOutOfRange, "family_name and given_name cannot both be empty");
        }
        let birthdate = c.date(obj, "$", "birthdate", true);
        let place_of_birth = c.object(obj, "$", "place_of_birth", true, |c, o, p| {
            c.unknown_fields(o, &p, ["country", "region", "locality"].iter(), ClaimsMode::Business);
            let pob = PlaceOfBirth { country: c.country(o, &p, "country", false), region: c.string(o, &p, "region", 1, 100, false), locality: c.string(o, &p, "locality", 1, 100, false) };
            if pob.country.is_none() && pob.region.is_none() && pob.locality.is_none() && !["country", "region", "locality"].iter().any(|k| o.contains_key(*k)) {
                c.push(p, ErrorCode::MissingField, "place_of_birth needs at least one of country, region, locality");
                return None;
            }
            Some(pob)
        });
        let nationalities = c.array(obj, "$", "nationalities", true, |c, v, p| match v.as_str().and_then(Country::parse) {
            Some(n) => Some(n),
            None => {
                c.push(p, ErrorCode::InvalidCountry, "a nationality is an ISO 3166-1 alpha-2 code");
                None
            }
        });
        let personal_administrative_number = c.string(obj, "$", "personal_administrative_number", 1, 50, false);
        let address = c.object(obj, "$", "address", false, |c, o, p| {
            c.unknown_fields(o, &p, ["formatted", "street_address", "house_number", "postal_code", "locality", "region", "country"].iter(), ClaimsMode::Business);
            Some(PidAddress {
                formatted: c.string(o, &p, "formatted", 1, 512, false),
                street_address: c.string(o, &p, "street_address", 1, 100, false),
                house_number: c.string(o, &p, "house_number", 1, 20, false),
                postal_code: c.string(o, &p, "postal_code", 1, 20, false),
                locality: c.string(o, &p, "locality", 1, 100, false),
                region: c.string(o, &p, "region", 1, 100, false),
                country: c.country(o, &p, "country", false),
            })
        });
        let birth_family_name = c.string(obj, "$", "birth_family_name", 1, 150, false);
        let birth_given_name = c.string(obj, "$", "birth_given_name", 1, 150, false);
        let sex = match c.required(obj, "$", "sex", false) {
            None => None,
            Some(v) => match v.as_u64().filter(|n| [0, 1, 2, 3, 4, 5, 6, 9].contains(n)).and_then(|n| u8::try_from(n).ok()) {
                Some(n) => Some(n),
                None => {
                    c.push("$.sex", ErrorCode::WrongType, "sex is one of the numbers 0-6 or 9 (PID Rulebook §2.3)");
                    None
                }
            },
        };
        let email = c.string(obj, "$", "email", 3, 254, false);
        let date_of_issuance = c.date(obj, "$", "date_of_issuance", false);
        let date_of_expiry = c.date(obj, "$", "date_of_expiry", true);
        let issuing_authority = c.string(obj, "$", "issuing_authority", 1, 100, true);
        let issuing_country = c.country(obj, "$", "issuing_country", true);
        let _ = c.string(obj, "$", "issuing_jurisdiction", 1, 20, false);
        let _ = c.string(obj, "$", "trust_anchor", 1, 255, false);
        let document_number = c.string(obj, "$", "document_number", 1, 50, false);
        let age_equal_or_over = c.object(obj, "$", "age_equal_or_over", false, |c, o, p| {
            let mut m = std::collections::BTreeMap::new();
            for (k, v) in o {
                match (k.parse::<u8>(), v) {
                    (Ok(_), Value::Bool(b)) => {
                        m.insert(k.clone(), *b);
                    }
                    _ => c.push(format!("{p}.{k}"), ErrorCode::WrongType, "age_equal_or_over maps an age in years to true or false"),
                }
            }
            Some(m)
        });
        let small = |c: &mut Checker, key: &str| match c.required(obj, "$", key, false) {
            None => None,
            Some(v) => match v.as_u64().and_then(|n| u16::try_from(n).ok()) {
                Some(n) => Some(n),
                None => {
                    c.push(format!("$.{key}"), ErrorCode::WrongType, format!("{key} must be a whole number"));
                    None
                }
            },
        };
        let age_in_years = small(&mut c, "age_in_years");
        let age_birth_year = small(&mut c, "age_birth_year");
        if let (Some(i), Some(x)) = (date_of_issuance, date_of_expiry)
            && x < i
        {
            c.push("$.date_of_expiry", ErrorCode::InconsistentDates, format!("date_of_expiry {x} is before date_of_issuance {i}"));
        }
        match (family_name, given_name, birthdate, place_of_birth, nationalities, date_of_expiry, issuing_authority, issuing_country, c.problems.is_empty()) {
            (Some(family_name), Some(given_name), Some(birthdate), Some(place_of_birth), Some(nationalities), Some(date_of_expiry), Some(issuing_authority), Some(issuing_country), true) => Ok(Pid {
                family_name,
                given_name,
                birthdate,
                place_of_birth,
                nationalities,
                personal_administrative_number,
                address,
                birth_family_name,
                birth_given_name,
                sex,
                email,
                date_of_issuance,
                date_of_expiry,
                issuing_authority,
                issuing_country,
                document_number,
                age_equal_or_over,
                age_in_years,
                age_birth_year,
            }),
            _ => Err(c.finish()),
        }
    }

    pub fn to_claims(&self) -> Map<String, Value> {
        to_map(self)
    }
}

fn to_map<T: Serialize>(t: &T) -> Map<String, Value> {
    match serde_json::to_value(t) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

const COMMON_FIELDS: &[&str] = &[
    "personal_administrative_number",
    "issuing_authority",
    "authentic_source",
    "document_number",
    "date_of_issuance",
    "date_of_expiry",
    "starting_date",
    "ending_date",
    "category",
];
const PDA1_FIELDS: &[&str] = &["employer", "work_information", "legislation_country", "status_confirmation", "transitional_rules"];
const EHIC_FIELDS: &[&str] = &["subject"];

fn has_legacy(obj: &Map<String, Value>, pda1: bool) -> bool {
    obj.contains_key("issuing_country") || (pda1 && (obj.contains_key("work_address") || obj.get("employer").is_some_and(Value::is_object)))
}

fn as_object(v: &Value) -> Result<&Map<String, Value>, Problems> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(Problems(vec![Problem::new("$", ErrorCode::NotAnObject, "the claims must be a JSON object")])),
    }
}

/// `issuing_country` (Gen-2 pilots) → `issuing_authority.country`.
fn normalise_legacy_common(obj: &mut Map<String, Value>) {
    if let Some(country) = obj.remove("issuing_country") {
        if let Some(Value::Object(ia)) = obj.get_mut("issuing_authority") {
            ia.entry("country").or_insert(country);
        } else if !obj.contains_key("issuing_authority") {
            let mut ia = Map::new();
            ia.insert("country".into(), country);
            obj.insert("issuing_authority".into(), Value::Object(ia));
        }
    }
}

/// A single `employer` object → an array (with type 01 when absent); a top-level `work_address`
/// (object or array, `building_number` for `house_number`) → `work_information.work_address[]`.
fn normalise_legacy_pda1(obj: &mut Map<String, Value>) {
    if let Some(Value::Object(e)) = obj.get("employer") {
        let mut e = e.clone();
        e.entry("type").or_insert_with(|| Value::String("01".into()));
        obj.insert("employer".into(), Value::Array(vec![Value::Object(e)]));
    }
    if let Some(wa) = obj.remove("work_address") {
        let mut list = match wa {
            Value::Array(a) => a,
            other => vec![other],
        };
        for a in &mut list {
            if let Value::Object(m) = a
                && let Some(b) = m.remove("building_number") {
                    m.entry("house_number").or_insert(b);
                }
        }
        let wi = obj.entry("work_information").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(wi) = wi {
            wi.entry("work_address").or_insert(Value::Array(list));
        }
    }
}

#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn push(&mut self, path: impl Into<String>, code: ErrorCode, msg: impl Into<String>) {
        self.problems.push(Problem::new(path, code, msg));
    }

    fn finish(mut self) -> Problems {
        if self.problems.is_empty() {
            self.push("$", ErrorCode::InvalidDocument, "the document is invalid");
        }
        Problems(self.problems)
    }

    fn unknown_fields<'a>(&mut self, obj: &Map<String, Value>, path: &str, known: impl Iterator<Item = &'a &'a str> + Clone, mode: ClaimsMode) {
        for k in obj.keys() {
            if known.clone().any(|n| n == k) {
                continue;
            }
            if path == "$" && JWT_CLAIMS.contains(&k.as_str()) {
                if mode == ClaimsMode::Business {
                    self.push(format!("$.{k}"), ErrorCode::JwtClaimInBusinessClaims, format!("{k} is set by the issuer, not given in the claims"));
                }
                continue;
            }
            self.push(format!("{path}.{k}"), ErrorCode::UnknownField, format!("unknown field {k:?}"));
        }
    }

    fn required<'v>(&mut self, obj: &'v Map<String, Value>, path: &str, key: &str, required: bool) -> Option<&'v Value> {
        match obj.get(key) {
            Some(Value::Null) | None => {
                if required {
                    self.push(format!("{path}.{key}"), ErrorCode::MissingField, format!("{key} is required"));
                }
                None
            }
            Some(v) => Some(v),
        }
    }

    fn string(&mut self, obj: &Map<String, Value>, path: &str, key: &str, min: usize, max: usize, required: bool) -> Option<String> {
        let v = self.required(obj, path, key, required)?;
        let p = format!("{path}.{key}");
        let Value::String(s) = v else {
            self.push(p, ErrorCode::WrongType, format!("{key} must be a string"));
            return None;
        };
        let n = s.chars().count();
        if n < min || n > max {
            self.push(p, ErrorCode::LengthOutOfRange, format!("{key} must have {min} to {max} characters, has {n}"));
            return None;
        }
        Some(s.clone())
    }

    fn parsed<T>(&mut self, obj: &Map<String, Value>, path: &str, key: &str, required: bool, code: ErrorCode, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let v = self.required(obj, path, key, required)?;
        let p = format!("{path}.{key}");
        let Value::String(s) = v else {
            self.push(p, ErrorCode::WrongType, format!("{key} must be a string"));
            return None;
        };
        let r = parse(s);
        if r.is_none() {
            self.push(p, code, format!("{key}: {} (got {s:?})", code.message()));
        }
        r
    }

    fn country(&mut self, obj: &Map<String, Value>, path: &str, key: &str, required: bool) -> Option<Country> {
        self.parsed(obj, path, key, required, ErrorCode::InvalidCountry, Country::parse)
    }

    /// A country that must take part in social security coordination (the issuing state, the state
    /// whose legislation applies): EU 27, IS, LI, NO, CH, UK.
    fn participating_country(&mut self, obj: &Map<String, Value>, path: &str, key: &str, required: bool) -> Option<Country> {
        let c = self.country(obj, path, key, required)?;
        if c.area().is_none() {
            let p = if path == "$" { format!("$.{key}") } else { format!("{path}.{key}") };
            self.push(p, ErrorCode::NotParticipating, format!("{key}: {} does not take part in EU social security coordination (EU 27, IS, LI, NO, CH, UK)", c.iso()));
        }
        Some(c)
    }

    fn date(&mut self, obj: &Map<String, Value>, path: &str, key: &str, required: bool) -> Option<Date> {
        self.parsed(obj, path, key, required, ErrorCode::InvalidDate, Date::parse)
    }

    fn boolean(&mut self, obj: &Map<String, Value>, path: &str, key: &str) -> Option<bool> {
        match self.required(obj, path, key, false)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.push(format!("{path}.{key}"), ErrorCode::WrongType, format!("{key} must be true or false"));
                None
            }
        }
    }

    fn object<T>(&mut self, obj: &Map<String, Value>, path: &str, key: &str, required: bool, f: impl FnOnce(&mut Self, &Map<String, Value>, String) -> Option<T>) -> Option<T> {
        let v = self.required(obj, path, key, required)?;
        let p = format!("{path}.{key}");
        match v {
            Value::Object(o) => f(self, o, p),
            _ => {
                self.push(p, ErrorCode::NotAnObject, format!("{key} must be an object"));
                None
            }
        }
    }

    fn array<T>(&mut self, obj: &Map<String, Value>, path: &str, key: &str, required: bool, f: impl Fn(&mut Self, &Value, String) -> Option<T>) -> Option<Vec<T>> {
        let v = self.required(obj, path, key, required)?;
        let p = format!("{path}.{key}");
        let Value::Array(items) = v else {
            self.push(p, ErrorCode::WrongType, format!("{key} must be an array"));
            return None;
        };
        if items.is_empty() {
            self.push(p, ErrorCode::EmptyArray, format!("{key} needs at least one element"));
            return None;
        }
        let out: Vec<Option<T>> = items.iter().enumerate().map(|(i, it)| f(self, it, format!("{p}[{i}]"))).collect();
        out.into_iter().collect()
    }

    fn common(&mut self, obj: &Map<String, Value>) -> Option<Common> {
        let pan = self.string(obj, "$", "personal_administrative_number", 4, 50, true);
        let ia = self.object(obj, "$", "issuing_authority", true, |c, o, p| {
            c.unknown_fields(o, &p, ["id", "name", "country"].iter(), ClaimsMode::Business);
            let id = c.string(o, &p, "id", 1, 20, true);
            let name = c.string(o, &p, "name", 1, 100, true);
            let country = c.participating_country(o, &p, "country", true);
            Some(IssuingAuthority { id: id?, name: name?, country: country? })
        });
        let source = self.object(obj, "$", "authentic_source", true, |c, o, p| {
            c.unknown_fields(o, &p, ["id", "name"].iter(), ClaimsMode::Business);
            let id = c.parsed(o, &p, "id", true, ErrorCode::InvalidInstitutionId, InstitutionId::parse);
            let name = c.string(o, &p, "name", 1, 100, true);
            Some(AuthenticSource { id: id?, name: name? })
        });
        let number = self.string(obj, "$", "document_number", 4, 50, true);
        let issued = self.date(obj, "$", "date_of_issuance", true);
        let expiry = self.date(obj, "$", "date_of_expiry", false);
        let start = self.date(obj, "$", "starting_date", false);
        let end = self.date(obj, "$", "ending_date", false);
        let category = self.string(obj, "$", "category", 1, 255, false);
        if let (Some(s), Some(e)) = (start, end)
            && e < s {
                self.push("$.ending_date", ErrorCode::PeriodReversed, format!("ending_date {e} is before starting_date {s}"));
            }
        if let (Some(i), Some(x)) = (issued, expiry)
            && x < i {
                self.push("$.date_of_expiry", ErrorCode::InconsistentDates, format!("date_of_expiry {x} is before date_of_issuance {i}"));
            }
        Some(Common {
            personal_administrative_number: pan?,
            issuing_authority: ia?,
            authentic_source: source?,
            document_number: number?,
            date_of_issuance: issued?,
            date_of_expiry: expiry,
            starting_date: start,
            ending_date: end,
            category,
        })
    }

    fn employer(&mut self, v: &Value, p: &str) -> Option<Employer> {
        let Value::Object(o) = v else {
            self.push(p, ErrorCode::NotAnObject, "an employer must be an object");
            return None;
        };
        self.unknown_fields(o, p, ["type", "id", "name", "country"].iter(), ClaimsMode::Business);
        let kind = self.parsed(o, p, "type", true, ErrorCode::InvalidEmployerType, EmployerType::parse);
        let id = self.string(o, p, "id", 1, 20, true);
        let name = self.string(o, p, "name", 1, 100, true);
        let country = self.country(o, p, "country", true);
        Some(Employer { kind: kind?, id: id?, name: name?, country: country? })
    }

    fn work_information(&mut self, o: &Map<String, Value>, p: &str) -> Option<WorkInformation> {
        self.unknown_fields(o, p, ["no_fixed_place_of_work", "work_address"].iter(), ClaimsMode::Business);
        let nfp = self.country(o, p, "no_fixed_place_of_work", false);
        let has_addr = o.get("work_address").is_some_and(|v| !v.is_null());
        if nfp.is_none() && !has_addr && !o.contains_key("no_fixed_place_of_work") {
            self.push(p, ErrorCode::WorkInformationIncomplete, "give no_fixed_place_of_work or at least one work_address");
            return None;
        }
        let addrs = if has_addr { self.array(o, p, "work_address", false, |c, v, ap| c.work_address(v, &ap))? } else { Vec::new() };
        Some(WorkInformation { no_fixed_place_of_work: nfp, work_address: addrs })
    }

    fn work_address(&mut self, v: &Value, p: &str) -> Option<WorkAddress> {
        let Value::Object(o) = v else {
            self.push(p, ErrorCode::NotAnObject, "a work address must be an object");
            return None;
        };
        self.unknown_fields(
            o,
            p,
            ["formatted", "street_address", "house_number", "postal_code", "locality", "region", "country", "company_name", "company_id", "flag_base_home"].iter(),
            ClaimsMode::Business,
        );
        let formatted = self.string(o, p, "formatted", 2, 512, false);
        let street_address = self.string(o, p, "street_address", 1, 100, false);
        let house_number = self.string(o, p, "house_number", 1, 20, false);
        let postal_code = self.string(o, p, "postal_code", 1, 20, false);
        let locality = self.string(o, p, "locality", 1, 100, true);
        let region = self.string(o, p, "region", 1, 100, false);
        let country = self.country(o, p, "country", true);
        let a = WorkAddress {
            formatted,
            street_address,
            house_number,
            postal_code,
            locality: locality?,
            region,
            country: country?,
            company_name: self.string(o, p, "company_name", 1, 100, false),
            company_id: self.string(o, p, "company_id", 1, 20, false),
            flag_base_home: self.string(o, p, "flag_base_home", 1, 20, false),
        };
        Some(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn pda1_example() -> Value {
        serde_json::from_str(include_str!("../../../examples/pda1-claims.json")).unwrap()
    }
    pub(crate) fn ehic_example() -> Value {
        serde_json::from_str(include_str!("../../../examples/ehic-claims.json")).unwrap()
    }

    #[test]
    fn examples_validate_and_roundtrip() {
        let p = Pda1::from_claims(&pda1_example(), ClaimsMode::Business).unwrap();
        assert_eq!(p.status_confirmation, StatusConfirmation::PostedEmployed);
        let back = Value::Object(p.to_claims());
        assert_eq!(Pda1::from_claims(&back, ClaimsMode::Business).unwrap(), p);
        let e = Ehic::from_claims(&ehic_example(), ClaimsMode::Business).unwrap();
        assert_eq!(Value::Object(e.to_claims()), ehic_example());
    }

    #[test]
    fn every_problem_with_path_and_code() {
        let mut v = pda1_example();
        v["employer"][0]["country"] = json!("XX");
        v["employer"][0]["type"] = json!("07");
        v["status_confirmation"] = json!("13");
        v["document_number"] = json!("ab");
        v["iss"] = json!("https://x");
        v.as_object_mut().unwrap().remove("legislation_country");
        let err = Pda1::from_claims(&v, ClaimsMode::Business).unwrap_err();
        let got: Vec<(String, &str)> = err.0.iter().map(|p| (p.path.clone(), p.code.code())).collect();
        for want in [
            ("$.employer[0].country", "ESP-1004"),
            ("$.employer[0].type", "ESP-1009"),
            ("$.status_confirmation", "ESP-1008"),
            ("$.document_number", "ESP-1003"),
            ("$.iss", "ESP-1014"),
            ("$.legislation_country", "ESP-1002"),
        ] {
            assert!(got.contains(&(want.0.to_string(), want.1)), "{want:?} not in {got:?}");
        }
        // In credential mode the JWT claim is fine.
        v["iss"] = json!("https://x");
        let err = Pda1::from_claims(&v, ClaimsMode::Credential).unwrap_err();
        assert!(!err.0.iter().any(|p| p.path == "$.iss"));
    }

    #[test]
    fn issuing_and_legislation_states_take_part_in_coordination() {
        let mut v = pda1_example();
        v["legislation_country"] = json!("US");
        v["issuing_authority"]["country"] = json!("JP");
        // An employer outside the coordination area is possible; the states that issue and whose
        // legislation applies are not.
        v["employer"][0]["country"] = json!("US");
        let err = Pda1::from_claims(&v, ClaimsMode::Business).unwrap_err();
        let got: Vec<(String, &str)> = err.0.iter().map(|p| (p.path.clone(), p.code.code())).collect();
        assert!(got.contains(&("$.legislation_country".into(), "ESP-1016")), "{got:?}");
        assert!(got.contains(&("$.issuing_authority.country".into(), "ESP-1016")), "{got:?}");
        assert_eq!(got.len(), 2, "{got:?}");
        let mut e = ehic_example();
        e["issuing_authority"]["country"] = json!("US");
        let err = Ehic::from_claims(&e, ClaimsMode::Business).unwrap_err();
        assert_eq!(err.0[0].code.code(), "ESP-1016");
    }

    #[test]
    fn legacy_names_are_read_and_normalised() {
        let mut v = pda1_example();
        let obj = v.as_object_mut().unwrap();
        let country = obj["issuing_authority"]["country"].clone();
        obj["issuing_authority"].as_object_mut().unwrap().remove("country");
        obj.insert("issuing_country".into(), country);
        let emp = obj["employer"][0].clone();
        obj.insert("employer".into(), json!({"id": emp["id"], "name": emp["name"], "country": emp["country"]}));
        let wa = obj.remove("work_information").unwrap()["work_address"][0].clone();
        let mut wa = wa.as_object().unwrap().clone();
        if let Some(h) = wa.remove("house_number") {
            wa.insert("building_number".into(), h);
        }
        obj.insert("work_address".into(), Value::Object(wa));
        let legacy = Pda1::from_claims(&v, ClaimsMode::Business).unwrap();
        let mut current = Pda1::from_claims(&pda1_example(), ClaimsMode::Business).unwrap();
        current.work_information.work_address.truncate(1);
        assert_eq!(legacy, current);
        let written = Value::Object(legacy.to_claims());
        assert!(written.get("issuing_country").is_none() && written.get("work_address").is_none());
        assert!(written["employer"].is_array());
    }

    #[test]
    fn work_information_needs_one_of() {
        let mut v = pda1_example();
        v["work_information"] = json!({});
        let err = Pda1::from_claims(&v, ClaimsMode::Business).unwrap_err();
        assert_eq!(err.0[0].code, ErrorCode::WorkInformationIncomplete);
        v["work_information"] = json!({"no_fixed_place_of_work": "DE"});
        assert!(Pda1::from_claims(&v, ClaimsMode::Business).is_ok());
        v["work_information"] = json!({"work_address": []});
        assert_eq!(Pda1::from_claims(&v, ClaimsMode::Business).unwrap_err().0[0].code, ErrorCode::EmptyArray);
    }

    #[test]
    fn ehic_subject_all_or_nothing() {
        let mut v = ehic_example();
        v["subject"] = json!({"forenames": "Ana"});
        let err = Ehic::from_claims(&v, ClaimsMode::Business).unwrap_err();
        let paths: Vec<_> = err.0.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"$.subject.familynames") && paths.contains(&"$.subject.date_of_birth"));
    }

    #[test]
    fn non_objects_and_garbage_do_not_panic() {
        for v in [json!(null), json!([]), json!("x"), json!({"employer": 5, "work_information": [], "issuing_authority": "x"})] {
            assert!(Pda1::from_claims(&v, ClaimsMode::Business).is_err());
            assert!(Ehic::from_claims(&v, ClaimsMode::Business).is_err());
        }
    }

    /// The PID Rulebook's SD-JWT VC claims (ARF Annex 3.01 §4.1): the example validates and
    /// round-trips; every problem of a broken one is listed with its path.
    #[test]
    fn pid_claims_follow_the_rulebook() {
        let v: Value = serde_json::from_str(include_str!("../../../examples/pid-claims.json")).unwrap();
        let p = Pid::from_claims(&v, ClaimsMode::Business).unwrap();
        assert_eq!(p.place_of_birth.locality.as_deref(), Some("Ljubljana"));
        assert_eq!(Value::Object(p.to_claims()), v);
        let mut bad = v.clone();
        bad["place_of_birth"] = json!({});
        bad["nationalities"] = json!(["Slovenian"]);
        bad["sex"] = json!(7);
        bad["family_name"] = json!("");
        bad["given_name"] = json!("");
        bad["date_of_expiry"] = json!("2020-01-01");
        bad["issuing_authority"] = json!({"id": "SI:PID01"});
        let err = Pid::from_claims(&bad, ClaimsMode::Business).unwrap_err();
        let paths: Vec<_> = err.0.iter().map(|p| p.path.as_str()).collect();
        for want in ["$.place_of_birth", "$.nationalities[0]", "$.sex", "$.family_name", "$.date_of_expiry", "$.issuing_authority"] {
            assert!(paths.contains(&want), "{want} in {paths:?}");
        }
        // A credential's payload may withhold claims (checked by the verifier against the type
        // metadata); JWT claims are not business claims.
        let mut jwt = v.clone();
        jwt["iss"] = json!("https://pid.example");
        assert_eq!(Pid::from_claims(&jwt, ClaimsMode::Business).unwrap_err().0[0].code, ErrorCode::JwtClaimInBusinessClaims);
        assert!(Pid::from_claims(&jwt, ClaimsMode::Credential).is_ok());
        assert!(Pid::from_claims(&json!([]), ClaimsMode::Business).is_err());
        assert_eq!(CredentialType::from_vct("urn:eudi:pid:1"), Some(CredentialType::Pid));
        assert!(!CredentialType::DOCUMENTS.contains(&CredentialType::Pid));
    }
}
