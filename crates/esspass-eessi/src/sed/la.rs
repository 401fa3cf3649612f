//! SEDs of the legislation-applicable sector, A001–A012.
//!
//! Shapes follow the A001/A002/A003/A009 forms published by Switzerland and NAV's SED model
//! (`navikt/melosys-eessi` `MedlemskapA001`, `A003`, `A008`, `A009`, `A010`, `A002Mapper`,
//! `A004Mapper`). Where neither shows a field (A005–A007, A011, A012) the shape is our guess,
//! kept to what the SED's title says it carries; `docs/eessi.md` lists the guesses.

use crate::blocks::{
    Article, Decision, DocumentRef, Employer, Period, Person, WorkPlace, reference_to,
};
use crate::codes::{EessiCode, Problem};
use crate::ids::{SedType, code_enum};
use crate::validate::{self as v, Validate, at};
use crate::xml::map::record;
use esspass_core::{Country, Date};

fn article_in(out: &mut Vec<Problem>, path: String, a: Article, allowed: &[Article]) {
    if !allowed.contains(&a) {
        let names: Vec<&str> = allowed.iter().map(|x| x.as_str()).collect();
        out.push(Problem::new(
            path,
            EessiCode::ArticleNotForSed,
            format!("{a} is not one of {}", names.join(", ")),
        ));
    }
}

fn article_of_buc(out: &mut Vec<Problem>, path: String, a: Article, buc: crate::ids::BucType) {
    if a.buc() != buc {
        out.push(Problem::new(
            path,
            EessiCode::ArticleNotForSed,
            format!("a decision under {a} belongs to {}, not {buc}", a.buc()),
        ));
    }
}

fn activities(
    out: &mut Vec<Problem>,
    path: &str,
    employer: &[Employer],
    self_employment: &[Employer],
) {
    v::each(out, path, "employer", employer);
    v::each(out, path, "selfEmployment", self_employment);
}

fn born_before(out: &mut Vec<Problem>, path: &str, person: &Person, start: Date, what: &str) {
    if person.birth_date > start {
        out.push(Problem::new(
            at(path, "person/birthDate"),
            EessiCode::DateImplausible,
            format!("the person is born after the start of the {what} ({start})"),
        ));
    }
}

fn closed_period(out: &mut Vec<Problem>, path: String, p: &Period) {
    if p.end_date.is_none() {
        out.push(Problem::new(
            at(&path, "endDate"),
            EessiCode::PeriodIncomplete,
            "this period needs an end date",
        ));
    }
}

