//! Generators of applications for the property tests. They lean towards clean cases with one
//! fact changed on or next to its boundary, so that every article is reached.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::oracle::plus_months;
use esspass_core::{Country, Date};
use esspass_rules::{
    Activity, ActivityKind, Application, Employer, ExceptionRequest, Extension, Interruption, InsurancePeriod, Person, Posting, PreviousPosting, Share, Span, StateShare,
    SubstantialActivity, Vessel,
};
use proptest::prelude::*;
use serde_json::Value;

pub const COUNTRIES: &[&str] = &["GR", "IT", "DE", "FR", "BE", "NL", "LU", "AT", "PL", "SK", "DK", "SE", "NO", "CH", "GB", "IE", "US"];

pub fn country() -> impl Strategy<Value = Country> {
    prop::sample::select(COUNTRIES).prop_map(|c| Country::parse(c).unwrap())
}

pub fn day(offset: i64) -> Date {
    Date::parse("2025-01-01").unwrap().add_days(offset).unwrap()
}

pub fn date() -> impl Strategy<Value = Date> {
    (0i64..1500).prop_map(day)
}

pub fn opt<T: std::fmt::Debug + Clone>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop_oneof![1 => Just(None), 5 => s.prop_map(Some)]
}

/// Shares that sit on and around the thresholds more often than chance would.
pub fn share() -> impl Strategy<Value = Share> {
    prop_oneof![
        3 => prop::sample::select(&[0u32, 30_000_000, 49_999_999, 50_000_000, 100_000_000, 249_000_000, 250_000_000, 251_000_000, 499_000_000, 500_000_000, 501_000_000, 750_000_000, 1_000_000_000][..]),
        1 => 0u32..=1_000_000_000,
    ]
    .prop_map(|n| Share::from_billionths(n).unwrap())
}

pub fn indicators() -> impl Strategy<Value = SubstantialActivity> {
    (opt(share()), opt(share()), opt(share()), opt(any::<bool>()), opt(any::<bool>())).prop_map(|(t, a, c, r, i)| SubstantialActivity {
        turnover_share: t,
        administrative_staff_share: a,
        contracts_share: c,
        recruitment_mainly_abroad: r,
        internal_management_only: i,
    })
}

pub fn employer() -> impl Strategy<Value = Employer> {
    (prop::sample::select(&["Alpha", "Beta", "Gamma"][..]), opt(prop::sample::select(&["X1", "X2"][..])), country(), opt(indicators())).prop_map(
        |(name, id, seat, sa)| Employer { name: name.to_string(), id: id.map(str::to_string), seat, substantial_activity: sa, temporary_work_agency: false, agency_placements_in_seat_state: None },
    )
}

pub fn insurance() -> impl Strategy<Value = InsurancePeriod> {
    (country(), date(), opt(0i64..800)).prop_map(|(country, start, len)| InsurancePeriod { country, start, end: len.and_then(|l| start.add_days(l)) })
}

pub fn previous() -> impl Strategy<Value = PreviousPosting> {
    (country(), date(), 0i64..400).prop_map(|(host_state, start, len)| PreviousPosting { host_state, start, end: start.add_days(len).unwrap() })
}

/// Raw material for one activity; shares are weights, normalised over the whole application later.
/// The generator leans towards clean cases with one fact changed, so that every article is reached
/// and its boundaries are crossed.
#[derive(Debug, Clone)]
pub struct RawActivity {
    kind: ActivityKind,
    same_period: bool,
    start: Date,
    len: Option<i64>,
    employer: Employer,
    seat_at_home: bool,
    administration: Option<Country>,
    states: Vec<(Country, [u32; 3])>,
    include_residence: Option<[u32; 3]>,
    posting: Option<RawPosting>,
    deemed: u8,
    deemed_state: Country,
}

#[derive(Debug, Clone)]
pub struct RawPosting {
    host: Country,
    clean: bool,
    tweak: u8,
    len: i64,
    random: Posting,
}

