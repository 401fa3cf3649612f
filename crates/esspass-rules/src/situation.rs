//! The application seen the way the rules need it: activities in a canonical order (so their order
//! in the input never matters), where each activity is deemed to be pursued (flag state, home base),
//! shares per state, the states involved, and the common period of the activities.

use crate::application::{Activity, ActivityKind, Application, Share, Span, StateShare};
use esspass_core::{Country, Date};

/// A share criterion of 987/2009 Art 14(8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Criterion {
    WorkingTime,
    Remuneration,
    Turnover,
}

impl Criterion {
    pub const ALL: [Criterion; 3] = [Criterion::WorkingTime, Criterion::Remuneration, Criterion::Turnover];

    pub fn label(self) -> &'static str {
        match self {
            Criterion::WorkingTime => "working time",
            Criterion::Remuneration => "remuneration or income",
            Criterion::Turnover => "turnover",
        }
    }

    fn of(self, s: &StateShare) -> Option<Share> {
        match self {
            Criterion::WorkingTime => s.working_time_share,
            Criterion::Remuneration => s.remuneration_share,
            Criterion::Turnover => s.turnover_share,
        }
    }

    fn index(self) -> usize {
        match self {
            Criterion::WorkingTime => 0,
            Criterion::Remuneration => 1,
            Criterion::Turnover => 2,
        }
    }
}

/// One activity in canonical order, with its position in the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Act<'a> {
    pub index: usize,
    pub activity: &'a Activity,
}

impl<'a> Act<'a> {
    pub fn path(&self) -> String {
        format!("$.activities[{}]", self.index)
    }

    pub fn kind(&self) -> ActivityKind {
        self.activity.kind
    }
}

/// Where an activity counts as pursued, with its shares there (summed over the states listed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// Position in [`Situation::acts`].
    pub act: usize,
    pub country: Country,
    /// Per criterion (indexed by `Criterion::index`): the share, if given.
    pub shares: [Option<u64>; 3],
    /// How the state was arrived at.
    pub deemed: Deemed,
}

/// Why an entry's state is where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deemed {
    /// Where the activity is physically pursued.
    Actual,
    /// The flag state of the vessel (883/2004 Art 11(4), first sentence).
    Flag,
    /// The mariner's residence, where the paying undertaking is seated (Art 11(4), second sentence).
    MarinerEmployerResidence,
    /// The home base of flight or cabin crew (Art 11(5)).
    HomeBase,
    /// The state on whose continental shelf an installation stands (CJEU C-347/10 Salemink).
    Shelf,
}

impl Entry {
    pub fn share(&self, c: Criterion) -> Option<u64> {
        self.shares.get(c.index()).copied().flatten()
    }
}

/// The application, prepared.
pub(crate) struct Situation<'a> {
    pub app: &'a Application,
    /// Activities in canonical order.
    pub acts: Vec<Act<'a>>,
    /// Every participating state the application names, sorted.
    pub involved: Vec<Country>,
}

impl<'a> Situation<'a> {
    pub fn new(app: &'a Application) -> Self {
        let mut acts: Vec<Act<'a>> = app.activities.iter().enumerate().map(|(index, activity)| Act { index, activity }).collect();
        acts.sort_by(|a, b| a.activity.cmp(b.activity).then(a.index.cmp(&b.index)));
        let mut involved: Vec<Country> = Vec::with_capacity(8);
        let mut add = |c: Country| {
            if c.area().is_some() && !involved.contains(&c) {
                involved.push(c);
            }
        };
        if let Some(r) = app.person.residence {
            add(r);
        }
        for a in &app.activities {
            for c in activity_states(a) {
                add(c);
            }
            // The employer's registered office is told too (987/2009 Art 15(1), Art 16(1)).
            for e in a.employer.iter().chain(a.real_employer.iter()) {
                add(e.seat);
            }
        }
        if let Some(r) = &app.exception_request {
            add(r.legislation_country);
        }
        involved.sort();
        Situation { app, acts, involved }
    }

    /// The state of residence, when known.
    pub fn residence(&self) -> Option<Country> {
        self.app.person.residence
    }

