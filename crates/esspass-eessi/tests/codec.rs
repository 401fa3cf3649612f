//! The SED XML codec: every SED type round-trips; decoding and validation list every problem with
//! its path; unsafe, oversized, deep, foreign or malformed documents are refused with their code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use esspass_eessi::codec::{DecodeOptions, NS_BASE, encode_unchecked, namespace};
use esspass_eessi::sed::Sed;
use esspass_eessi::{
    CdmVersion, DecodeError, EessiCode, Limits, SedType, decode, encode, validate_sed,
};

fn refused(doc: &str) -> EessiCode {
    match decode(doc.as_bytes(), &DecodeOptions::default()) {
        Err(DecodeError::Refused(p)) => p.code,
        other => panic!("not refused: {other:?}\n{doc}"),
    }
}

fn invalid(doc: &str) -> esspass_eessi::Problems {
    match decode(doc.as_bytes(), &DecodeOptions::default()) {
        Err(DecodeError::Invalid(ps)) => ps,
        other => panic!("not invalid: {other:?}\n{doc}"),
    }
}

#[test]
fn every_sed_type_is_covered_by_the_samples() {
    let types: Vec<SedType> = full().iter().map(Sed::sed_type).collect();
    assert_eq!(types, SedType::ALL);
    let types: Vec<SedType> = minimal().iter().map(Sed::sed_type).collect();
    assert_eq!(types, SedType::ALL);
}

#[test]
fn every_sed_round_trips_in_every_version() {
    for v in CdmVersion::SUPPORTED {
        for sed in full().into_iter().chain(minimal()) {
            let xml = encode(&sed, *v).unwrap_or_else(|e| panic!("{}: {e}", sed.sed_type()));
            let back = decode(xml.as_bytes(), &DecodeOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}\n{xml}", sed.sed_type()));
            assert_eq!(back.sed, sed);
            assert_eq!(back.version, *v);
            assert_eq!(
                encode(&back.sed, *v).unwrap(),
                xml,
                "re-encoding gives the same bytes"
            );
        }
    }
}

#[test]
fn the_root_carries_namespace_and_versions_and_children_are_unqualified() {
    let xml = encode(&Sed::A009(a009()), CdmVersion::V4_2).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sed:A009 xmlns:sed=\"http://ec.europa.eu/eessi/ns/4_2/A009\" sedGVer=\"4\" sedVer=\"2\">\n  <person>\n    <familyName>Papadopoulos</familyName>"), "{xml}");
    assert!(xml.contains("<street>Odos Ermou 12 &amp; Sons &lt;rear&gt;</street>"));
    assert!(xml.contains("<article>12_1</article>"));
    assert!(xml.trim_end().ends_with("</sed:A009>"));
    assert_eq!(
        namespace(SedType::X050, CdmVersion::V4_4),
        format!("{NS_BASE}4_4/X050")
    );
}

#[test]
fn any_prefix_reads_the_same() {
    let xml = encode(&Sed::A009(a009()), CdmVersion::V4_3)
        .unwrap()
        .replace("sed:", "eessi:")
        .replace("xmlns:sed", "xmlns:eessi");
    assert_eq!(
        decode(xml.as_bytes(), &DecodeOptions::default())
            .unwrap()
            .sed,
        Sed::A009(a009())
    );
}

