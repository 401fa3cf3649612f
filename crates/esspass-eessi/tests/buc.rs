//! BUC state machines: every BUC's happy path (request, reply, close) between the views of two or
//! three institutions, illegal steps refused with their rule, reminders and automatic closure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use esspass_core::InstitutionId;
use esspass_eessi::blocks::DocumentRef;
use esspass_eessi::buc::{CaseStatus, DocumentState};
use esspass_eessi::{BucError, BucType, Case, CaseId, CdmVersion, EessiCode, MessageId, SedType};
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

fn at(days: i64) -> OffsetDateTime {
    T0 + time::Duration::days(days)
}

struct World {
    owner: Case,
    others: Vec<Case>,
    n: u32,
}

impl World {
    fn new(buc: BucType, counterparties: &[&str]) -> World {
        let cps: Vec<InstitutionId> = counterparties.iter().map(|s| inst(s)).collect();
        let owner = Case::open(
            CaseId::parse("case-1").unwrap(),
            buc,
            CdmVersion::V4_2,
            inst("EL:EFKA01"),
            cps,
            T0,
        )
        .unwrap();
        World {
            owner,
            others: Vec::new(),
            n: 0,
        }
    }

    fn view(&mut self, who: &str) -> &mut Case {
        let who = inst(who);
        if who == self.owner.me {
            return &mut self.owner;
        }
        self.others
            .iter_mut()
            .find(|c| c.me == who)
            .unwrap_or_else(|| panic!("{who} has no view"))
    }

    /// `from` drafts and sends a document to `to`, and each addressee receives it.
    fn send(
        &mut self,
        from: &str,
        t: SedType,
        refs: Vec<DocumentRef>,
        to: &[&str],
        now: OffsetDateTime,
    ) -> Result<String, BucError> {
        self.n += 1;
        let id = format!("doc-{}", self.n);
        let to: Vec<InstitutionId> = to.iter().map(|s| inst(s)).collect();
        let sender = self.view(from);
        sender.draft(doc(&id), t, refs.clone(), to.clone(), now)?;
        sender.send(&doc(&id), now)?;
        let envelopes: Vec<_> = to
            .iter()
            .map(|r| {
                sender
                    .envelope(
                        &doc(&id),
                        r,
                        MessageId::parse(&format!("m-{id}-{r}").replace(':', "")).unwrap(),
                        now,
                    )
                    .unwrap()
            })
            .collect();
        for env in envelopes {
            let me = env.receiver.clone();
            if me == self.owner.me {
                self.owner.receive(&env, &refs, now)?;
            } else if let Some(v) = self.others.iter_mut().find(|c| c.me == me) {
                v.receive(&env, &refs, now)?;
            } else {
                self.others.push(Case::join(me, &env, &refs, now)?);
            }
        }
        Ok(id)
    }
}

fn r(t: SedType, id: &str) -> Vec<DocumentRef> {
    vec![dref(t, id)]
}

const GR: &str = "EL:EFKA01";
const IT: &str = "IT:INPS01";
const AT: &str = "AT:OEGK01";

fn fails(e: Result<String, BucError>, code: EessiCode) {
    match e {
        Err(e) => assert_eq!(e.code, code, "{e}"),
        Ok(id) => panic!("step {id} was accepted; expected {code}"),
    }
}

