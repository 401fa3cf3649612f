//! The rules of each BUC, as data.
//!
//! | BUC | starting SED (case owner) | then | replies | auto-closes (case owner) |
//! |---|---|---|---|---|
//! | LA_BUC_01 | A001 | A005 (any) | A002 or A011 to A001 (counterparty); A006 to A005 | 60 days after A002/A011 received, quiet 60 days |
//! | LA_BUC_02 | A003 | A003 revised (owner), A007 (any), A005 (any) | A004 or A012 to A003 (counterparty); A006 to A005 | 60 days after the last A003 sent, unless an A004 came after it |
//! | LA_BUC_03 | A008 | A008 (owner), A005 (any) | A006 to A005 | 30 days after A008 sent |
//! | LA_BUC_04 (bilateral) | A009 | A009 change (owner), A005 (any) | A006 to A005 | 30 days after A009 sent |
//! | LA_BUC_05 | A010 | A010 change (owner), A005 (any) | A006 to A005 | 30 days after A010 sent |
//! | LA_BUC_06 | A005 | A005 (owner) | A006 to A005 (counterparty) | 30 days after A006 received |
//! | H_BUC_01 | H001 | H001 (any) | H002 to H001 | 30 days after H002 received |
//!
//! In every BUC, once started: X001 closes the case (case owner only); X008 invalidates a document
//! its sender sent; X009 reminds the addressees of requests the sender sent that they have not
//! answered, X010 answers a reminder; X011 rejects a received document (and counts as its answer);
//! X050 reports a business exception (any participant). An auto-closure also needs every request
//! other than the trigger's to be answered, and the case quiet (nothing sent or received) for the
//! same number of days. Reminders fall due 30 days after a request (60 for A001) and again 30/60
//! days after the last X009 for it; A003 has none (silence is approval).
//!
//! Sources: the BUC purposes and starting SEDs, LA_BUC_04 being the only bilateral LA BUC, the
//! reply pairs (A001→A002/A011, A003→A004/A012, A005→A006, H001→H002), and the auto-closure of
//! LA_BUC_01 (60 days), LA_BUC_03 (30 days after A008 sent) and LA_BUC_06 (30 days after A006)
//! come from `shared/spec/research/eessi.md` §1.3–1.8 (NAV's `BucType.kt`, `BUC.kt`
//! `kanLukkesAutomatisk`, `LukkBucService.kt`); LA_BUC_02's two months is 987/2009 Art 16 as NAV
//! practises it ("closes passively after ~8 weeks"). **Guesses**, not found in any source: the
//! 30-day closure of LA_BUC_04, LA_BUC_05 and H_BUC_01; the reminder periods; who may send A005,
//! A007 and follow-up A008/A009/A010/H001; that counterparties address only the case owner; that
//! only the case owner closes (NAV's job closes only cases it owns).

use crate::ids::{BucType, SedType};

/// Which participants may send a SED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    CaseOwner,
    CounterParty,
    Any,
}

/// When a SED may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// As the first document of the case.
    Start,
    /// At any time once the case is started and while it is open.
    AfterStart,
    /// In answer to a document of one of these types that the sender received and has not
    /// answered yet.
    ReplyTo(&'static [SedType]),
    /// Invalidating a document the sender sent (X008).
    Invalidates,
    /// Reminding the addressees of requests the sender sent that they have not answered (X009).
    Reminds,
    /// Rejecting a document the sender received (X011).
    Rejects,
}

/// One line of a BUC's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SedRule {
    pub sed: SedType,
    pub sender: Sender,
    pub when: When,
    /// Sending it closes the case.
    pub closes: bool,
}

/// What starts the clock of an automatic closure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The case owner sent a document of one of these types.
    Sent(&'static [SedType]),
    /// The case owner received a document of one of these types.
    Received(&'static [SedType]),
}

/// When the case owner closes a case without being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoClose {
    pub trigger: Trigger,
    /// Days after the (latest) trigger document, and days of quiet, before closure is due.
    pub days: i64,
    /// Closure is not due if a document of one of these types was received after the trigger.
    pub unless_received: &'static [SedType],
}

