//! Blocks that several SEDs share: the person, identification numbers, addresses, employers and
//! self-employed activities, work places, periods, decisions, references to other documents, and the
//! code lists they use.
//!
//! Sources: the A001 form (person block), NAV's SED model (`navikt/melosys-eessi` `nav.bruker`,
//! `arbeidsgiver`, `arbeidssted`, `vedtak`), the PD A1 form (employer id types 01/02/03/98). Element
//! names are ours, in English: the CDM's XSDs are not public.

use crate::codes::{EessiCode, Problem};
use crate::ids::{DocumentId, SedType, code_enum};
use crate::validate::{self as v, Validate, at};
use crate::xml::map::record;
use esspass_core::{Country, Date, InstitutionId};

code_enum!(
    /// Sex as the person block records it (our codes; a guess at the CDM's list).
    Sex {
    Female = "female", "female";
    Male = "male", "male";
    Unknown = "unknown", "unknown";
});

code_enum!(
    /// The branch of social security a personal identification number belongs to (NAV's `sektor`;
    /// our codes).
    Sector {
    All = "all", "all sectors";
    Sickness = "sickness", "sickness";
    Pensions = "pensions", "pensions";
    Unemployment = "unemployment", "unemployment";
    FamilyBenefits = "family_benefits", "family benefits";
    AccidentsAtWork = "accidents_at_work", "accidents at work and occupational diseases";
    LegislationApplicable = "legislation_applicable", "legislation applicable";
});

code_enum!(
    /// What an address is (NAV's `bosted` / `opphold` / `kontakt`).
    AddressType {
    Residence = "residence", "address in the state of residence";
    Stay = "stay", "address in the state of stay";
    Contact = "contact", "contact address";
});

code_enum!(
    /// The kind of an employer's identification number (PD A1 section 4).
    IdentifierType {
    Registration = "01", "registration number";
    SocialSecurity = "02", "social security number";
    Fiscal = "03", "fiscal number";
    Unknown = "98", "unknown";
});

code_enum!(
    /// Provisions of Regulation 883/2004 (and 987/2009 Art 14(11)) on which a legislation decision
    /// rests, written as NAV writes `artikkelforordning` (`12_1` is Art 12(1)).
    Article {
    Art11_3A = "11_3_a", "Art 11(3)(a) Reg. 883/2004: activity as employed or self-employed person";
    Art11_3B = "11_3_b", "Art 11(3)(b): civil servant";
    Art11_3C = "11_3_c", "Art 11(3)(c): unemployment benefits";
    Art11_3D = "11_3_d", "Art 11(3)(d): armed forces";
    Art11_3E = "11_3_e", "Art 11(3)(e): other persons, residence";
    Art11_4_1 = "11_4_1", "Art 11(4) first subparagraph: work on board a vessel";
    Art11_4_2 = "11_4_2", "Art 11(4) second subparagraph: vessel, paid by an undertaking of the residence state";
    Art11_5 = "11_5", "Art 11(5): flight or cabin crew, home base";
    Art12_1 = "12_1", "Art 12(1): posted employed person";
    Art12_2 = "12_2", "Art 12(2): posted self-employed person";
    Art13_1A = "13_1_a", "Art 13(1)(a): employed in two or more states, substantial part in residence state";
    Art13_1BI = "13_1_b_i", "Art 13(1)(b)(i): one employer, seat";
    Art13_1BIi = "13_1_b_ii", "Art 13(1)(b)(ii): several employers in one state";
    Art13_1BIii = "13_1_b_iii", "Art 13(1)(b)(iii): several employers in two states, one the residence state";
    Art13_1BIv = "13_1_b_iv", "Art 13(1)(b)(iv): several employers in two or more states, not the residence state";
    Art13_2A = "13_2_a", "Art 13(2)(a): self-employed in two or more states, substantial part in residence state";
    Art13_2B = "13_2_b", "Art 13(2)(b): self-employed, centre of interest";
    Art13_3 = "13_3", "Art 13(3): employed and self-employed in different states";
    Art13_4 = "13_4", "Art 13(4): civil servant and other activity";
    Art15 = "15", "Art 15: contract staff of the European Union";
    Art16_1 = "16_1", "Art 16(1): exception agreed between states";
    Art16_2 = "16_2", "Art 16(2): pensioner exempted on request";
    Art87_8 = "87_8", "Art 87(8): transitional, Reg. 1408/71 stays applicable";
    Art87a = "87a", "Art 87a: transitional (Reg. 465/2012)";
    Art987_14_11 = "987_14_11", "Art 14(11) Reg. 987/2009: employer outside the Union";
});