/// request → reply → close, for each BUC with a reply.
#[test]
fn happy_paths_request_reply_close() {
    let cases: [(BucType, SedType, SedType); 5] = [
        (BucType::LaBuc01, SedType::A001, SedType::A011),
        (BucType::LaBuc02, SedType::A003, SedType::A012),
        (BucType::LaBuc06, SedType::A005, SedType::A006),
        (BucType::HBuc01, SedType::H001, SedType::H002),
        (BucType::LaBuc01, SedType::A001, SedType::A002),
    ];
    for (buc, request, reply) in cases {
        let mut w = World::new(buc, &[IT]);
        let q = w.send(GR, request, vec![], &[IT], at(0)).unwrap();
        assert_eq!(
            w.view(IT).role_of(&inst(IT)),
            Some(esspass_eessi::Role::CounterParty)
        );
        assert_eq!(w.view(IT).owner, inst(GR));
        let a = w.send(IT, reply, r(request, &q), &[GR], at(3)).unwrap();
        assert_eq!(
            w.owner.document(&doc(&q)).unwrap().answered_by,
            vec![inst(IT)]
        );
        assert_eq!(
            w.owner.document(&doc(&a)).unwrap().state,
            DocumentState::Received
        );
        assert_eq!(
            w.view(IT).document(&doc(&a)).unwrap().state,
            DocumentState::Sent
        );
        // The counterparty cannot close; the owner can.
        fails(
            w.send(IT, SedType::X001, vec![], &[GR], at(4)),
            EessiCode::RoleMayNotSend,
        );
        w.send(GR, SedType::X001, vec![], &[IT], at(5)).unwrap();
        assert_eq!(w.owner.status, CaseStatus::Closed);
        assert_eq!(w.view(IT).status, CaseStatus::Closed);
        fails(
            w.send(GR, SedType::A005, vec![], &[IT], at(6)),
            EessiCode::CaseClosed,
        );
    }
}

/// Notification BUCs: the notification, a request for more information and its answer, close.
#[test]
fn happy_paths_of_notifications() {
    for (buc, first) in [
        (BucType::LaBuc03, SedType::A008),
        (BucType::LaBuc04, SedType::A009),
        (BucType::LaBuc05, SedType::A010),
    ] {
        let mut w = World::new(buc, &[IT]);
        let n = w.send(GR, first, vec![], &[IT], at(0)).unwrap();
        let q = w.send(IT, SedType::A005, vec![], &[GR], at(2)).unwrap();
        w.send(GR, SedType::A006, r(SedType::A005, &q), &[IT], at(3))
            .unwrap();
        // A change notification follows from the owner; the counterparty cannot send one.
        w.send(GR, first, vec![], &[IT], at(4)).unwrap();
        fails(
            w.send(IT, first, vec![], &[GR], at(4)),
            EessiCode::RoleMayNotSend,
        );
        // Nothing answers a notification.
        fails(
            w.send(IT, SedType::A012, r(first, &n), &[GR], at(4)),
            EessiCode::SedNotInBuc,
        );
        w.send(GR, SedType::X001, vec![], &[IT], at(5)).unwrap();
        assert_eq!(w.view(IT).status, CaseStatus::Closed);
    }
}

#[test]
fn multilateral_determination_with_disagreement() {
    let mut w = World::new(BucType::LaBuc02, &[IT, AT]);
    let a003 = w.send(GR, SedType::A003, vec![], &[IT, AT], at(0)).unwrap();
    w.send(IT, SedType::A012, r(SedType::A003, &a003), &[GR], at(1))
        .unwrap();
    w.send(AT, SedType::A004, r(SedType::A003, &a003), &[GR], at(2))
        .unwrap();
    // Each counterparty answers once.
    fails(
        w.send(AT, SedType::A012, r(SedType::A003, &a003), &[GR], at(3)),
        EessiCode::AlreadyAnswered,
    );
    // A counterparty talks to the case owner only.
    fails(
        w.send(AT, SedType::A005, vec![], &[IT], at(3)),
        EessiCode::RecipientInvalid,
    );
    // Disagreement blocks the automatic closure; a revised determination restarts it.
    assert_eq!(w.owner.due_closure(at(100)), None);
    let revised = w.send(GR, SedType::A003, vec![], &[AT], at(10)).unwrap();
    assert_eq!(w.owner.due_closure(at(69)), None);
    let due = w.owner.due_closure(at(70)).unwrap();
    assert_eq!(due.trigger, doc(&revised));
    assert_eq!(due.due_since, at(70));
    assert_eq!(
        w.owner.document(&doc(&a003)).unwrap().answered_by,
        vec![inst(IT), inst(AT)]
    );
}