#[test]
fn validation_lists_every_problem_with_its_path() {
    let mut x = a009();
    x.person.family_name = " ".into();
    x.person.nationality.push(x.person.nationality[0]);
    x.decision.period = period("2027-01-01", Some("2026-01-01"));
    x.decision.legislation_country = c("US");
    x.article = esspass_eessi::blocks::Article::Art13_3;
    x.employer[0].name = "x".repeat(300);
    x.work_place[0].address.as_mut().unwrap().country = c("FR");
    x.additional_information = Some("bell \u{7}".into());
    let ps = validate_sed(&Sed::A009(x)).unwrap_err();
    let expect = [
        ("/A009/person/familyName", EessiCode::Required),
        ("/A009/person/nationality[2]", EessiCode::DuplicateEntry),
        ("/A009/decision/period/endDate", EessiCode::PeriodReversed),
        (
            "/A009/decision/legislationCountry",
            EessiCode::NotParticipating,
        ),
        ("/A009/article", EessiCode::ArticleNotForSed),
        ("/A009/employer[0]/name", EessiCode::TextTooLong),
        (
            "/A009/workPlace[0]/address/country",
            EessiCode::ConditionalField,
        ),
        ("/A009/additionalInformation", EessiCode::ForbiddenCharacter),
    ];
    for (path, code) in expect {
        assert!(ps.has_at(path, code), "expected {code} at {path}; got {ps}");
    }
    assert_eq!(ps.0.len(), expect.len(), "{ps}");
    // The same problems come back when the invalid SED is decoded.
    let mut y = a009();
    y.person.family_name = String::new();
    y.decision.period = period("2027-01-01", Some("2026-01-01"));
    let xml = encode_unchecked(&Sed::A009(y.clone()), CdmVersion::V4_2);
    assert_eq!(invalid(&xml), validate_sed(&Sed::A009(y)).unwrap_err());
    assert!(encode(&Sed::A009(a009()), CdmVersion::V4_2).is_ok());
}

#[test]
fn per_sed_rules() {
    let check = |sed: Sed, path: &str, code: EessiCode| {
        let ps = validate_sed(&sed).unwrap_err();
        assert!(
            ps.has_at(path, code),
            "{}: expected {code} at {path}; got {ps}",
            sed.sed_type()
        );
    };
    let all = full();
    let min = minimal();
    let Sed::A001(mut a001) = all[0].clone() else {
        panic!()
    };
    a001.requested_period.end_date = None;
    a001.is_change = true;
    a001.previous_request_date = None;
    check(
        Sed::A001(a001.clone()),
        "/A001/requestedPeriod/endDate",
        EessiCode::PeriodIncomplete,
    );
    check(
        Sed::A001(a001),
        "/A001/previousRequestDate",
        EessiCode::ConditionalField,
    );
    let Sed::A002(mut a002) = min[1].clone() else {
        panic!()
    };
    a002.decision = esspass_eessi::sed::RefusalKind::OtherPeriod;
    check(
        Sed::A002(a002.clone()),
        "/A002/otherPeriod",
        EessiCode::ConditionalField,
    );
    a002.answers.sed_type = SedType::A003;
    check(
        Sed::A002(a002),
        "/A002/answers/type",
        EessiCode::ReferenceWrongType,
    );
    let Sed::A003(mut a003) = min[2].clone() else {
        panic!()
    };
    a003.decision.period.end_date = None;
    a003.decision.for_duration_of_activity = false;
    a003.self_employment.clear();
    check(
        Sed::A003(a003.clone()),
        "/A003/decision/period/endDate",
        EessiCode::PeriodIncomplete,
    );
    check(
        Sed::A003(a003),
        "/A003/employer",
        EessiCode::ConditionalField,
    );
    let Sed::A005(mut a005) = min[4].clone() else {
        panic!()
    };
    a005.question.clear();
    check(Sed::A005(a005), "/A005/question", EessiCode::Required);
    let Sed::A008(mut a008) = min[7].clone() else {
        panic!()
    };
    a008.purpose = esspass_eessi::sed::A008Purpose::Change;
    check(Sed::A008(a008), "/A008/change", EessiCode::ConditionalField);
    let mut a009x = a009();
    a009x.work_place[0].country = c("GR");
    a009x.work_place[0].address.as_mut().unwrap().country = c("GR");
    a009x.employer.clear();
    a009x.person.birth_date = d("2026-04-01");
    check(
        Sed::A009(a009x.clone()),
        "/A009/workPlace[0]/country",
        EessiCode::ConditionalField,
    );
    check(
        Sed::A009(a009x.clone()),
        "/A009/employer",
        EessiCode::ConditionalField,
    );
    check(
        Sed::A009(a009x),
        "/A009/person/birthDate",
        EessiCode::DateImplausible,
    );
    let Sed::A010(mut a010) = min[9].clone() else {
        panic!()
    };
    a010.article = esspass_eessi::blocks::Article::Art12_1;
    check(
        Sed::A010(a010),
        "/A010/article",
        EessiCode::ArticleNotForSed,
    );
    let Sed::H001(mut h001) = min[12].clone() else {
        panic!()
    };
    h001.information = None;
    check(
        Sed::H001(h001),
        "/H001/question",
        EessiCode::ConditionalField,
    );
    let Sed::X001(mut x001) = min[14].clone() else {
        panic!()
    };
    x001.reason = esspass_eessi::sed::ClosureReason::Other;
    check(
        Sed::X001(x001),
        "/X001/explanation",
        EessiCode::ConditionalField,
    );
    let Sed::X008(mut x008) = min[15].clone() else {
        panic!()
    };
    x008.invalidates.sed_type = SedType::X001;
    check(
        Sed::X008(x008),
        "/X008/invalidates/type",
        EessiCode::ReferenceWrongType,
    );
    let Sed::X010(mut x010) = min[17].clone() else {
        panic!()
    };
    x010.status = esspass_eessi::sed::ReminderReply::CannotReply;
    check(
        Sed::X010(x010),
        "/X010/explanation",
        EessiCode::ConditionalField,
    );
    let mut no_pin = person_minimal();
    no_pin.pin.clear();
    let Sed::A012(mut a012) = min[11].clone() else {
        panic!()
    };
    a012.person = no_pin;
    check(
        Sed::A012(a012),
        "/A012/person/placeOfBirth",
        EessiCode::ConditionalField,
    );
}