/// The rules of one BUC type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucSpec {
    pub buc: BucType,
    pub starter: SedType,
    /// A bilateral BUC has exactly one counterparty.
    pub bilateral: bool,
    pub rules: &'static [SedRule],
    pub auto_close: AutoClose,
    /// Days after which an unanswered request is due a reminder (X009), per request type.
    pub reminders: &'static [(SedType, i64)],
}

impl BucSpec {
    /// Whether the BUC uses the SED type at all.
    pub fn uses(&self, t: SedType) -> bool {
        self.rules.iter().any(|r| r.sed == t) || ADMIN.iter().any(|r| r.sed == t)
    }

    /// All rules, the BUC's own and the administrative ones every BUC shares.
    pub fn all_rules(&self) -> impl Iterator<Item = &'static SedRule> {
        self.rules.iter().chain(ADMIN.iter())
    }

    /// The SED types that answer a request of type `t` (X011 aside).
    pub fn answers_to(&self, t: SedType) -> Vec<SedType> {
        self.all_rules()
            .filter(|r| matches!(r.when, When::ReplyTo(to) if to.contains(&t)))
            .map(|r| r.sed)
            .collect()
    }

    /// Whether a document of type `t` is a request that its addressees are expected to answer.
    pub fn is_request(&self, t: SedType) -> bool {
        !self.answers_to(t).is_empty()
    }
}

const fn rule(sed: SedType, sender: Sender, when: When) -> SedRule {
    SedRule {
        sed,
        sender,
        when,
        closes: false,
    }
}

use SedType::*;
use Sender::{Any, CaseOwner, CounterParty};
use When::{AfterStart, ReplyTo, Start};

/// The case administration SEDs, the same in every BUC.
pub const ADMIN: &[SedRule] = &[
    SedRule {
        sed: X001,
        sender: CaseOwner,
        when: AfterStart,
        closes: true,
    },
    rule(X008, Any, When::Invalidates),
    rule(X009, Any, When::Reminds),
    rule(X010, Any, ReplyTo(&[X009])),
    rule(X011, Any, When::Rejects),
    rule(X050, Any, AfterStart),
];

const MORE_INFO_ASK: SedRule = rule(A005, Any, AfterStart);
const MORE_INFO_REPLY: SedRule = rule(A006, Any, ReplyTo(&[A005]));

pub const LA_BUC_01: BucSpec = BucSpec {
    buc: BucType::LaBuc01,
    starter: A001,
    bilateral: false,
    rules: &[
        rule(A001, CaseOwner, Start),
        rule(A002, CounterParty, ReplyTo(&[A001])),
        rule(A011, CounterParty, ReplyTo(&[A001])),
        MORE_INFO_ASK,
        MORE_INFO_REPLY,
    ],
    auto_close: AutoClose {
        trigger: Trigger::Received(&[A002, A011]),
        days: 60,
        unless_received: &[],
    },
    reminders: &[(A001, 60), (A005, 30)],
};

pub const LA_BUC_02: BucSpec = BucSpec {
    buc: BucType::LaBuc02,
    starter: A003,
    bilateral: false,
    rules: &[
        rule(A003, CaseOwner, Start),
        rule(A003, CaseOwner, AfterStart),
        rule(A004, CounterParty, ReplyTo(&[A003])),
        rule(A012, CounterParty, ReplyTo(&[A003])),
        rule(A007, Any, AfterStart),
        MORE_INFO_ASK,
        MORE_INFO_REPLY,
    ],
    auto_close: AutoClose {
        trigger: Trigger::Sent(&[A003]),
        days: 60,
        unless_received: &[A004],
    },
    reminders: &[(A005, 30)],
};