#[test]
fn illegal_steps_name_their_rule() {
    let mut w = World::new(BucType::LaBuc04, &[IT]);
    // Nothing before the starting SED; the starting SED only from the owner.
    fails(
        w.send(GR, SedType::A005, vec![], &[IT], at(0)),
        EessiCode::StarterFirst,
    );
    fails(
        w.send(GR, SedType::A001, vec![], &[IT], at(0)),
        EessiCode::SedNotInBuc,
    );
    fails(
        w.send(GR, SedType::A009, vec![], &[AT], at(0)),
        EessiCode::RecipientInvalid,
    );
    let a009 = w.send(GR, SedType::A009, vec![], &[IT], at(0)).unwrap();
    let it = w.view(IT).clone();
    // A reply must refer to a document of the case, of the right type, addressed to the replier.
    let mut w2 = World::new(BucType::LaBuc06, &[IT]);
    let q = w2.send(GR, SedType::A005, vec![], &[IT], at(0)).unwrap();
    fails(
        w2.send(IT, SedType::A006, vec![], &[GR], at(1)),
        EessiCode::ReferenceMissing,
    );
    fails(
        w2.send(IT, SedType::A006, r(SedType::A005, "nope"), &[GR], at(1)),
        EessiCode::ReferenceUnknown,
    );
    fails(
        w2.send(IT, SedType::A006, r(SedType::A003, &q), &[GR], at(1)),
        EessiCode::ReferenceWrongType,
    );
    fails(
        w2.send(GR, SedType::A006, r(SedType::A005, &q), &[IT], at(1)),
        EessiCode::RoleMayNotSend,
    );
    fails(
        w2.send(GR, SedType::A005, vec![], &[IT, IT], at(1)),
        EessiCode::RecipientInvalid,
    );
    w2.send(IT, SedType::A006, r(SedType::A005, &q), &[GR], at(1))
        .unwrap();
    fails(
        w2.send(IT, SedType::A006, r(SedType::A005, &q), &[GR], at(2)),
        EessiCode::AlreadyAnswered,
    );
    // Only the sender invalidates; an invalidated document cannot be answered or invalidated again.
    fails(
        w.send(IT, SedType::X008, r(SedType::A009, &a009), &[GR], at(1)),
        EessiCode::NotOriginator,
    );
    w.send(GR, SedType::X008, r(SedType::A009, &a009), &[IT], at(1))
        .unwrap();
    assert_eq!(
        w.view(IT).document(&doc(&a009)).unwrap().state,
        DocumentState::Cancelled
    );
    assert_eq!(
        w.owner.document(&doc(&a009)).unwrap().state,
        DocumentState::Cancelled
    );
    fails(
        w.send(GR, SedType::X008, r(SedType::A009, &a009), &[IT], at(2)),
        EessiCode::ReferenceCancelled,
    );
    fails(
        w.send(IT, SedType::X011, r(SedType::A009, &a009), &[GR], at(2)),
        EessiCode::ReferenceCancelled,
    );
    // Rejection: only by an addressee, once, and not of an X SED.
    let again = w.send(GR, SedType::A009, vec![], &[IT], at(3)).unwrap();
    fails(
        w.send(GR, SedType::X011, r(SedType::A009, &again), &[IT], at(3)),
        EessiCode::NotAddressee,
    );
    w.send(IT, SedType::X011, r(SedType::A009, &again), &[GR], at(4))
        .unwrap();
    assert_eq!(
        w.owner.document(&doc(&again)).unwrap().rejected_by,
        vec![inst(IT)]
    );
    fails(
        w.send(IT, SedType::X011, r(SedType::A009, &again), &[GR], at(5)),
        EessiCode::AlreadyAnswered,
    );
    // A bilateral BUC has one counterparty.
    let e = Case::open(
        CaseId::parse("c2").unwrap(),
        BucType::LaBuc04,
        CdmVersion::V4_2,
        inst(GR),
        vec![inst(IT), inst(AT)],
        T0,
    )
    .unwrap_err();
    assert_eq!(e.code, EessiCode::ParticipantsInvalid);
    assert_eq!(e.rule(), "ESP-7314");
    assert!(
        e.to_string()
            .starts_with("ESP-7314 LA_BUC_04 needs exactly one counterparty"),
        "{e}"
    );
    // A message from outside the case, for another institution, of another case, or another version.
    let mut env = w
        .owner
        .envelope(
            &doc(&again),
            &inst(IT),
            MessageId::parse("m1").unwrap(),
            at(3),
        )
        .unwrap();
    let mut it2 = it.clone();
    env.document_id = doc("fresh");
    env.sender = inst(AT);
    assert_eq!(
        it2.receive(&env, &[], at(6)).unwrap_err().code,
        EessiCode::NotParticipant
    );
    env.sender = inst(GR);
    env.receiver = inst(AT);
    assert_eq!(
        it2.receive(&env, &[], at(6)).unwrap_err().code,
        EessiCode::NotOpenForReceipt
    );
    env.receiver = inst(IT);
    env.case_id = CaseId::parse("other").unwrap();
    assert_eq!(
        it2.receive(&env, &[], at(6)).unwrap_err().code,
        EessiCode::WrongCase
    );
    env.case_id = CaseId::parse("case-1").unwrap();
    env.cdm_version = CdmVersion::V4_4;
    assert_eq!(
        it2.receive(&env, &[], at(6)).unwrap_err().code,
        EessiCode::CdmVersionMismatch
    );
    env.cdm_version = CdmVersion::V4_2;
    env.document_id = doc(&a009);
    assert_eq!(
        it2.receive(&env, &[], at(6)).unwrap_err().code,
        EessiCode::DuplicateDocumentId
    );
    // A refused step changes nothing.
    assert_eq!(it2, it);
    // A case joined from anything but its starting SED is refused.
    let mut first = w
        .owner
        .envelope(
            &doc(&again),
            &inst(IT),
            MessageId::parse("m2").unwrap(),
            at(3),
        )
        .unwrap();
    first.sed_type = SedType::A005;
    assert_eq!(
        Case::join(inst(IT), &first, &[], at(3)).unwrap_err().code,
        EessiCode::StarterFirst
    );
    // Sending twice, or sending what is not there.
    assert_eq!(
        w.owner.send(&doc(&again), at(9)).unwrap_err().code,
        EessiCode::NotDraft
    );
    assert_eq!(
        w.owner.send(&doc("ghost"), at(9)).unwrap_err().code,
        EessiCode::UnknownDocument
    );
}