#[test]
fn decoding_lists_structural_and_content_problems_together() {
    let xml = encode(&Sed::A009(a009()), CdmVersion::V4_2)
        .unwrap()
        .replacen("<birthDate>1985-04-12</birthDate>", "", 1)
        .replacen("<country>GR</country>", "<country>XX</country>", 1)
        .replacen(
            "<startDate>2026-03-02</startDate>",
            "<startDate>2026-03-02</startDate><startDate>2026-03-03</startDate>",
            1,
        )
        .replacen(
            "<forename>Georgios</forename>",
            "<forename>Georgios</forename><shoeSize>44</shoeSize>",
            1,
        )
        .replacen(
            "<noFixedAddress>no</noFixedAddress>",
            "<noFixedAddress>maybe</noFixedAddress>",
            1,
        )
        .replacen(
            "<familyName>Papadopoulos</familyName>",
            "<familyName><b>P</b></familyName>",
            1,
        )
        .replacen(
            "<endDate>2027-03-01</endDate>",
            "<endDate>2025-03-01</endDate>",
            1,
        )
        .replacen(
            "<additionalInformation>",
            "<additionalInformation x=\"1\">",
            1,
        );
    let ps = invalid(&xml);
    let expect = [
        ("/A009/person/birthDate", EessiCode::MissingElement),
        ("/A009/person/pin[0]/country", EessiCode::InvalidValue),
        (
            "/A009/decision/period/startDate",
            EessiCode::DuplicateElement,
        ),
        ("/A009/person/shoeSize", EessiCode::UnknownElement),
        ("/A009/workPlace[0]/noFixedAddress", EessiCode::InvalidValue),
        ("/A009/person/familyName", EessiCode::UnexpectedText),
        ("/A009/additionalInformation", EessiCode::AttributeProblem),
    ];
    for (path, code) in expect {
        assert!(ps.has_at(path, code), "expected {code} at {path}; got {ps}");
    }
    assert_eq!(ps.0.len(), expect.len(), "{ps}");
    let only_content = encode(&Sed::A009(a009()), CdmVersion::V4_2)
        .unwrap()
        .replacen(
            "<forename>Georgios</forename>",
            "<forename>Georgios</forename><shoeSize>44</shoeSize>",
            1,
        )
        .replacen(
            "<endDate>2027-03-01</endDate>",
            "<endDate>2025-03-01</endDate>",
            1,
        )
        .replacen("<birthDate>1985-04-12</birthDate>", "", 1);
    let ps = invalid(&only_content);
    assert!(
        ps.has_at("/A009/person/birthDate", EessiCode::MissingElement),
        "{ps}"
    );
    assert!(
        ps.has_at("/A009/person/shoeSize", EessiCode::UnknownElement),
        "{ps}"
    );
    assert!(
        ps.has_at("/A009/decision/period/endDate", EessiCode::PeriodReversed),
        "the block that could be read is still checked: {ps}"
    );
}