impl Article {
    /// The BUC that carries a decision under this provision (NAV's `BucType.kt`).
    pub fn buc(self) -> crate::ids::BucType {
        use crate::ids::BucType;
        match self {
            Article::Art11_3A
            | Article::Art11_3B
            | Article::Art11_3C
            | Article::Art11_3D
            | Article::Art11_3E
            | Article::Art11_4_1
            | Article::Art11_4_2
            | Article::Art11_5
            | Article::Art15 => BucType::LaBuc05,
            Article::Art12_1 | Article::Art12_2 => BucType::LaBuc04,
            Article::Art16_1 | Article::Art16_2 => BucType::LaBuc01,
            _ => BucType::LaBuc02,
        }
    }
}

record! {
    /// An institution named in a SED.
    pub struct InstitutionRef {
        id: InstitutionId => "id" req,
        name: Option<String> => "name" opt,
    }
}

impl Validate for InstitutionRef {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::opt_text(out, at(path, "name"), self.name.as_ref(), v::SHORT);
    }
}

record! {
    /// A personal identification number given by a state's institution.
    pub struct Pin {
        country: Country => "country" req,
        identifier: String => "identifier" req,
        sector: Option<Sector> => "sector" opt,
        institution: Option<InstitutionRef> => "institution" opt,
    }
}

impl Validate for Pin {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::text(out, at(path, "identifier"), &self.identifier, v::IDENTIFIER);
        if let Some(i) = &self.institution {
            i.validate(&at(path, "institution"), out);
            if i.id.country() != self.country {
                v::conditional(
                    out,
                    at(path, "institution/id"),
                    format!(
                        "the institution is in {}, the number is given by {}",
                        i.id.country(),
                        self.country
                    ),
                );
            }
        }
    }
}

record! {
    /// Where a person was born (needed by the A001 form when no PIN is known).
    pub struct PlaceOfBirth {
        town: Option<String> => "town" opt,
        region: Option<String> => "region" opt,
        country: Option<Country> => "country" opt,
    }
}

impl Validate for PlaceOfBirth {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::opt_text(out, at(path, "town"), self.town.as_ref(), v::SHORT);
        v::opt_text(out, at(path, "region"), self.region.as_ref(), v::SHORT);
        if self.town.is_none() && self.region.is_none() && self.country.is_none() {
            out.push(Problem::new(
                path,
                EessiCode::Required,
                "a place of birth names at least a town, a region or a country",
            ));
        }
    }
}

record! {
    /// A postal address; the country is always known.
    pub struct Address {
        address_type: Option<AddressType> => "type" opt,
        street: Option<String> => "street" opt,
        building: Option<String> => "building" opt,
        town: Option<String> => "town" opt,
        postal_code: Option<String> => "postalCode" opt,
        region: Option<String> => "region" opt,
        country: Country => "country" req,
    }
}

impl Validate for Address {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        for (name, value) in [
            ("street", &self.street),
            ("building", &self.building),
            ("town", &self.town),
            ("region", &self.region),
        ] {
            v::opt_text(out, at(path, name), value.as_ref(), v::SHORT);
        }
        v::opt_text(out, at(path, "postalCode"), self.postal_code.as_ref(), 25);
    }
}

record! {
    /// The person a SED concerns (the A-SED person block).
    pub struct Person {
        family_name: String => "familyName" req,
        forename: String => "forename" req,
        family_name_at_birth: Option<String> => "familyNameAtBirth" opt,
        forename_at_birth: Option<String> => "forenameAtBirth" opt,
        birth_date: Date => "birthDate" req,
        sex: Option<Sex> => "sex" opt,
        nationality: Vec<Country> => "nationality" list,
        pin: Vec<Pin> => "pin" list,
        place_of_birth: Option<PlaceOfBirth> => "placeOfBirth" opt,
        address: Vec<Address> => "address" list,
    }
}

impl Validate for Person {
    /// Names are required; the birth date is plausible; without any PIN the place of birth is
    /// required (the A001 form asks for it "if no PIN"); no nationality or PIN twice.
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::text(out, at(path, "familyName"), &self.family_name, v::NAME);
        v::text(out, at(path, "forename"), &self.forename, v::NAME);
        v::opt_text(
            out,
            at(path, "familyNameAtBirth"),
            self.family_name_at_birth.as_ref(),
            v::NAME,
        );
        v::opt_text(
            out,
            at(path, "forenameAtBirth"),
            self.forename_at_birth.as_ref(),
            v::NAME,
        );
        v::date(out, at(path, "birthDate"), self.birth_date);
        v::no_duplicates(out, path, "nationality", &self.nationality);
        v::no_duplicates(out, path, "pin", &self.pin);
        v::each(out, path, "pin", &self.pin);
        if let Some(p) = &self.place_of_birth {
            p.validate(&at(path, "placeOfBirth"), out);
        }
        if self.pin.is_empty() && self.place_of_birth.is_none() {
            v::conditional(
                out,
                at(path, "placeOfBirth"),
                "without a personal identification number the place of birth is required",
            );
        }
        v::each(out, path, "address", &self.address);
    }
}

record! {
    /// One identification number of an employer.
    pub struct EmployerIdentifier {
        id_type: IdentifierType => "type" req,
        id: String => "id" req,
    }
}

