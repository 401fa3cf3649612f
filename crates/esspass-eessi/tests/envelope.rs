//! The envelope and the message (envelope + SED): round trips, problems listed with paths,
//! disagreement between envelope and SED, refusals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use esspass_eessi::codec::DecodeOptions;
use esspass_eessi::envelope::SBDH_NS;
use esspass_eessi::sed::Sed;
use esspass_eessi::{
    BucType, CaseId, CdmVersion, DecodeError, EessiCode, Envelope, Message, MessageId, SedType,
};
use time::macros::datetime;

fn envelope(t: SedType, buc: BucType) -> Envelope {
    Envelope {
        sender: inst("EL:EFKA01"),
        receiver: inst("IT:INPS01"),
        sed_type: t,
        cdm_version: CdmVersion::V4_2,
        document_id: doc("4f1c2e9a-0b7d"),
        case_id: CaseId::parse("1234567").unwrap(),
        buc_type: buc,
        message_id: MessageId::parse("msg-0001").unwrap(),
        created_at: datetime!(2026-03-02 09:30:15.25 UTC),
    }
}

#[test]
fn envelope_round_trips() {
    let e = envelope(SedType::A009, BucType::LaBuc04);
    let xml = e.to_xml();
    assert!(
        xml.contains(&format!(
            "<sbdh:StandardBusinessDocumentHeader xmlns:sbdh=\"{SBDH_NS}\">"
        )),
        "{xml}"
    );
    assert!(xml.contains("<sbdh:Identifier Authority=\"EESSI\">EL:EFKA01</sbdh:Identifier>"));
    assert!(xml.contains("<sbdh:BusinessServiceName>LA_BUC_04</sbdh:BusinessServiceName>"));
    assert!(
        xml.contains(
            "<sbdh:CreationDateAndTime>2026-03-02T09:30:15.25Z</sbdh:CreationDateAndTime>"
        )
    );
    let back = Envelope::from_xml(xml.as_bytes(), &DecodeOptions::default()).unwrap();
    assert_eq!(back, e);
    assert_eq!(back.to_xml(), xml);
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["sender"], "EL:EFKA01");
    assert_eq!(json["cdm_version"], "4.2");
    assert_eq!(serde_json::from_value::<Envelope>(json).unwrap(), e);
}

#[test]
fn envelope_problems_are_listed() {
    let mut e = envelope(SedType::A001, BucType::LaBuc04);
    e.receiver = e.sender.clone();
    let ps = e.validate().unwrap_err();
    assert!(
        ps.has_at(
            "/StandardBusinessDocumentHeader/Receiver",
            EessiCode::SenderIsReceiver
        ),
        "{ps}"
    );
    assert!(
        ps.has_at(
            "/StandardBusinessDocumentHeader/DocumentIdentification/Type",
            EessiCode::SedNotInBucType
        ),
        "{ps}"
    );
    let xml = envelope(SedType::A009, BucType::LaBuc04)
        .to_xml()
        .replace(
            "Authority=\"EESSI\">EL:EFKA01",
            "Authority=\"GLN\">EL:EFKA01",
        )
        .replace("<sbdh:Type>A009</sbdh:Type>", "<sbdh:Type>Z999</sbdh:Type>")
        .replace("<sbdh:MessageId>msg-0001</sbdh:MessageId>", "")
        .replace("2026-03-02T09:30:15.25Z", "yesterday");
    let Err(DecodeError::Invalid(ps)) =
        Envelope::from_xml(xml.as_bytes(), &DecodeOptions::default())
    else {
        panic!()
    };
    let root = "/StandardBusinessDocumentHeader";
    assert!(
        ps.has_at(
            &format!("{root}/Sender/Identifier"),
            EessiCode::AttributeProblem
        ),
        "{ps}"
    );
    assert!(
        ps.has_at(
            &format!("{root}/DocumentIdentification/Type"),
            EessiCode::InvalidValue
        ),
        "{ps}"
    );
    assert!(
        ps.has_at(
            &format!("{root}/DocumentIdentification/CreationDateAndTime"),
            EessiCode::InvalidValue
        ),
        "{ps}"
    );
    assert!(
        ps.has_at(
            &format!("{root}/BusinessScope/MessageId"),
            EessiCode::MissingElement
        ),
        "{ps}"
    );
    assert_eq!(ps.0.len(), 4, "{ps}");
    let unqualified = envelope(SedType::A009, BucType::LaBuc04)
        .to_xml()
        .replace("sbdh:", "")
        .replace("xmlns:sbdh", "xmlns");
    assert!(
        Envelope::from_xml(unqualified.as_bytes(), &DecodeOptions::default()).is_ok(),
        "a default namespace is the same namespace"
    );
    let foreign = envelope(SedType::A009, BucType::LaBuc04)
        .to_xml()
        .replace(SBDH_NS, "urn:other");
    assert!(
        matches!(Envelope::from_xml(foreign.as_bytes(), &DecodeOptions::default()), Err(DecodeError::Refused(p)) if p.code == EessiCode::WrongNamespace)
    );
}