record! {
    /// A001 — Request for exception (Art 16 Reg. 883/2004, Art 18 Reg. 987/2009).
    ///
    /// Rules: the article is 16(1) or 16(2); the requested period has an end; under 16(1) at least
    /// one employer or self-employed activity; a changed request names the date of the previous one;
    /// the person is born before the requested period.
    pub struct A001 {
        person: Person => "person" req,
        employer: Vec<Employer> => "employer" list,
        self_employment: Vec<Employer> => "selfEmployment" list,
        work_place: Vec<WorkPlace> => "workPlace" list,
        host_employer: Vec<Employer> => "hostEmployer" list,
        current_legislation: Vec<Country> => "currentLegislation" list,
        requested_legislation: Country => "requestedLegislation" req,
        article: Article => "article" req,
        requested_period: Period => "requestedPeriod" req,
        previous_period: Vec<Period> => "previousPeriod" list,
        insured_since: Option<Date> => "insuredSince" opt,
        contract_start: Option<Date> => "contractStart" opt,
        is_change: bool => "isChange" req,
        previous_request_date: Option<Date> => "previousRequestDate" opt,
        special_circumstances: Option<String> => "specialCircumstances" opt,
        reasons: String => "reasons" req,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

impl Validate for A001 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        activities(out, path, &self.employer, &self.self_employment);
        v::each(out, path, "workPlace", &self.work_place);
        v::each(out, path, "hostEmployer", &self.host_employer);
        v::no_duplicates(out, path, "currentLegislation", &self.current_legislation);
        v::participating(
            out,
            at(path, "requestedLegislation"),
            self.requested_legislation,
        );
        article_in(
            out,
            at(path, "article"),
            self.article,
            &[Article::Art16_1, Article::Art16_2],
        );
        self.requested_period
            .validate(&at(path, "requestedPeriod"), out);
        closed_period(out, at(path, "requestedPeriod"), &self.requested_period);
        v::each(out, path, "previousPeriod", &self.previous_period);
        v::opt_date(out, at(path, "insuredSince"), self.insured_since);
        v::opt_date(out, at(path, "contractStart"), self.contract_start);
        v::opt_date(
            out,
            at(path, "previousRequestDate"),
            self.previous_request_date,
        );
        if self.is_change && self.previous_request_date.is_none() {
            v::conditional(
                out,
                at(path, "previousRequestDate"),
                "a changed request names the date of the previous request",
            );
        }
        if self.article == Article::Art16_1
            && self.employer.is_empty()
            && self.self_employment.is_empty()
        {
            v::conditional(
                out,
                at(path, "employer"),
                "an exception under Art 16(1) names at least one employer or self-employed activity",
            );
        }
        v::opt_text(
            out,
            at(path, "specialCircumstances"),
            self.special_circumstances.as_ref(),
            v::FREE_TEXT,
        );
        v::text(out, at(path, "reasons"), &self.reasons, v::FREE_TEXT);
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
        born_before(
            out,
            path,
            &self.person,
            self.requested_period.start_date,
            "requested period",
        );
    }
}

code_enum!(
    /// The answer an A002 gives (NAV: `ikke_godkjent`, `godkjent_for_annen_periode`).
    RefusalKind {
    Refused = "refused", "the request is refused";
    OtherPeriod = "other_period", "the exception is granted for another period only";
});

record! {
    /// A002 — Partial or total refusal of request for exception.
    ///
    /// Rules: answers an A001; a partial refusal (`other_period`) gives the period granted instead,
    /// with an end, and a total refusal gives none; reasons are required.
    pub struct A002 {
        person: Person => "person" req,
        answers: DocumentRef => "answers" req,
        decision: RefusalKind => "decision" req,
        other_period: Option<Period> => "otherPeriod" opt,
        reasons: String => "reasons" req,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

impl Validate for A002 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        reference_to(out, at(path, "answers"), &self.answers, &[SedType::A001]);
        match (&self.decision, &self.other_period) {
            (RefusalKind::OtherPeriod, None) => v::conditional(
                out,
                at(path, "otherPeriod"),
                "a partial refusal gives the period granted instead",
            ),
            (RefusalKind::Refused, Some(_)) => v::conditional(
                out,
                at(path, "otherPeriod"),
                "a total refusal grants no period",
            ),
            (_, Some(p)) => {
                p.validate(&at(path, "otherPeriod"), out);
                closed_period(out, at(path, "otherPeriod"), p);
            }
            (RefusalKind::Refused, None) => {}
        }
        v::text(out, at(path, "reasons"), &self.reasons, v::FREE_TEXT);
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
    }
}