#[test]
fn root_problems() {
    let good = encode(
        &Sed::X001(minimal()[14].clone().try_into_x001()),
        CdmVersion::V4_2,
    )
    .unwrap();
    let ps = invalid(&good.replace("sedVer=\"2\"", "sedVer=\"3\""));
    assert!(ps.has_at("/X001", EessiCode::VersionMismatch), "{ps}");
    let ps = invalid(&good.replace(" sedGVer=\"4\"", ""));
    assert!(ps.has_at("/X001", EessiCode::AttributeProblem), "{ps}");
    let ps = invalid(&good.replace("sedVer=\"2\"", "sedVer=\"2\" extra=\"1\""));
    assert!(ps.has_at("/X001", EessiCode::AttributeProblem), "{ps}");
    assert_eq!(
        refused(&good.replace("4_2/X001", "4_2/X002")),
        EessiCode::WrongNamespace
    );
    assert_eq!(
        refused(
            &good
                .replace("4_2/X001", "4_9/X001")
                .replace("sedVer=\"2\"", "sedVer=\"9\"")
        ),
        EessiCode::UnsupportedVersion
    );
    assert_eq!(
        refused(&good.replace("http://ec.europa.eu/eessi/ns/", "urn:other/")),
        EessiCode::WrongNamespace
    );
    assert_eq!(
        refused(&good.replace("4_2/X001", "4_2/A009")),
        EessiCode::UnexpectedRoot
    );
    assert_eq!(
        refused("<X001 sedGVer=\"4\" sedVer=\"2\"><reason>case_handled</reason></X001>"),
        EessiCode::WrongNamespace
    );
    // A default namespace puts the children in it: they are not the unqualified SED elements.
    let default_ns = "<X001 xmlns=\"http://ec.europa.eu/eessi/ns/4_2/X001\" sedGVer=\"4\" sedVer=\"2\"><reason>case_handled</reason></X001>";
    let ps = invalid(default_ns);
    assert!(
        ps.has_at("/X001/reason", EessiCode::QualifiedChild)
            && ps.has_at("/X001/reason", EessiCode::MissingElement),
        "{ps}"
    );
    let only_42 = DecodeOptions {
        versions: vec![CdmVersion::V4_2],
        ..DecodeOptions::default()
    };
    let v44 = encode(
        &Sed::X001(minimal()[14].clone().try_into_x001()),
        CdmVersion::V4_4,
    )
    .unwrap();
    assert!(
        matches!(decode(v44.as_bytes(), &only_42), Err(DecodeError::Refused(p)) if p.code == EessiCode::UnsupportedVersion)
    );
}

trait IntoX001 {
    fn try_into_x001(self) -> esspass_eessi::sed::X001;
}
impl IntoX001 for Sed {
    fn try_into_x001(self) -> esspass_eessi::sed::X001 {
        match self {
            Sed::X001(x) => x,
            other => panic!("{other:?}"),
        }
    }
}

const NS: &str = "xmlns:s=\"http://ec.europa.eu/eessi/ns/4_2/X001\" sedGVer=\"4\" sedVer=\"2\"";