pub const LA_BUC_03: BucSpec = BucSpec {
    buc: BucType::LaBuc03,
    starter: A008,
    bilateral: false,
    rules: &[
        rule(A008, CaseOwner, Start),
        rule(A008, CaseOwner, AfterStart),
        MORE_INFO_ASK,
        MORE_INFO_REPLY,
    ],
    auto_close: AutoClose {
        trigger: Trigger::Sent(&[A008]),
        days: 30,
        unless_received: &[],
    },
    reminders: &[(A005, 30)],
};

pub const LA_BUC_04: BucSpec = BucSpec {
    buc: BucType::LaBuc04,
    starter: A009,
    bilateral: true,
    rules: &[
        rule(A009, CaseOwner, Start),
        rule(A009, CaseOwner, AfterStart),
        MORE_INFO_ASK,
        MORE_INFO_REPLY,
    ],
    auto_close: AutoClose {
        trigger: Trigger::Sent(&[A009]),
        days: 30,
        unless_received: &[],
    },
    reminders: &[(A005, 30)],
};

pub const LA_BUC_05: BucSpec = BucSpec {
    buc: BucType::LaBuc05,
    starter: A010,
    bilateral: false,
    rules: &[
        rule(A010, CaseOwner, Start),
        rule(A010, CaseOwner, AfterStart),
        MORE_INFO_ASK,
        MORE_INFO_REPLY,
    ],
    auto_close: AutoClose {
        trigger: Trigger::Sent(&[A010]),
        days: 30,
        unless_received: &[],
    },
    reminders: &[(A005, 30)],
};

pub const LA_BUC_06: BucSpec = BucSpec {
    buc: BucType::LaBuc06,
    starter: A005,
    bilateral: false,
    rules: &[
        rule(A005, CaseOwner, Start),
        rule(A005, CaseOwner, AfterStart),
        rule(A006, CounterParty, ReplyTo(&[A005])),
    ],
    auto_close: AutoClose {
        trigger: Trigger::Received(&[A006]),
        days: 30,
        unless_received: &[],
    },
    reminders: &[(A005, 30)],
};

pub const H_BUC_01: BucSpec = BucSpec {
    buc: BucType::HBuc01,
    starter: H001,
    bilateral: false,
    rules: &[
        rule(H001, CaseOwner, Start),
        rule(H001, Any, AfterStart),
        rule(H002, Any, ReplyTo(&[H001])),
    ],
    auto_close: AutoClose {
        trigger: Trigger::Received(&[H002]),
        days: 30,
        unless_received: &[],
    },
    reminders: &[(H001, 30)],
};

/// The rules of a BUC type.
pub fn spec(buc: BucType) -> &'static BucSpec {
    match buc {
        BucType::LaBuc01 => &LA_BUC_01,
        BucType::LaBuc02 => &LA_BUC_02,
        BucType::LaBuc03 => &LA_BUC_03,
        BucType::LaBuc04 => &LA_BUC_04,
        BucType::LaBuc05 => &LA_BUC_05,
        BucType::LaBuc06 => &LA_BUC_06,
        BucType::HBuc01 => &H_BUC_01,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_consistent() {
        for b in BucType::ALL {
            let s = spec(*b);
            assert_eq!(s.buc, *b);
            let starts: Vec<_> = s.rules.iter().filter(|r| r.when == Start).collect();
            assert_eq!(starts.len(), 1, "{b} has one starting rule");
            assert_eq!(starts[0].sed, s.starter);
            assert_eq!(starts[0].sender, CaseOwner);
            for (t, days) in s.reminders {
                assert!(
                    s.is_request(*t),
                    "{b}: reminders for {t}, which nothing answers"
                );
                assert!(*days > 0);
            }
            assert!(s.uses(X001) && s.uses(X050));
        }
        assert!(spec(BucType::LaBuc04).bilateral);
        assert_eq!(
            BucType::ALL.iter().filter(|b| spec(**b).bilateral).count(),
            1
        );
        assert_eq!(LA_BUC_01.answers_to(A001), vec![A002, A011]);
        assert!(!LA_BUC_04.uses(A001) && !H_BUC_01.uses(A009));
    }
}