record! {
    /// A003 — Determination of applicable legislation (Art 13 Reg. 883/2004, Art 16 Reg. 987/2009).
    ///
    /// Rules: the article is one of LA_BUC_02's (Art 13, 87(8), 87a, 987/2009 Art 14(11)); at least
    /// one employer or self-employed activity; an open-ended period only when the decision is for the
    /// duration of the activity; the person is born before the period.
    pub struct A003 {
        person: Person => "person" req,
        employer: Vec<Employer> => "employer" list,
        self_employment: Vec<Employer> => "selfEmployment" list,
        work_place: Vec<WorkPlace> => "workPlace" list,
        other_state_employer: Vec<Employer> => "otherStateEmployer" list,
        article: Article => "article" req,
        decision: Decision => "decision" req,
        provisional: bool => "provisional" req,
        marginal_activity: Option<bool> => "marginalActivity" opt,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

fn open_only_for_duration(out: &mut Vec<Problem>, path: &str, d: &Decision) {
    if d.period.end_date.is_none() && !d.for_duration_of_activity {
        out.push(Problem::new(
            at(path, "decision/period/endDate"),
            EessiCode::PeriodIncomplete,
            "an open-ended decision must be for the duration of the activity",
        ));
    }
}

impl Validate for A003 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        activities(out, path, &self.employer, &self.self_employment);
        if self.employer.is_empty() && self.self_employment.is_empty() {
            v::conditional(
                out,
                at(path, "employer"),
                "a determination under Art 13 names at least one employer or self-employed activity",
            );
        }
        v::each(out, path, "workPlace", &self.work_place);
        v::each(out, path, "otherStateEmployer", &self.other_state_employer);
        article_of_buc(
            out,
            at(path, "article"),
            self.article,
            crate::ids::BucType::LaBuc02,
        );
        self.decision.validate(&at(path, "decision"), out);
        open_only_for_duration(out, path, &self.decision);
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
        born_before(
            out,
            path,
            &self.person,
            self.decision.period.start_date,
            "period",
        );
    }
}

record! {
    /// A004 — Disagreement with the determination (NAV's `A004Mapper`: need for more information,
    /// proposed state, reasons).
    ///
    /// Rules: answers an A003; reasons are required; the proposed state takes part in the coordination.
    pub struct A004 {
        person: Person => "person" req,
        answers: DocumentRef => "answers" req,
        needs_more_information: bool => "needsMoreInformation" req,
        proposed_legislation: Option<Country> => "proposedLegislation" opt,
        reasons: String => "reasons" req,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

impl Validate for A004 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        reference_to(out, at(path, "answers"), &self.answers, &[SedType::A003]);
        if let Some(c) = self.proposed_legislation {
            v::participating(out, at(path, "proposedLegislation"), c);
        }
        v::text(out, at(path, "reasons"), &self.reasons, v::FREE_TEXT);
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
    }
}

record! {
    /// A005 — Request for more information (shape: our guess).
    ///
    /// Rules: at least one question.
    pub struct A005 {
        person: Person => "person" req,
        question: Vec<String> => "question" list,
        reply_by: Option<Date> => "replyBy" opt,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

impl Validate for A005 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        v::non_empty(out, at(path, "question"), &self.question, "question");
        v::texts(out, path, "question", &self.question, v::FREE_TEXT);
        v::opt_date(out, at(path, "replyBy"), self.reply_by);
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
    }
}

record! {
    /// A006 — Reply to request for more information (shape: our guess).
    ///
    /// Rules: answers an A005; at least one answer.
    pub struct A006 {
        person: Person => "person" req,
        answers: DocumentRef => "answers" req,
        answer: Vec<String> => "answer" list,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

impl Validate for A006 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        reference_to(out, at(path, "answers"), &self.answers, &[SedType::A005]);
        v::non_empty(out, at(path, "answer"), &self.answer, "answer");
        v::texts(out, path, "answer", &self.answer, v::FREE_TEXT);
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
    }
}

record! {
    /// A007 — Provisional determination of applicable legislation (Art 6 Reg. 987/2009; shape: our
    /// guess: the provision, the state, the period, the reasons).
    ///
    /// Rules: the legislation state participates; reasons are required.
    pub struct A007 {
        person: Person => "person" req,
        article: Article => "article" req,
        legislation_country: Country => "legislationCountry" req,
        period: Period => "period" req,
        reasons: String => "reasons" req,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

impl Validate for A007 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        v::participating(
            out,
            at(path, "legislationCountry"),
            self.legislation_country,
        );
        self.period.validate(&at(path, "period"), out);
        v::text(out, at(path, "reasons"), &self.reasons, v::FREE_TEXT);
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
        born_before(out, path, &self.person, self.period.start_date, "period");
    }
}