#[test]
fn unsafe_documents_are_refused() {
    // DOCTYPE with an internal entity, an external entity, and the billion laughs.
    assert_eq!(
        refused(&format!(
            "<!DOCTYPE s:X001 [<!ENTITY r \"case_handled\">]><s:X001 {NS}><reason>&r;</reason></s:X001>"
        )),
        EessiCode::DoctypeRefused
    );
    assert_eq!(
        refused(&format!(
            "<?xml version=\"1.0\"?><!DOCTYPE s:X001 [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><s:X001 {NS}><reason>case_handled</reason><explanation>&xxe;</explanation></s:X001>"
        )),
        EessiCode::DoctypeRefused
    );
    let mut lol = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        lol.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    lol.push_str(&format!(
        "]><s:X001 {NS}><reason>case_handled</reason><explanation>&lol9;</explanation></s:X001>"
    ));
    assert_eq!(refused(&lol), EessiCode::DoctypeRefused);
    // Without a DOCTYPE, an undeclared entity is refused as such; the five predefined and
    // character references are read.
    assert_eq!(
        refused(&format!(
            "<s:X001 {NS}><reason>case_handled</reason><explanation>&nbsp;</explanation></s:X001>"
        )),
        EessiCode::EntityRefused
    );
    let ok = decode(format!("<s:X001 {NS}><reason>other</reason><explanation>&lt;&amp;&gt;&quot;&apos;&#233;&#x263A;</explanation></s:X001>").as_bytes(), &DecodeOptions::default()).unwrap();
    let Sed::X001(x) = ok.sed else { panic!() };
    assert_eq!(x.explanation.as_deref(), Some("<&>\"'é☺"));
    assert_eq!(
        refused(&format!(
            "<s:X001 {NS}><?evil x?><reason>case_handled</reason></s:X001>"
        )),
        EessiCode::ProcessingInstructionRefused
    );
}

#[test]
fn size_and_depth_are_bounded() {
    let big = format!(
        "<s:X001 {NS}><reason>other</reason><explanation>{}</explanation></s:X001>",
        "a".repeat(1024 * 1024)
    );
    assert_eq!(refused(&big), EessiCode::TooLarge);
    let small_limit = DecodeOptions {
        limits: Limits {
            max_bytes: 200,
            max_depth: 32,
        },
        ..DecodeOptions::default()
    };
    let xml = encode(&Sed::A009(a009()), CdmVersion::V4_2).unwrap();
    assert!(
        matches!(decode(xml.as_bytes(), &small_limit), Err(DecodeError::Refused(p)) if p.code == EessiCode::TooLarge)
    );
    let deep = format!(
        "<s:X001 {NS}><reason>{}x{}</reason></s:X001>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    assert_eq!(refused(&deep), EessiCode::TooDeep);
    // The real SEDs fit in a depth of 6.
    let shallow = DecodeOptions {
        limits: Limits {
            max_bytes: 1 << 20,
            max_depth: 6,
        },
        ..DecodeOptions::default()
    };
    for sed in full() {
        let xml = encode(&sed, CdmVersion::V4_2).unwrap();
        assert!(
            decode(xml.as_bytes(), &shallow).is_ok(),
            "{}",
            sed.sed_type()
        );
    }
}

#[test]
fn malformed_documents_are_refused() {
    for doc in [
        format!("<s:X001 {NS}><reason>case_handled</reason>"),
        format!("<s:X001 {NS}><reason>case_handled</explanation></s:X001>"),
        format!("<s:X001 {NS}><reason>case_handled</reason></s:X001><s:X001 {NS}/>"),
        "<x:X001><reason/></x:X001>".to_owned(),
        format!("<s:X001 {NS} sedVer=\"2\"><reason>case_handled</reason></s:X001>"),
        format!("<s:X001 {NS}><reason>a&#0;</reason></s:X001>"),
        "not xml at all".to_owned(),
        String::new(),
    ] {
        assert_eq!(refused(&doc), EessiCode::MalformedXml, "{doc}");
    }
    assert!(
        matches!(decode(b"<s:X001 \xC3\x28/>", &DecodeOptions::default()), Err(DecodeError::Refused(p)) if p.code == EessiCode::NotUtf8)
    );
}

#[test]
fn json_form_uses_the_xml_names() {
    let sed = Sed::A009(a009());
    let json = serde_json::to_value(&sed).unwrap();
    assert_eq!(json["sed"], "A009");
    assert_eq!(json["person"]["birthDate"], "1985-04-12");
    assert_eq!(json["decision"]["legislationCountry"], "GR");
    let back: Sed = serde_json::from_value(json).unwrap();
    assert_eq!(back, sed);
}