#[test]
fn starter_cannot_be_repeated_where_the_table_says_so() {
    let mut w = World::new(BucType::LaBuc01, &[IT]);
    w.send(GR, SedType::A001, vec![], &[IT], at(0)).unwrap();
    fails(
        w.send(GR, SedType::A001, vec![], &[IT], at(1)),
        EessiCode::StarterAlreadySent,
    );
}

#[test]
fn reminders_fall_due_and_are_answered() {
    let mut w = World::new(BucType::LaBuc01, &[IT]);
    let a001 = w.send(GR, SedType::A001, vec![], &[IT], at(0)).unwrap();
    assert!(w.owner.due_reminders(at(59)).is_empty());
    let due = w.owner.due_reminders(at(60));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].document, dref(SedType::A001, &a001));
    assert_eq!(due[0].recipients, vec![inst(IT)]);
    let x009 = w
        .send(GR, SedType::X009, r(SedType::A001, &a001), &[IT], at(60))
        .unwrap();
    assert!(
        w.owner.due_reminders(at(119)).is_empty(),
        "the reminder restarts the clock"
    );
    assert_eq!(w.owner.due_reminders(at(120)).len(), 1);
    // Only the sender reminds; the addressee answers the reminder once.
    fails(
        w.send(IT, SedType::X009, r(SedType::A001, &a001), &[GR], at(61)),
        EessiCode::NotOriginator,
    );
    w.send(IT, SedType::X010, r(SedType::X009, &x009), &[GR], at(61))
        .unwrap();
    fails(
        w.send(IT, SedType::X010, r(SedType::X009, &x009), &[GR], at(62)),
        EessiCode::AlreadyAnswered,
    );
    // Once answered, nothing to remind of.
    w.send(IT, SedType::A011, r(SedType::A001, &a001), &[GR], at(70))
        .unwrap();
    assert!(w.owner.due_reminders(at(500)).is_empty());
    fails(
        w.send(GR, SedType::X009, r(SedType::A001, &a001), &[IT], at(71)),
        EessiCode::AlreadyAnswered,
    );
}