impl Validate for EmployerIdentifier {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::text(out, at(path, "id"), &self.id, v::IDENTIFIER);
    }
}

record! {
    /// An employer, or the person's own self-employed activity.
    pub struct Employer {
        name: String => "name" req,
        identifier: Vec<EmployerIdentifier> => "identifier" list,
        address: Option<Address> => "address" opt,
    }
}

impl Validate for Employer {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::text(out, at(path, "name"), &self.name, v::SHORT);
        v::each(out, path, "identifier", &self.identifier);
        v::no_duplicates(out, path, "identifier", &self.identifier);
        if let Some(a) = &self.address {
            a.validate(&at(path, "address"), out);
        }
    }
}

record! {
    /// A place of work in a state: a fixed address, or "no fixed address" in that state (a
    /// company or vessel name and a home base may be given).
    pub struct WorkPlace {
        country: Country => "country" req,
        name: Option<String> => "name" opt,
        no_fixed_address: bool => "noFixedAddress" req,
        address: Option<Address> => "address" opt,
        home_base: Option<String> => "homeBase" opt,
    }
}

impl Validate for WorkPlace {
    /// A fixed work place has an address, in the work place's country.
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::opt_text(out, at(path, "name"), self.name.as_ref(), v::SHORT);
        v::opt_text(out, at(path, "homeBase"), self.home_base.as_ref(), v::SHORT);
        match &self.address {
            Some(a) => {
                a.validate(&at(path, "address"), out);
                if a.country != self.country {
                    v::conditional(
                        out,
                        at(path, "address/country"),
                        format!(
                            "the address is in {}, the work place in {}",
                            a.country, self.country
                        ),
                    );
                }
            }
            None if !self.no_fixed_address => v::conditional(
                out,
                at(path, "address"),
                "a fixed work place needs its address",
            ),
            None => {}
        }
    }
}

record! {
    /// Calendar days from `startDate` to `endDate`, both inclusive; no end date is an open end.
    pub struct Period {
        start_date: Date => "startDate" req,
        end_date: Option<Date> => "endDate" opt,
    }
}

impl Period {
    /// The period as `esspass_core` knows it; `None` when it ends before it starts.
    pub fn to_core(&self) -> Option<esspass_core::Period> {
        esspass_core::Period::new(self.start_date, self.end_date)
    }
}

impl Validate for Period {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::date(out, at(path, "startDate"), self.start_date);
        v::opt_date(out, at(path, "endDate"), self.end_date);
        if let Some(end) = self.end_date
            && end < self.start_date
        {
            out.push(Problem::new(
                at(path, "endDate"),
                EessiCode::PeriodReversed,
                format!("{end} is before the start {}", self.start_date),
            ));
        }
    }
}

record! {
    /// A decision on the applicable legislation: which state's, for which period.
    pub struct Decision {
        legislation_country: Country => "legislationCountry" req,
        period: Period => "period" req,
        for_duration_of_activity: bool => "forDurationOfActivity" req,
        is_change: bool => "isChange" req,
        previous_decision_date: Option<Date> => "previousDecisionDate" opt,
    }
}

impl Validate for Decision {
    /// The legislation state participates; a changed decision (and only a changed one) names the
    /// date of the decision it changes.
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::participating(
            out,
            at(path, "legislationCountry"),
            self.legislation_country,
        );
        self.period.validate(&at(path, "period"), out);
        v::opt_date(
            out,
            at(path, "previousDecisionDate"),
            self.previous_decision_date,
        );
        if self.is_change && self.previous_decision_date.is_none() {
            v::conditional(
                out,
                at(path, "previousDecisionDate"),
                "a changed decision names the date of the decision it changes",
            );
        }
        if !self.is_change && self.previous_decision_date.is_some() {
            v::conditional(
                out,
                at(path, "previousDecisionDate"),
                "only a changed decision names a previous decision",
            );
        }
    }
}

record! {
    /// A reference to another document of the same case.
    pub struct DocumentRef {
        sed_type: SedType => "type" req,
        id: DocumentId => "id" req,
    }
}

impl Validate for DocumentRef {
    fn validate(&self, _path: &str, _out: &mut Vec<Problem>) {}
}

impl DocumentRef {
    pub fn new(sed_type: SedType, id: DocumentId) -> Self {
        Self { sed_type, id }
    }
}

/// The reference must point at one of `allowed`.
pub(crate) fn reference_to(
    out: &mut Vec<Problem>,
    path: String,
    r: &DocumentRef,
    allowed: &[SedType],
) {
    if !allowed.contains(&r.sed_type) {
        let names: Vec<&str> = allowed.iter().map(|t| t.as_str()).collect();
        out.push(Problem::new(
            at(&path, "type"),
            EessiCode::ReferenceWrongType,
            format!(
                "refers to a {}; expected {}",
                r.sed_type,
                names.join(" or ")
            ),
        ));
    }
}