pub fn posting_facts() -> impl Strategy<Value = Posting> {
    (
        country(),
        opt(any::<bool>()),
        opt(any::<bool>()),
        opt(prop::collection::vec(insurance(), 0..3)),
        opt(prop::collection::vec(previous(), 0..3)),
        opt(date()),
        opt(any::<bool>()),
        opt(any::<bool>()),
    )
        .prop_map(|(from, ob, rep, ins, prev, since, sim, maint)| Posting {
            sending_state: from,
            on_behalf_of_employer: ob,
            replaces_posted_person: rep,
            prior_insurance: ins,
            previous_postings: prev,
            self_employed_since: since,
            similar_activity: sim,
            maintains_business_in_sending_state: maint,
            hired_out_to_third_undertaking: None,
            contract_with_host_undertaking: None,
            permanent_assignment: None,
            extends: None,
        })
}

pub fn raw_posting() -> impl Strategy<Value = RawPosting> {
    (country(), prop::bool::weighted(0.7), 0u8..16, prop_oneof![3 => 30i64..700, 1 => 700i64..760], posting_facts())
        .prop_map(|(host, clean, tweak, len, random)| RawPosting { host, clean, tweak, len, random })
}

pub fn weights() -> impl Strategy<Value = [u32; 3]> {
    let w = || prop_oneof![1 => Just(0u32), 6 => 1u32..5];
    (w(), w(), w()).prop_map(|(a, b, c)| [a, b, c])
}

pub fn raw_activity() -> impl Strategy<Value = RawActivity> {
    let kind = prop_oneof![10 => Just(ActivityKind::Employed), 4 => Just(ActivityKind::SelfEmployed), 2 => Just(ActivityKind::CivilServant), 1 => Just(ActivityKind::EuContractStaff)];
    (
        (kind, prop::bool::weighted(0.75), date(), opt(0i64..1200)),
        (employer(), any::<bool>(), opt(country())),
        (prop::collection::vec((country(), weights()), 1..4), prop::option::weighted(0.5, weights())),
        (prop::option::weighted(0.35, raw_posting()), 0u8..20, country()),
    )
        .prop_map(|((kind, same_period, start, len), (employer, seat_at_home, administration), (ws, include_residence), (posting, deemed, deemed_state))| {
            let mut states: Vec<(Country, [u32; 3])> = Vec::new();
            for (c, w) in ws {
                if !states.iter().any(|(x, _)| *x == c) {
                    states.push((c, w));
                }
            }
            RawActivity { kind, same_period, start, len, employer, seat_at_home, administration, states, include_residence, posting, deemed, deemed_state }
        })
}

pub fn application() -> impl Strategy<Value = Application> {
    (
        (date(), country(), prop::collection::vec(country(), 0..3), 0u8..12, opt(any::<bool>())),
        prop::collection::vec(raw_activity(), 1..4),
        prop::sample::select(&[[true, true, false], [true, false, false], [false, true, false], [true, true, true], [false, false, false]][..]),
        prop::option::weighted(0.1, (any::<usize>(), 0usize..3)),
        prop::option::weighted(0.15, (country(), date(), opt(0i64..2500))),
    )
        .prop_map(|((decision_date, residence, nats, who, lr), raws, mask, drop, exc)| {
            let first_period = raws.first().map(|r| (r.start, r.len));
            let activities: Vec<Activity> = raws.into_iter().map(|r| build(r, residence, first_period)).collect();
            let (nationalities, stateless, refugee) = match who {
                0 => (Vec::new(), true, false),
                1 => (Vec::new(), false, true),
                2 | 3 => (nats, false, false),
                _ => (vec![residence], false, false),
            };
            let mut app = Application {
                decision_date,
                reference: None,
                person: Person { residence: Some(residence), nationalities, stateless, refugee, legally_resident: lr },
                activities,
                exception_request: exc.map(|(c, s, l)| ExceptionRequest {
                    legislation_country: c,
                    period: Span { start: s, end: l.and_then(|l| s.add_days(l)) },
                    grounds: None,
                    framework: None,
                }),
            };
            // Which share criteria are given (for every state), and now and then one left out.
            for a in &mut app.activities {
                for st in &mut a.states {
                    if !mask[0] { st.working_time_share = None; }
                    if !mask[1] { st.remuneration_share = None; }
                    if !mask[2] { st.turnover_share = None; }
                }
            }
            if let Some((i, c)) = drop {
                let n: usize = app.activities.iter().map(|a| a.states.len()).sum();
                if let Some(st) = app.activities.iter_mut().flat_map(|a| a.states.iter_mut()).nth(i % n.max(1)) {
                    match c {
                        0 => st.working_time_share = None,
                        1 => st.remuneration_share = None,
                        _ => st.turnover_share = None,
                    }
                }
            }
            normalise_shares(&mut app);
            app
        })
}