code_enum!(
    /// Why an A008 is sent (CDM 4.4 `formaal`: `endringsmelding`, `arbeid_flere_land`).
    A008Purpose {
    Change = "change", "notification of a change";
    WorkInSeveralStates = "work_in_several_states", "work in two or more states";
});

record! {
    /// What changed, from when (NAV's `EndringA008`).
    pub struct Change {
        effective_from: Date => "effectiveFrom" req,
        description: String => "description" req,
        new_address: Option<crate::blocks::Address> => "newAddress" opt,
        new_work_place: Option<WorkPlace> => "newWorkPlace" opt,
        new_period: Option<Period> => "newPeriod" opt,
    }
}

impl Validate for Change {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::date(out, at(path, "effectiveFrom"), self.effective_from);
        v::text(
            out,
            at(path, "description"),
            &self.description,
            v::FREE_TEXT,
        );
        if let Some(a) = &self.new_address {
            a.validate(&at(path, "newAddress"), out);
        }
        if let Some(w) = &self.new_work_place {
            w.validate(&at(path, "newWorkPlace"), out);
        }
        if let Some(p) = &self.new_period {
            p.validate(&at(path, "newPeriod"), out);
        }
    }
}

record! {
    /// Work in two or more states (NAV's `ArbeidIFlereLand`: residence, start of the activity).
    pub struct SeveralStates {
        residence_country: Country => "residenceCountry" req,
        activity_start: Date => "activityStart" req,
        work_country: Vec<Country> => "workCountry" list,
    }
}

impl Validate for SeveralStates {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        v::date(out, at(path, "activityStart"), self.activity_start);
        v::non_empty(
            out,
            at(path, "workCountry"),
            &self.work_country,
            "state of work",
        );
        v::no_duplicates(out, path, "workCountry", &self.work_country);
    }
}

record! {
    /// A008 — Notification of relevant information.
    ///
    /// Rules: the block matching the purpose is given (`change` or `severalStates`), the other not.
    pub struct A008 {
        person: Person => "person" req,
        purpose: A008Purpose => "purpose" req,
        change: Option<Change> => "change" opt,
        several_states: Option<SeveralStates> => "severalStates" opt,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

impl Validate for A008 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        match self.purpose {
            A008Purpose::Change => {
                if self.change.is_none() {
                    v::conditional(
                        out,
                        at(path, "change"),
                        "a change notification describes the change",
                    );
                }
                if self.several_states.is_some() {
                    v::conditional(
                        out,
                        at(path, "severalStates"),
                        "only a notification of work in several states has this block",
                    );
                }
            }
            A008Purpose::WorkInSeveralStates => {
                if self.several_states.is_none() {
                    v::conditional(
                        out,
                        at(path, "severalStates"),
                        "a notification of work in several states gives residence and start",
                    );
                }
                if self.change.is_some() {
                    v::conditional(
                        out,
                        at(path, "change"),
                        "only a change notification has this block",
                    );
                }
            }
        }
        if let Some(c) = &self.change {
            c.validate(&at(path, "change"), out);
        }
        if let Some(s) = &self.several_states {
            s.validate(&at(path, "severalStates"), out);
        }
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
    }
}

