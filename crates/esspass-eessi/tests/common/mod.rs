//! Example SEDs for the tests: Georgios Papadopoulos, posted by a Greek company to Italy, and the
//! other SEDs of the cases around him. `full` fills every optional field; `minimal` only the
//! required ones.
#![allow(dead_code)]

use esspass_core::{Country, Date, InstitutionId};
use esspass_eessi::blocks::*;
use esspass_eessi::sed::*;
use esspass_eessi::{DocumentId, SedType};

pub fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}
pub fn c(s: &str) -> Country {
    Country::parse(s).unwrap()
}
pub fn inst(s: &str) -> InstitutionId {
    InstitutionId::parse(s).unwrap()
}
pub fn doc(s: &str) -> DocumentId {
    DocumentId::parse(s).unwrap()
}
pub fn dref(t: SedType, id: &str) -> DocumentRef {
    DocumentRef::new(t, doc(id))
}

fn s(x: &str) -> String {
    x.to_owned()
}

pub fn address(country: &str) -> Address {
    Address {
        address_type: Some(AddressType::Residence),
        street: Some(s("Odos Ermou 12 & Sons <rear>")),
        building: Some(s("B")),
        town: Some(s("Athina")),
        postal_code: Some(s("105 63")),
        region: Some(s("Attiki")),
        country: c(country),
    }
}

pub fn person_full() -> Person {
    Person {
        family_name: s("Papadopoulos"),
        forename: s("Georgios"),
        family_name_at_birth: Some(s("Papadopoulos")),
        forename_at_birth: Some(s("Georgios")),
        birth_date: d("1985-04-12"),
        sex: Some(Sex::Male),
        nationality: vec![c("GR"), c("CY")],
        pin: vec![
            Pin {
                country: c("GR"),
                identifier: s("12048512345"),
                sector: Some(Sector::All),
                institution: Some(InstitutionRef {
                    id: inst("EL:EFKA01"),
                    name: Some(s("e-EFKA")),
                }),
            },
            Pin {
                country: c("IT"),
                identifier: s("PPDGRG85D12Z115X"),
                sector: None,
                institution: None,
            },
        ],
        place_of_birth: Some(PlaceOfBirth {
            town: Some(s("Thessaloniki")),
            region: None,
            country: Some(c("GR")),
        }),
        address: vec![
            address("GR"),
            Address {
                address_type: Some(AddressType::Stay),
                street: None,
                building: None,
                town: Some(s("Milano")),
                postal_code: None,
                region: None,
                country: c("IT"),
            },
        ],
    }
}

pub fn person_minimal() -> Person {
    Person {
        family_name: s("Rossi"),
        forename: s("Anna"),
        family_name_at_birth: None,
        forename_at_birth: None,
        birth_date: d("1970-01-01"),
        sex: None,
        nationality: vec![],
        pin: vec![Pin {
            country: c("IT"),
            identifier: s("RSSNNA70A41F205X"),
            sector: None,
            institution: None,
        }],
        place_of_birth: None,
        address: vec![],
    }
}

pub fn employer(country: &str) -> Employer {
    Employer {
        name: s("Hellenic Builders S.A."),
        identifier: vec![
            EmployerIdentifier {
                id_type: IdentifierType::Fiscal,
                id: s("EL094019245"),
            },
            EmployerIdentifier {
                id_type: IdentifierType::Registration,
                id: s("123456789000"),
            },
        ],
        address: Some(Address {
            address_type: None,
            ..address(country)
        }),
    }
}

pub fn work_place(country: &str) -> WorkPlace {
    WorkPlace {
        country: c(country),
        name: Some(s("Cantiere Porta Nuova")),
        no_fixed_address: false,
        address: Some(Address {
            address_type: None,
            street: Some(s("Via Gioia 1")),
            building: None,
            town: Some(s("Milano")),
            postal_code: Some(s("20124")),
            region: Some(s("Lombardia")),
            country: c(country),
        }),
        home_base: Some(s("Milano")),
    }
}

pub fn period(start: &str, end: Option<&str>) -> Period {
    Period {
        start_date: d(start),
        end_date: end.map(d),
    }
}

pub fn decision(country: &str, start: &str, end: Option<&str>) -> Decision {
    Decision {
        legislation_country: c(country),
        period: period(start, end),
        for_duration_of_activity: end.is_none(),
        is_change: false,
        previous_decision_date: None,
    }
}

pub fn a009() -> A009 {
    A009 {
        person: person_full(),
        employer: vec![employer("GR")],
        self_employment: vec![],
        work_place: vec![work_place("IT")],
        article: Article::Art12_1,
        decision: Decision {
            is_change: true,
            previous_decision_date: Some(d("2025-12-01")),
            ..decision("GR", "2026-03-02", Some("2027-03-01"))
        },
        additional_information: Some(s(
            "Posting for the Porta Nuova building site.\nSecond line.",
        )),
    }
}