#[test]
fn message_round_trips_for_every_sed() {
    for sed in full() {
        let buc = BucType::ALL
            .iter()
            .copied()
            .find(|b| esspass_eessi::buc::spec(*b).uses(sed.sed_type()))
            .unwrap();
        let m = Message {
            envelope: envelope(sed.sed_type(), buc),
            sed,
        };
        let xml = m.encode().unwrap();
        let back = Message::decode(xml.as_bytes(), &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(back, m);
        assert_eq!(back.encode().unwrap(), xml);
    }
}

#[test]
fn message_problems_from_envelope_and_sed_together() {
    let mut a009 = a009();
    a009.person.forename = String::new();
    let mut m = Message {
        envelope: envelope(SedType::A009, BucType::LaBuc04),
        sed: Sed::A009(a009),
    };
    m.envelope.receiver = m.envelope.sender.clone();
    let ps = m.encode().unwrap_err();
    assert!(
        ps.has_at("/A009/person/forename", EessiCode::Required),
        "{ps}"
    );
    assert!(
        ps.has_at(
            "/StandardBusinessDocument/StandardBusinessDocumentHeader/Receiver",
            EessiCode::SenderIsReceiver
        ),
        "{ps}"
    );
    let Err(DecodeError::Invalid(ps2)) =
        Message::decode(m.encode_unchecked().as_bytes(), &DecodeOptions::default())
    else {
        panic!()
    };
    assert_eq!(ps2, ps);
    // The envelope must name the SED it carries, in its version.
    let good = Message {
        envelope: envelope(SedType::A009, BucType::LaBuc04),
        sed: Sed::A009(common::a009()),
    };
    let mut wrong_type = good.clone();
    wrong_type.envelope.sed_type = SedType::A005;
    assert!(
        wrong_type
            .encode()
            .unwrap_err()
            .has(EessiCode::EnvelopeSedMismatch)
    );
    let Err(DecodeError::Invalid(ps)) = Message::decode(
        wrong_type.encode_unchecked().as_bytes(),
        &DecodeOptions::default(),
    ) else {
        panic!()
    };
    assert!(ps.has(EessiCode::EnvelopeSedMismatch), "{ps}");
    let xml = good.encode().unwrap().replace(
        "<sbdh:TypeVersion>4.2</sbdh:TypeVersion>",
        "<sbdh:TypeVersion>4.3</sbdh:TypeVersion>",
    );
    let Err(DecodeError::Invalid(ps)) = Message::decode(xml.as_bytes(), &DecodeOptions::default())
    else {
        panic!()
    };
    assert!(ps.has(EessiCode::EnvelopeSedMismatch), "{ps}");
    // Two SEDs, or none, are refused; so is an unsafe payload.
    let xml = good.encode().unwrap();
    let sed_start = xml.find("  <sed:A009").unwrap();
    let sed_end = xml.find("</sed:A009>").unwrap() + "</sed:A009>\n".len();
    let twice = format!(
        "{}{}{}",
        &xml[..sed_end],
        &xml[sed_start..sed_end],
        &xml[sed_end..]
    );
    assert!(
        matches!(Message::decode(twice.as_bytes(), &DecodeOptions::default()), Err(DecodeError::Refused(p)) if p.code == EessiCode::UnexpectedRoot)
    );
    let none = format!("{}{}", &xml[..sed_start], &xml[sed_end..]);
    assert!(
        matches!(Message::decode(none.as_bytes(), &DecodeOptions::default()), Err(DecodeError::Refused(p)) if p.code == EessiCode::UnexpectedRoot)
    );
    let doctype = format!(
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"http://evil.example/\">]>{}",
        xml.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
    );
    assert!(
        matches!(Message::decode(doctype.as_bytes(), &DecodeOptions::default()), Err(DecodeError::Refused(p)) if p.code == EessiCode::DoctypeRefused)
    );
}