    /// Where each of `acts` (positions in `self.acts`) counts as pursued.
    pub fn entries(&self, acts: &[usize]) -> Vec<Entry> {
        let mut out = Vec::with_capacity(acts.len() * 2);
        for &i in acts {
            let Some(act) = self.acts.get(i) else { continue };
            let a = act.activity;
            let deemed = if let Some(v) = &a.vessel {
                let seat = a.effective_employer().map(|e| e.seat);
                match seat {
                    // "another Member State": a paying undertaking outside the participating states
                    // leaves the flag state's legislation (first sentence).
                    Some(seat) if a.kind == ActivityKind::Employed && seat.area().is_some() && seat != v.flag && Some(seat) == self.residence() => {
                        Some((seat, Deemed::MarinerEmployerResidence))
                    }
                    _ => Some((v.flag, Deemed::Flag)),
                }
            } else if let Some(o) = &a.offshore {
                o.continental_shelf_of.map(|c| (c, Deemed::Shelf))
            } else {
                a.home_base.map(|b| (b, Deemed::HomeBase))
            };
            match deemed {
                Some((country, deemed)) => {
                    let mut shares = [None; 3];
                    for c in Criterion::ALL {
                        if let Some(slot) = shares.get_mut(c.index()) {
                            *slot = sum_all(&a.states, c);
                        }
                    }
                    out.push(Entry { act: i, country, shares, deemed });
                }
                None => {
                    for s in &a.states {
                        let mut shares = [None; 3];
                        for c in Criterion::ALL {
                            if let Some(slot) = shares.get_mut(c.index()) {
                                *slot = c.of(s).map(|x| u64::from(x.billionths()));
                            }
                        }
                        out.push(Entry { act: i, country: s.country, shares, deemed: Deemed::Actual });
                    }
                }
            }
        }
        out
    }
}

/// The shares of one criterion over all the states of a deemed activity, if every state gives it.
fn sum_all(states: &[StateShare], c: Criterion) -> Option<u64> {
    if states.is_empty() {
        return None;
    }
    states.iter().map(|s| c.of(s).map(|x| u64::from(x.billionths()))).sum()
}

/// Every state an activity names (where it is pursued, flag, home base, administration, sending state).
pub(crate) fn activity_states(a: &Activity) -> impl Iterator<Item = Country> + '_ {
    a.states
        .iter()
        .map(|s| s.country)
        .chain(a.vessel.as_ref().map(|v| v.flag))
        .chain(a.home_base)
        .chain(a.offshore.as_ref().and_then(|o| o.continental_shelf_of))
        .chain(a.administration)
        .chain(a.posting.as_ref().map(|p| p.sending_state))
}

/// The period in which all the given activities are pursued together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub start: Date,
    pub end: Option<Date>,
    /// Some activity runs outside the window.
    pub partial: bool,
}

/// The common window of the spans, or `None` when they do not overlap.
pub(crate) fn common_window<'s>(spans: impl Iterator<Item = &'s Span> + Clone) -> Option<Window> {
    let start = spans.clone().map(|s| s.start).max()?;
    let end = spans.clone().filter_map(|s| s.end).min();
    if end.is_some_and(|e| e < start) {
        return None;
    }
    let partial = spans.into_iter().any(|s| s.start < start || match (s.end, end) {
        (None, Some(_)) => true,
        (Some(a), Some(b)) => a > b,
        _ => false,
    });
    Some(Window { start, end, partial })
}

/// Start + 5 years − 1 day: the review date of an open-ended determination (DOMAIN §2.1).
pub(crate) fn review_date(start: Date) -> Option<Date> {
    start.add_months(60)?.pred()
}

/// The last day a posting starting on `start` may run: start + 24 months − 1 day, months added
/// calendar-wise and clamped to the month's last day (DOMAIN §3).
pub(crate) fn posting_limit(start: Date) -> Option<Date> {
    start.add_months(24)?.pred()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn twenty_four_months_minus_a_day() {
        assert_eq!(posting_limit(d("2027-01-04")), Some(d("2029-01-03")));
        assert_eq!(posting_limit(d("2024-02-29")), Some(d("2026-02-27")));
        assert_eq!(posting_limit(d("2024-01-31")), Some(d("2026-01-30")));
        assert_eq!(posting_limit(d("2025-03-01")), Some(d("2027-02-28")));
        assert_eq!(posting_limit(d("2027-03-01")), Some(d("2029-02-28")));
        assert_eq!(posting_limit(d("2028-03-01")), Some(d("2030-02-28")));
    }

    #[test]
    fn windows() {
        let a = Span { start: d("2027-01-01"), end: None };
        let b = Span { start: d("2027-03-01"), end: Some(d("2027-12-31")) };
        let w = common_window([a, b].iter()).unwrap();
        assert_eq!((w.start, w.end, w.partial), (d("2027-03-01"), Some(d("2027-12-31")), true));
        let c = Span { start: d("2028-01-01"), end: None };
        assert!(common_window([b, c].iter()).is_none());
        let w = common_window([a].iter()).unwrap();
        assert!(!w.partial && w.end.is_none());
    }
}