/// Every SED type, with every optional field filled.
pub fn full() -> Vec<Sed> {
    vec![
        Sed::A001(A001 {
            person: person_full(),
            employer: vec![employer("GR")],
            self_employment: vec![employer("GR")],
            work_place: vec![work_place("IT")],
            host_employer: vec![employer("IT")],
            current_legislation: vec![c("GR")],
            requested_legislation: c("GR"),
            article: Article::Art16_1,
            requested_period: period("2026-03-02", Some("2029-03-01")),
            previous_period: vec![period("2024-01-01", Some("2025-12-31"))],
            insured_since: Some(d("2010-09-01")),
            contract_start: Some(d("2010-09-01")),
            is_change: true,
            previous_request_date: Some(d("2025-11-15")),
            special_circumstances: Some(s("Specialist for a three-year project.")),
            reasons: s("The project lasts three years; the worker keeps his Greek insurance."),
            additional_information: Some(s("Contact: posting@hellenic-builders.example")),
        }),
        Sed::A002(A002 {
            person: person_full(),
            answers: dref(SedType::A001, "doc-a001"),
            decision: RefusalKind::OtherPeriod,
            other_period: Some(period("2026-03-02", Some("2028-03-01"))),
            reasons: s("Two years only."),
            additional_information: Some(s("x")),
        }),
        Sed::A003(A003 {
            person: person_full(),
            employer: vec![employer("GR")],
            self_employment: vec![employer("CY")],
            work_place: vec![
                work_place("IT"),
                WorkPlace {
                    country: c("AT"),
                    name: None,
                    no_fixed_address: true,
                    address: None,
                    home_base: None,
                },
            ],
            other_state_employer: vec![employer("AT")],
            article: Article::Art13_1BI,
            decision: decision("GR", "2026-01-01", None),
            provisional: true,
            marginal_activity: Some(false),
            additional_information: Some(s("y")),
        }),
        Sed::A004(A004 {
            person: person_full(),
            answers: dref(SedType::A003, "doc-a003"),
            needs_more_information: true,
            proposed_legislation: Some(c("IT")),
            reasons: s("Most of the work is in Italy."),
            additional_information: Some(s("z")),
        }),
        Sed::A005(A005 {
            person: person_full(),
            question: vec![s("Where does he live?"), s("Since when?")],
            reply_by: Some(d("2026-05-01")),
            additional_information: Some(s("urgent")),
        }),
        Sed::A006(A006 {
            person: person_full(),
            answers: dref(SedType::A005, "doc-a005"),
            answer: vec![s("Athens"), s("Since 2010")],
            additional_information: Some(s("-")),
        }),
        Sed::A007(A007 {
            person: person_full(),
            article: Article::Art13_1A,
            legislation_country: c("GR"),
            period: period("2026-01-01", Some("2026-12-31")),
            reasons: s("Until the institutions agree."),
            additional_information: Some(s("a")),
        }),
        Sed::A008(A008 {
            person: person_full(),
            purpose: A008Purpose::Change,
            change: Some(Change {
                effective_from: d("2026-06-01"),
                description: s("New work place"),
                new_address: Some(address("GR")),
                new_work_place: Some(work_place("IT")),
                new_period: Some(period("2026-06-01", Some("2026-12-31"))),
            }),
            several_states: None,
            additional_information: Some(s("b")),
        }),
        Sed::A009(a009()),
        Sed::A010(A010 {
            person: person_full(),
            employer: vec![employer("GR")],
            self_employment: vec![],
            work_place: vec![work_place("IT")],
            article: Article::Art11_3A,
            decision: decision("IT", "2026-01-01", Some("2026-12-31")),
            additional_information: Some(s("c")),
        }),
        Sed::A011(A011 {
            person: person_full(),
            answers: dref(SedType::A001, "doc-a001"),
            article: Article::Art16_1,
            legislation_country: c("GR"),
            granted_period: period("2026-03-02", Some("2029-03-01")),
            additional_information: Some(s("d")),
        }),
        Sed::A012(A012 {
            person: person_full(),
            answers: dref(SedType::A003, "doc-a003"),
            additional_information: Some(s("agreed")),
        }),
        Sed::H001(H001 {
            person: Some(person_full()),
            subject: s("Address check"),
            question: vec![s("Is this the current address?")],
            information: Some(s("We received mail back.")),
            reply_by: Some(d("2026-04-01")),
        }),
        Sed::H002(H002 {
            person: Some(person_full()),
            answers: dref(SedType::H001, "doc-h001"),
            answer: vec![s("Yes.")],
        }),
        Sed::X001(X001 {
            reason: ClosureReason::Other,
            explanation: Some(s("Merged into another case.")),
        }),
        Sed::X008(X008 {
            invalidates: dref(SedType::A009, "doc-a009"),
            reason: InvalidationReason::Other,
            explanation: Some(s("Sent twice.")),
        }),
        Sed::X009(X009 {
            reminds_of: vec![
                dref(SedType::A005, "doc-a005"),
                dref(SedType::A001, "doc-a001"),
            ],
            reply_by: Some(d("2026-06-01")),
            explanation: Some(s("Please answer.")),
        }),
        Sed::X010(X010 {
            answers: dref(SedType::X009, "doc-x009"),
            status: ReminderReply::WillReplyBy,
            reply_by: Some(d("2026-06-15")),
            explanation: Some(s("Waiting for the employer.")),
        }),
        Sed::X011(X011 {
            rejects: dref(SedType::A009, "doc-a009"),
            reason: RejectionReason::Other,
            explanation: Some(s("Person unknown here.")),
        }),
        Sed::X050(X050 {
            concerns: Some(dref(SedType::A009, "doc-a009")),
            exception: BusinessException::NotCompetent,
            description: s("Send it to the regional office."),
        }),
    ]
}