#[test]
fn automatic_closure_after_the_quiet_period() {
    // LA_BUC_01: 60 days after the decision is received, and 60 quiet days.
    let mut w = World::new(BucType::LaBuc01, &[IT]);
    let a001 = w.send(GR, SedType::A001, vec![], &[IT], at(0)).unwrap();
    assert_eq!(w.owner.due_closure(at(365)), None, "no decision yet");
    let a011 = w
        .send(IT, SedType::A011, r(SedType::A001, &a001), &[GR], at(10))
        .unwrap();
    assert_eq!(w.owner.due_closure(at(69)), None);
    assert_eq!(w.owner.due_closure(at(70)).unwrap().trigger, doc(&a011));
    assert_eq!(
        w.view(IT).due_closure(at(400)),
        None,
        "only the owner closes"
    );
    // Activity restarts the quiet period; an open request blocks.
    let q = w.send(IT, SedType::A005, vec![], &[GR], at(65)).unwrap();
    assert_eq!(
        w.owner.due_closure(at(200)),
        None,
        "a request waits for its answer"
    );
    w.send(GR, SedType::A006, r(SedType::A005, &q), &[IT], at(66))
        .unwrap();
    assert_eq!(w.owner.due_closure(at(125)), None);
    assert_eq!(w.owner.due_closure(at(126)).unwrap().due_since, at(126));
    // LA_BUC_06: 30 days after A006 received. LA_BUC_04: 30 days after A009 sent (a guess).
    let mut w = World::new(BucType::LaBuc06, &[IT]);
    let q = w.send(GR, SedType::A005, vec![], &[IT], at(0)).unwrap();
    w.send(IT, SedType::A006, r(SedType::A005, &q), &[GR], at(5))
        .unwrap();
    assert!(w.owner.due_closure(at(34)).is_none() && w.owner.due_closure(at(35)).is_some());
    let mut w = World::new(BucType::LaBuc04, &[IT]);
    w.send(GR, SedType::A009, vec![], &[IT], at(0)).unwrap();
    assert!(w.owner.due_closure(at(29)).is_none() && w.owner.due_closure(at(30)).is_some());
    w.send(GR, SedType::X001, vec![], &[IT], at(30)).unwrap();
    assert!(
        w.owner.due_closure(at(90)).is_none(),
        "a closed case is not closed again"
    );
}

#[test]
fn allowed_lists_what_may_be_sent_now() {
    let mut w = World::new(BucType::LaBuc01, &[IT]);
    let types = |c: &Case| {
        c.allowed()
            .into_iter()
            .map(|(t, _, _)| t)
            .collect::<Vec<_>>()
    };
    assert_eq!(types(&w.owner), vec![SedType::A001]);
    let a001 = w.send(GR, SedType::A001, vec![], &[IT], at(0)).unwrap();
    assert_eq!(
        types(&w.owner),
        vec![
            SedType::A005,
            SedType::X001,
            SedType::X008,
            SedType::X009,
            SedType::X050
        ]
    );
    assert_eq!(
        types(w.view(IT)),
        vec![
            SedType::A002,
            SedType::A011,
            SedType::A005,
            SedType::X011,
            SedType::X050
        ]
    );
    let (_, refs, to) = w
        .view(IT)
        .allowed()
        .into_iter()
        .find(|(t, _, _)| *t == SedType::A011)
        .unwrap();
    assert_eq!(refs, r(SedType::A001, &a001));
    assert_eq!(to, vec![inst(GR)]);
    // Every step `allowed` offers is accepted.
    for (t, refs, to) in w.view(IT).allowed() {
        let mut copy = w.view(IT).clone();
        copy.draft(doc("probe"), t, refs, to, at(1)).unwrap();
        copy.send(&doc("probe"), at(1)).unwrap();
    }
}

#[test]
fn history_and_json_form() {
    let mut w = World::new(BucType::LaBuc04, &[IT]);
    let id = w.send(GR, SedType::A009, vec![], &[IT], at(0)).unwrap();
    let events: Vec<_> = w
        .owner
        .history
        .iter()
        .map(|h| serde_json::to_string(&h.event).unwrap())
        .collect();
    assert_eq!(
        events,
        vec![
            r#"{"event":"opened"}"#.to_owned(),
            format!(r#"{{"event":"drafted","document":"{id}"}}"#),
            format!(r#"{{"event":"sent","document":"{id}"}}"#)
        ]
    );
    let json = serde_json::to_string(&w.owner).unwrap();
    let back: Case = serde_json::from_str(&json).unwrap();
    assert_eq!(back, w.owner);
}
