//! The horizontal ad-hoc exchange (H001/H002, H_BUC_01) and the case administration SEDs usable
//! in every BUC (X001 close, X008 invalidate, X009/X010 reminder and reply, X011 reject, X050
//! business exception).
//!
//! Their titles come from NAV's code (`JournalpostMetadataService.kt`, `SedType.kt`); their shapes
//! and reason code lists are our guesses, kept to what the title says the SED carries.

use crate::blocks::{DocumentRef, Person, reference_to};
use crate::codes::{EessiCode, Problem};
use crate::ids::{SedType, code_enum};
use crate::validate::{self as v, Validate, at};
use crate::xml::map::record;
use esspass_core::Date;

record! {
    /// H001 — Notification / request for information (ad-hoc exchange).
    ///
    /// Rules: a subject; at least one question or a piece of information.
    pub struct H001 {
        person: Option<Person> => "person" opt,
        subject: String => "subject" req,
        question: Vec<String> => "question" list,
        information: Option<String> => "information" opt,
        reply_by: Option<Date> => "replyBy" opt,
    }
}

impl Validate for H001 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        if let Some(p) = &self.person {
            p.validate(&at(path, "person"), out);
        }
        v::text(out, at(path, "subject"), &self.subject, v::SHORT);
        v::texts(out, path, "question", &self.question, v::FREE_TEXT);
        v::opt_text(
            out,
            at(path, "information"),
            self.information.as_ref(),
            v::FREE_TEXT,
        );
        if self.question.is_empty() && self.information.is_none() {
            v::conditional(
                out,
                at(path, "question"),
                "an H001 asks at least one question or gives information",
            );
        }
        v::opt_date(out, at(path, "replyBy"), self.reply_by);
    }
}

record! {
    /// H002 — Reply to notification / request for information.
    ///
    /// Rules: answers an H001; at least one answer.
    pub struct H002 {
        person: Option<Person> => "person" opt,
        answers: DocumentRef => "answers" req,
        answer: Vec<String> => "answer" list,
    }
}

impl Validate for H002 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        if let Some(p) = &self.person {
            p.validate(&at(path, "person"), out);
        }
        reference_to(out, at(path, "answers"), &self.answers, &[SedType::H001]);
        v::non_empty(out, at(path, "answer"), &self.answer, "answer");
        v::texts(out, path, "answer", &self.answer, v::FREE_TEXT);
    }
}

code_enum!(
    /// Why a case is closed (our list).
    ClosureReason {
    CaseHandled = "case_handled", "the case is handled";
    SentInError = "sent_in_error", "the case was opened in error";
    Duplicate = "duplicate", "the case duplicates another one";
    Other = "other", "another reason, explained";
});

fn explained_if_other(
    out: &mut Vec<Problem>,
    path: &str,
    other: bool,
    explanation: Option<&String>,
) {
    v::opt_text(out, at(path, "explanation"), explanation, v::FREE_TEXT);
    if other && explanation.is_none() {
        v::conditional(
            out,
            at(path, "explanation"),
            "the reason \"other\" needs an explanation",
        );
    }
}

record! {
    /// X001 — Request for closure of the case.
    ///
    /// Rules: the reason `other` is explained.
    pub struct X001 {
        reason: ClosureReason => "reason" req,
        explanation: Option<String> => "explanation" opt,
    }
}

impl Validate for X001 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        explained_if_other(
            out,
            path,
            self.reason == ClosureReason::Other,
            self.explanation.as_ref(),
        );
    }
}

code_enum!(
    /// Why a SED is invalidated (our list).
    InvalidationReason {
    SentInError = "sent_in_error", "the SED was sent in error";
    WrongPerson = "wrong_person", "the SED concerns another person";
    WrongContent = "wrong_content", "the SED's content is wrong";
    Superseded = "superseded", "a new SED replaces it";
    Other = "other", "another reason, explained";
});

/// The case administration SEDs that cannot themselves be invalidated, rejected or reminded of.
const CASE_ACTIONS: &[SedType] = &[
    SedType::X001,
    SedType::X008,
    SedType::X009,
    SedType::X010,
    SedType::X011,
    SedType::X050,
];

fn business_sed(out: &mut Vec<Problem>, path: String, r: &DocumentRef, what: &str) {
    if CASE_ACTIONS.contains(&r.sed_type) {
        out.push(Problem::new(
            at(&path, "type"),
            EessiCode::ReferenceWrongType,
            format!("a {} cannot be {what}", r.sed_type),
        ));
    }
}