pub fn ok_indicators() -> SubstantialActivity {
    let s = |n: u32| Share::from_billionths(n);
    SubstantialActivity {
        turnover_share: s(800_000_000),
        administrative_staff_share: s(100_000_000),
        contracts_share: s(900_000_000),
        recruitment_mainly_abroad: Some(false),
        internal_management_only: Some(false),
    }
}

/// One activity that parses: the structure the parser requires, facts clean or left to chance.
pub fn build(r: RawActivity, residence: Country, first: Option<(Date, Option<i64>)>) -> Activity {
    use ActivityKind::*;
    let (start, len) = match first {
        Some(p) if r.same_period => p,
        _ => (r.start, r.len),
    };
    let mut period = Span { start, end: len.and_then(|l| start.add_days(l)) };
    let weight = |w: u32| Share::from_billionths(w);
    let mut states: Vec<StateShare> = r
        .states
        .iter()
        .map(|(c, w)| StateShare { country: *c, working_time_share: weight(w[0]), remuneration_share: weight(w[1]), turnover_share: weight(w[2]) })
        .collect();
    if let Some(w) = r.include_residence
        && !states.iter().any(|s| s.country == residence) {
            states.push(StateShare { country: residence, working_time_share: weight(w[0]), remuneration_share: weight(w[1]), turnover_share: weight(w[2]) });
        }
    let mut employer = r.employer;
    if r.seat_at_home {
        employer.seat = residence;
    }
    let mut a = Activity {
        kind: r.kind,
        period,
        employer: None,
        administration: None,
        states: Vec::new(),
        posting: None,
        vessel: None,
        home_base: None,
        real_employer: None,
        offshore: None,
        posted: None,
        contract_staff_option: None,
    };
    match r.kind {
        Employed => a.employer = Some(employer.clone()),
        CivilServant => a.administration = r.administration.or(Some(r.deemed_state)),
        SelfEmployed | EuContractStaff => {}
    }
    if matches!(r.kind, Employed | SelfEmployed) {
        match r.deemed {
            0 => a.vessel = Some(Vessel { flag: r.deemed_state }),
            1 => a.home_base = Some(r.deemed_state),
            _ => {}
        }
        if let (Some(rp), None, None) = (r.posting, &a.vessel, a.home_base) {
            let employed = r.kind == Employed;
            let sending = if employed { employer.seat } else { residence };
            let mut p = if rp.clean {
                period.end = start.add_days(rp.len);
                Posting {
                    sending_state: sending,
                    on_behalf_of_employer: employed.then_some(true),
                    replaces_posted_person: employed.then_some(false),
                    prior_insurance: Some(vec![InsurancePeriod { country: sending, start: start.add_days(-2000).unwrap(), end: None }]),
                    previous_postings: Some(Vec::new()),
                    self_employed_since: (!employed).then(|| start.add_days(-900).unwrap()),
                    similar_activity: (!employed).then_some(true),
                    maintains_business_in_sending_state: (!employed).then_some(true),
                    hired_out_to_third_undertaking: None,
                    contract_with_host_undertaking: None,
                    permanent_assignment: None,
                    extends: None,
                }
            } else {
                rp.random
            };
            if rp.clean && employed
                && let Some(e) = a.employer.as_mut() {
                    e.substantial_activity = Some(ok_indicators());
                }
            // One fact changed, on or next to its boundary.
            match rp.tweak {
                0 => p.replaces_posted_person = p.replaces_posted_person.map(|_| true),
                1 => p.prior_insurance = Some(vec![InsurancePeriod { country: sending, start: plus_months(start, -1).add_days(i64::from(rp.len % 2 == 0)).unwrap(), end: None }]),
                2 => p.previous_postings = Some(vec![PreviousPosting { host_state: rp.host, start: start.add_days(-300).unwrap(), end: plus_months(start, -2).add_days(-1 + i64::from(rp.len % 3 == 0)).unwrap() }]),
                3 => {
                    if let Some(sa) = a.employer.as_mut().and_then(|e| e.substantial_activity.as_mut()) {
                        sa.turnover_share = Share::from_billionths(if rp.len % 2 == 0 { 250_000_000 } else { 249_000_000 });
                    }
                }
                4 => p.self_employed_since = p.self_employed_since.map(|_| plus_months(start, -2).add_days(i64::from(rp.len % 2 == 0)).unwrap()),
                5 => period.end = Some(plus_months(start, 24).add_days(-1 + i64::from(rp.len % 2 == 0)).unwrap()),
                6 => p.previous_postings = None,
                // The second round's facts: clear failures and their absence.
                7 => p.hired_out_to_third_undertaking = employed.then_some(rp.len % 2 == 0),
                8 => p.contract_with_host_undertaking = employed.then_some(rp.len % 2 == 0),
                9 => {
                    if let Some(e) = a.employer.as_mut() {
                        e.temporary_work_agency = true;
                        e.agency_placements_in_seat_state = Some(rp.len % 2 == 0);
                    }
                }
                10 => {
                    p.permanent_assignment = Some(true);
                    period.end = None;
                }
                11 => p.extends = Some(Extension { host_state: rp.host, start: start.add_days(-(rp.len % 400)).unwrap(), end: start.add_days(-1).unwrap(), interruption: Interruption::Illness }),
                12 => p.prior_insurance = Some(vec![InsurancePeriod { country: rp.host, start: start.add_days(-400).unwrap(), end: None }]),
                _ => {}
            }
            if !employed {
                p.on_behalf_of_employer = None;
                p.replaces_posted_person = None;
            } else {
                p.self_employed_since = None;
                p.similar_activity = None;
                p.maintains_business_in_sending_state = None;
            }
            a.period = period;
            states = vec![StateShare { country: rp.host, working_time_share: weight(1), remuneration_share: weight(1), turnover_share: weight(1) }];
            a.posting = Some(p);
        }
    }
    a.states = states;
    a
}