/// Every SED type, with only the required fields.
pub fn minimal() -> Vec<Sed> {
    let p = person_minimal;
    vec![
        Sed::A001(A001 {
            person: p(),
            employer: vec![],
            self_employment: vec![],
            work_place: vec![],
            host_employer: vec![],
            current_legislation: vec![],
            requested_legislation: c("IT"),
            article: Article::Art16_2,
            requested_period: period("2026-01-01", Some("2026-12-31")),
            previous_period: vec![],
            insured_since: None,
            contract_start: None,
            is_change: false,
            previous_request_date: None,
            special_circumstances: None,
            reasons: s("Pensioner."),
            additional_information: None,
        }),
        Sed::A002(A002 {
            person: p(),
            answers: dref(SedType::A001, "1"),
            decision: RefusalKind::Refused,
            other_period: None,
            reasons: s("No."),
            additional_information: None,
        }),
        Sed::A003(A003 {
            person: p(),
            employer: vec![],
            self_employment: vec![Employer {
                name: s("Anna Rossi Design"),
                identifier: vec![],
                address: None,
            }],
            work_place: vec![],
            other_state_employer: vec![],
            article: Article::Art13_2A,
            decision: decision("IT", "2026-01-01", Some("2026-12-31")),
            provisional: false,
            marginal_activity: None,
            additional_information: None,
        }),
        Sed::A004(A004 {
            person: p(),
            answers: dref(SedType::A003, "1"),
            needs_more_information: false,
            proposed_legislation: None,
            reasons: s("No."),
            additional_information: None,
        }),
        Sed::A005(A005 {
            person: p(),
            question: vec![s("?")],
            reply_by: None,
            additional_information: None,
        }),
        Sed::A006(A006 {
            person: p(),
            answers: dref(SedType::A005, "1"),
            answer: vec![s("!")],
            additional_information: None,
        }),
        Sed::A007(A007 {
            person: p(),
            article: Article::Art13_1A,
            legislation_country: c("IT"),
            period: period("2026-01-01", None),
            reasons: s("r"),
            additional_information: None,
        }),
        Sed::A008(A008 {
            person: p(),
            purpose: A008Purpose::WorkInSeveralStates,
            change: None,
            several_states: Some(SeveralStates {
                residence_country: c("IT"),
                activity_start: d("2026-01-01"),
                work_country: vec![c("FR")],
            }),
            additional_information: None,
        }),
        Sed::A009(A009 {
            person: p(),
            employer: vec![],
            self_employment: vec![Employer {
                name: s("Anna Rossi Design"),
                identifier: vec![],
                address: None,
            }],
            work_place: vec![WorkPlace {
                country: c("FR"),
                name: None,
                no_fixed_address: true,
                address: None,
                home_base: None,
            }],
            article: Article::Art12_2,
            decision: decision("IT", "2026-01-01", None),
            additional_information: None,
        }),
        Sed::A010(A010 {
            person: p(),
            employer: vec![],
            self_employment: vec![],
            work_place: vec![],
            article: Article::Art11_3E,
            decision: decision("IT", "2026-01-01", None),
            additional_information: None,
        }),
        Sed::A011(A011 {
            person: p(),
            answers: dref(SedType::A001, "1"),
            article: Article::Art16_2,
            legislation_country: c("IT"),
            granted_period: period("2026-01-01", Some("2026-06-30")),
            additional_information: None,
        }),
        Sed::A012(A012 {
            person: p(),
            answers: dref(SedType::A003, "1"),
            additional_information: None,
        }),
        Sed::H001(H001 {
            person: None,
            subject: s("s"),
            question: vec![],
            information: Some(s("i")),
            reply_by: None,
        }),
        Sed::H002(H002 {
            person: None,
            answers: dref(SedType::H001, "1"),
            answer: vec![s("a")],
        }),
        Sed::X001(X001 {
            reason: ClosureReason::CaseHandled,
            explanation: None,
        }),
        Sed::X008(X008 {
            invalidates: dref(SedType::A009, "1"),
            reason: InvalidationReason::SentInError,
            explanation: None,
        }),
        Sed::X009(X009 {
            reminds_of: vec![dref(SedType::A005, "1")],
            reply_by: None,
            explanation: None,
        }),
        Sed::X010(X010 {
            answers: dref(SedType::X009, "1"),
            status: ReminderReply::AlreadyReplied,
            reply_by: None,
            explanation: None,
        }),
        Sed::X011(X011 {
            rejects: dref(SedType::A009, "1"),
            reason: RejectionReason::NotCompetent,
            explanation: None,
        }),
        Sed::X050(X050 {
            concerns: None,
            exception: BusinessException::Other,
            description: s("d"),
        }),
    ]
}