record! {
    /// X008 — Invalidate SED: withdraws a SED the sender sent earlier.
    ///
    /// Rules: refers to a business SED (not an X SED); the reason `other` is explained.
    pub struct X008 {
        invalidates: DocumentRef => "invalidates" req,
        reason: InvalidationReason => "reason" req,
        explanation: Option<String> => "explanation" opt,
    }
}

impl Validate for X008 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        business_sed(
            out,
            at(path, "invalidates"),
            &self.invalidates,
            "invalidated",
        );
        explained_if_other(
            out,
            path,
            self.reason == InvalidationReason::Other,
            self.explanation.as_ref(),
        );
    }
}

record! {
    /// X009 — Reminder: the sender still waits for a reply to the documents listed.
    ///
    /// Rules: at least one document, none twice, none an X SED.
    pub struct X009 {
        reminds_of: Vec<DocumentRef> => "remindsOf" list,
        reply_by: Option<Date> => "replyBy" opt,
        explanation: Option<String> => "explanation" opt,
    }
}

impl Validate for X009 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::non_empty(
            out,
            at(path, "remindsOf"),
            &self.reminds_of,
            "document reminded of",
        );
        v::no_duplicates(out, path, "remindsOf", &self.reminds_of);
        for (i, r) in self.reminds_of.iter().enumerate() {
            business_sed(out, v::at_index(path, "remindsOf", i), r, "reminded of");
        }
        v::opt_date(out, at(path, "replyBy"), self.reply_by);
        v::opt_text(
            out,
            at(path, "explanation"),
            self.explanation.as_ref(),
            v::FREE_TEXT,
        );
    }
}

code_enum!(
    /// What a reply to a reminder says (our list).
    ReminderReply {
    WillReplyBy = "will_reply_by", "the reply will be sent by the date given";
    AlreadyReplied = "already_replied", "the reply was already sent";
    CannotReply = "cannot_reply", "no reply can be given, for the reason explained";
});

record! {
    /// X010 — Reply to reminder.
    ///
    /// Rules: answers an X009; `will_reply_by` gives the date, `cannot_reply` the explanation.
    pub struct X010 {
        answers: DocumentRef => "answers" req,
        status: ReminderReply => "status" req,
        reply_by: Option<Date> => "replyBy" opt,
        explanation: Option<String> => "explanation" opt,
    }
}

impl Validate for X010 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        reference_to(out, at(path, "answers"), &self.answers, &[SedType::X009]);
        v::opt_date(out, at(path, "replyBy"), self.reply_by);
        v::opt_text(
            out,
            at(path, "explanation"),
            self.explanation.as_ref(),
            v::FREE_TEXT,
        );
        if self.status == ReminderReply::WillReplyBy && self.reply_by.is_none() {
            v::conditional(out, at(path, "replyBy"), "\"will_reply_by\" gives the date");
        }
        if self.status == ReminderReply::CannotReply && self.explanation.is_none() {
            v::conditional(
                out,
                at(path, "explanation"),
                "\"cannot_reply\" explains why",
            );
        }
    }
}

code_enum!(
    /// Why a received SED is rejected (our list).
    RejectionReason {
    NotCompetent = "not_competent", "the receiving institution is not competent";
    UnknownPerson = "unknown_person", "the person cannot be identified";
    WrongPerson = "wrong_person", "the SED concerns another person";
    Incomplete = "incomplete", "the SED lacks information the receiver needs";
    Other = "other", "another reason, explained";
});

record! {
    /// X011 — Reject SED: the receiver refuses a SED it received.
    ///
    /// Rules: refers to a business SED; the reason `other` is explained.
    pub struct X011 {
        rejects: DocumentRef => "rejects" req,
        reason: RejectionReason => "reason" req,
        explanation: Option<String> => "explanation" opt,
    }
}

impl Validate for X011 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        business_sed(out, at(path, "rejects"), &self.rejects, "rejected");
        explained_if_other(
            out,
            path,
            self.reason == RejectionReason::Other,
            self.explanation.as_ref(),
        );
    }
}

code_enum!(
    /// The kind of business exception (our list).
    BusinessException {
    PersonNotIdentified = "person_not_identified", "the person could not be identified";
    NotCompetent = "not_competent", "the institution is not competent for the case";
    ContentUnreadable = "content_unreadable", "the content could not be processed";
    Other = "other", "another exception, described";
});

record! {
    /// X050 — Business exception: the receiver tells why it cannot process the case or a document.
    ///
    /// Rules: a description is required.
    pub struct X050 {
        concerns: Option<DocumentRef> => "concerns" opt,
        exception: BusinessException => "exception" req,
        description: String => "description" req,
    }
}

impl Validate for X050 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::text(
            out,
            at(path, "description"),
            &self.description,
            v::FREE_TEXT,
        );
    }
}