record! {
    /// A009 — Notification of posting (Art 12 Reg. 883/2004, Art 15 Reg. 987/2009).
    ///
    /// Rules: the article is 12(1) (with at least one employer) or 12(2) (with at least one
    /// self-employed activity); at least one work place, none in the legislation state (a posting is
    /// to another state); the person is born before the period. An open-ended period or one over 24
    /// months is *valid*: the receiving institution's checks turn it into a case-worker task.
    pub struct A009 {
        person: Person => "person" req,
        employer: Vec<Employer> => "employer" list,
        self_employment: Vec<Employer> => "selfEmployment" list,
        work_place: Vec<WorkPlace> => "workPlace" list,
        article: Article => "article" req,
        decision: Decision => "decision" req,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

impl Validate for A009 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        activities(out, path, &self.employer, &self.self_employment);
        article_in(
            out,
            at(path, "article"),
            self.article,
            &[Article::Art12_1, Article::Art12_2],
        );
        if self.article == Article::Art12_1 && self.employer.is_empty() {
            v::conditional(
                out,
                at(path, "employer"),
                "a posting under Art 12(1) names the employer",
            );
        }
        if self.article == Article::Art12_2 && self.self_employment.is_empty() {
            v::conditional(
                out,
                at(path, "selfEmployment"),
                "a posting under Art 12(2) names the self-employed activity",
            );
        }
        v::non_empty(out, at(path, "workPlace"), &self.work_place, "work place");
        v::each(out, path, "workPlace", &self.work_place);
        for (i, w) in self.work_place.iter().enumerate() {
            if w.country == self.decision.legislation_country {
                v::conditional(
                    out,
                    v::at_index(path, "workPlace", i) + "/country",
                    "a posting is to another state than the one whose legislation applies",
                );
            }
        }
        self.decision.validate(&at(path, "decision"), out);
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
        born_before(
            out,
            path,
            &self.person,
            self.decision.period.start_date,
            "posting",
        );
    }
}

record! {
    /// A010 — Notification of applicable legislation (Art 11, 15 Reg. 883/2004).
    ///
    /// Rules: the article is one of LA_BUC_05's (Art 11(3)–(5), 15); an open-ended period only for
    /// the duration of the activity; the person is born before the period.
    pub struct A010 {
        person: Person => "person" req,
        employer: Vec<Employer> => "employer" list,
        self_employment: Vec<Employer> => "selfEmployment" list,
        work_place: Vec<WorkPlace> => "workPlace" list,
        article: Article => "article" req,
        decision: Decision => "decision" req,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

impl Validate for A010 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        activities(out, path, &self.employer, &self.self_employment);
        v::each(out, path, "workPlace", &self.work_place);
        article_of_buc(
            out,
            at(path, "article"),
            self.article,
            crate::ids::BucType::LaBuc05,
        );
        self.decision.validate(&at(path, "decision"), out);
        open_only_for_duration(out, path, &self.decision);
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
        born_before(
            out,
            path,
            &self.person,
            self.decision.period.start_date,
            "period",
        );
    }
}

record! {
    /// A011 — Acceptance of request for exception (shape: our guess: the state, provision and period
    /// agreed).
    ///
    /// Rules: answers an A001; the article is 16(1) or 16(2); the granted period has an end.
    pub struct A011 {
        person: Person => "person" req,
        answers: DocumentRef => "answers" req,
        article: Article => "article" req,
        legislation_country: Country => "legislationCountry" req,
        granted_period: Period => "grantedPeriod" req,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

impl Validate for A011 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        reference_to(out, at(path, "answers"), &self.answers, &[SedType::A001]);
        article_in(
            out,
            at(path, "article"),
            self.article,
            &[Article::Art16_1, Article::Art16_2],
        );
        v::participating(
            out,
            at(path, "legislationCountry"),
            self.legislation_country,
        );
        self.granted_period
            .validate(&at(path, "grantedPeriod"), out);
        closed_period(out, at(path, "grantedPeriod"), &self.granted_period);
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
    }
}

record! {
    /// A012 — Approval of the determination of applicable legislation (shape: our guess).
    ///
    /// Rules: answers an A003.
    pub struct A012 {
        person: Person => "person" req,
        answers: DocumentRef => "answers" req,
        additional_information: Option<String> => "additionalInformation" opt,
    }
}

impl Validate for A012 {
    fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        self.person.validate(&at(path, "person"), out);
        reference_to(out, at(path, "answers"), &self.answers, &[SedType::A003]);
        v::opt_text(
            out,
            at(path, "additionalInformation"),
            self.additional_information.as_ref(),
            v::FREE_TEXT,
        );
    }
}