/// Turn weights into shares of the person's total that add up to exactly one, per criterion.
pub fn normalise_shares(app: &mut Application) {
    for crit in 0..3 {
        let get = |s: &StateShare| match crit {
            0 => s.working_time_share,
            1 => s.remuneration_share,
            _ => s.turnover_share,
        };
        let total: u64 = app.activities.iter().flat_map(|a| &a.states).filter_map(get).map(|x| u64::from(x.billionths())).sum();
        let mut assigned = 0u64;
        let mut first: Option<(usize, usize)> = None;
        for (ai, a) in app.activities.iter_mut().enumerate() {
            for (si, s) in a.states.iter_mut().enumerate() {
                let slot = match crit {
                    0 => &mut s.working_time_share,
                    1 => &mut s.remuneration_share,
                    _ => &mut s.turnover_share,
                };
                if let Some(w) = *slot {
                    if total == 0 {
                        *slot = None;
                        continue;
                    }
                    let v = u64::from(w.billionths()) * 1_000_000_000 / total;
                    assigned += v;
                    *slot = Share::from_billionths(v as u32);
                    first.get_or_insert((ai, si));
                }
            }
        }
        if let Some((ai, si)) = first
            && let Some(s) = app.activities.get_mut(ai).and_then(|a| a.states.get_mut(si)) {
                let slot = match crit {
                    0 => &mut s.working_time_share,
                    1 => &mut s.remuneration_share,
                    _ => &mut s.turnover_share,
                };
                if let Some(v) = *slot {
                    *slot = Share::from_billionths(v.billionths() + (1_000_000_000 - assigned) as u32);
                }
            }
    }
}

pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-2.0f64..2.0).prop_map(Value::from),
        "[A-Z]{2}|[0-9]{4}-[0-9]{2}-[0-9]{2}|\\PC{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replace the value at a pseudo-random place in `v`.
pub fn mutate(v: &mut Value, pick: usize, new: Value) {
    let descend = !pick.is_multiple_of(3);
    let rest = pick / 3;
    match v {
        Value::Object(m) if !m.is_empty() => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = keys[rest % keys.len()].clone();
            let rest = rest / keys.len();
            match m.get_mut(&k) {
                Some(child) if descend => mutate(child, rest, new),
                _ => {
                    m.insert(k, new);
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let i = rest % a.len();
            let rest = rest / a.len();
            if descend {
                mutate(&mut a[i], rest, new);
            } else {
                a[i] = new;
            }
        }
        other => *other = new,
    }
}
