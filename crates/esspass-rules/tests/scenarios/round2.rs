//! Second round: the law's answer when a posting condition fails, the new facts (hire-out, real
//! employer, agencies, extensions, permanent assignment, offshore work, the Art 15 option, the 2023
//! telework framework, unknown residence), the unreported posting, Art 13(3) without shares, the
//! states concerned and contestability. Each cites the judgment, article, Decision A2 point or
//! Practical Guide section it comes from.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::build::*;
use serde_json::{Value, json};

const A11: &str = "883/2004 Art 11(3)(a)";
const A12: &str = "883/2004 Art 12(1)";
const A16: &str = "883/2004 Art 16(1)";

fn p(v: Value, k: &str, x: Value) -> Value {
    set(v, &["activities", "0", "posting", k], x)
}

fn agency(placements: Option<bool>) -> Value {
    let v = set(georgios(), &["activities", "0", "employer", "temporary_work_agency"], json!(true));
    match placements {
        Some(b) => set(v, &["activities", "0", "employer", "agency_placements_in_seat_state"], json!(b)),
        None => v,
    }
}

fn real_employer(seat: &str) -> Value {
    json!({"name": format!("Real {seat}"), "seat": seat, "substantial_activity": indicators_ok()})
}

fn extends(host: &str, start: &str, end: &str, why: &str) -> Value {
    json!({"host_state": host, "start": start, "end": end, "interruption": why})
}

fn unreported(end: Option<&str>) -> Value {
    let period = match end {
        Some(e) => json!({"start": "2027-02-01", "end": e}),
        None => json!({"start": "2027-02-01"}),
    };
    app("GR", &["GR"], vec![json!({"kind": "employed", "period": period,
        "employer": {"name": "Athens Tech", "seat": "GR"}, "states": [{"country": "IT"}]})])
}

fn telework(home: f64) -> Value {
    with(app("BE", &["BE"], vec![employed("Maastricht BV", "NL", states(&[("BE", home, home), ("NL", 1.0 - home, 1.0 - home)]))]), |v| {
        v["exception_request"] = json!({"legislation_country": "NL", "period": {"start": "2027-01-01", "end": "2027-12-31"},
            "framework": "cross_border_telework_2023"});
    })
}

fn contract_staff(option: Value) -> Value {
    app("BE", &["IT"], vec![json!({"kind": "eu_contract_staff", "period": {"start": "2027-01-01", "end": "2029-12-31"},
        "states": [{"country": "BE"}], "contract_staff_option": option})])
}

fn offshore(shelf: Option<&str>) -> Value {
    let o = match shelf {
        Some(c) => json!({"continental_shelf_of": c}),
        None => json!({}),
    };
    app("DE", &["DE"], vec![json!({"kind": "employed", "period": {"start": "2027-01-01", "end": "2027-12-31"},
        "employer": {"name": "Offshore Wind BV", "seat": "NL"}, "offshore": o})])
}

pub fn second_round() -> Vec<Scenario> {
    vec![
        // ---- A posting condition fails: the law decides (Art 11(3)(a)), every failure cited
        sc("R2-01", "883/2004 Art 12(1); Guide Part I §12", "30 months anticipated: Italian legislation from the start, contestable",
            posting("2027-01-04", "2029-07-03"),
            det("IT", A11, "12").buc(Some("LA_BUC_05")).contestable(true).codes(&["R-12-1-DURATION-EXCEEDED", "R-12-CONDITIONS-NOT-MET", "R-16-SUGGESTED", "R-CONTESTABLE"])),
        sc("R2-02", "883/2004 Art 12(1); CJEU C-527/16 Alpenrind", "replaces a worker posted by another employer",
            p(georgios(), "replaces_posted_person", json!(true)),
            det("IT", A11, "12").contestable(true).codes(&["R-12-1-REPLACEMENT"])),
        sc("R2-03", "Decision A2 point 4", "hired out by the host undertaking to a third undertaking",
            p(p(georgios(), "hired_out_to_third_undertaking", json!(true)), "contract_with_host_undertaking", json!(false)),
            det("IT", A11, "12").contestable(true).codes(&["R-A2-4-HIRED-OUT"])),
        sc("R2-04", "Practical Guide (2013) Part I §4", "employment contract concluded with the host undertaking",
            p(georgios(), "contract_with_host_undertaking", json!(true)),
            det("IT", A11, "12").codes(&["R-12-1-CONTRACT-WITH-HOST"])),
        sc("R2-05", "987/2009 Art 14(1); Decision A2 point 1", "recruited in BG, insured there the day before the posting",
            p(georgios(), "prior_insurance", json!([{"country": "BG", "start": "2019-01-01", "end": "2027-01-03"}, {"country": "GR", "start": "2027-01-04"}])),
            det("IT", A11, "12").codes(&["R-14-1-NOT-INSURED-BEFORE"])),
        sc("R2-06", "987/2009 Art 14(2) ('other than purely internal management')", "letterbox employer: internal management only",
            set(georgios(), &["activities", "0", "employer", "substantial_activity", "internal_management_only"], json!(true)),
            det("IT", A11, "12").codes(&["R-14-2-INTERNAL-MANAGEMENT"])),
        sc("R2-07", "987/2009 Art 14(2); Decision A2 point 2", "temporary-work agency placing no workers in GR",
            agency(Some(false)), det("IT", A11, "12").codes(&["R-14-2-AGENCY-NO-PLACEMENTS"])),
        sc("R2-08", "987/2009 Art 14(2); Decision A2 point 2", "temporary-work agency with its own placements in GR",
            agency(Some(true)), det("GR", A12, "01").codes(&["R-14-2-AGENCY-PLACEMENTS"])),
        sc("R2-09", "Decision A2 point 2", "temporary-work agency, placements in GR not stated",
            agency(None), review(Some("GR"), Some(A12)).allowed(&["GR", "IT"]).codes(&["R-FACT-MISSING"])),
        sc("R2-10", "Practical Guide (2013) Part I §4; CJEU C-115/11 Format", "real employer (authority, pay, dismissal) is the Italian host",
            set(georgios(), &["activities", "0", "real_employer"], real_employer("IT")),
            det("IT", A11, "12").codes(&["R-REAL-EMPLOYER", "R-12-1-REAL-EMPLOYER-IN-HOST"])),
        sc("R2-11", "Practical Guide (2013) Part I §4; CJEU C-115/11 Format", "formal employer in CY, real employer in GR: GR's facts decide",
            set(set(georgios(), &["activities", "0", "employer", "seat"], json!("CY")), &["activities", "0", "real_employer"], real_employer("GR")),
            det("GR", A12, "01").concerned(&["CY", "GR", "IT"]).codes(&["R-REAL-EMPLOYER", "R-14-2-EMPLOYER-ACTIVE"])),
        sc("R2-12", "987/2009 Art 14(2); CJEU C-115/11 Format", "formal employer in GR, real employer in CY",
            set(georgios(), &["activities", "0", "real_employer"], real_employer("CY")),
            review(Some("GR"), Some(A12)).codes(&["R-12-1-EMPLOYER-ELSEWHERE"])),
        sc("R2-13", "883/2004 Art 12(1) ('anticipated duration')", "permanent assignment to IT: not a posting",
            p(unset(georgios(), &["activities", "0", "period", "end"]), "permanent_assignment", json!(true)),
            det("IT", A11, "12").end("2032-01-03").codes(&["R-12-PERMANENT", "R-PERIOD-REVIEW-DATE"])),
        sc("R2-14", "883/2004 Art 12(1)", "end date not known (not permanent): a person asks",
            p(unset(georgios(), &["activities", "0", "period", "end"]), "permanent_assignment", json!(false)),
            review(Some("GR"), Some(A12)).codes(&["R-12-OPEN-ENDED"])),
        sc("R2-15", "883/2004 Art 12(1); Guide Part I §7", "replacement decides although the indicators are missing",
            unset(p(georgios(), "replaces_posted_person", json!(true)), &["activities", "0", "employer", "substantial_activity"]),
            det("IT", A11, "12").codes(&["R-12-1-REPLACEMENT", "R-12-MOOT"])),
        sc("R2-16", "883/2004 Art 12(1); Guide Part I §§7, 12", "30 months and a replacement: both failures cited",
            p(posting("2027-01-04", "2029-07-03"), "replaces_posted_person", json!(true)),
            det("IT", A11, "12").codes(&["R-12-1-DURATION-EXCEEDED", "R-12-1-REPLACEMENT"])),
        sc("R2-17", "987/2009 Art 14(2); Guide Part I §3", "a failed condition moots a turnover indicator",
            set(p(georgios(), "on_behalf_of_employer", json!(false)), &["activities", "0", "employer", "substantial_activity", "turnover_share"], json!(0.1)),
            det("IT", A11, "12").codes(&["R-12-1-NOT-ON-BEHALF", "R-12-MOOT"])),
        sc("R2-18", "Decision A2 point 4; Guide Part I §4", "neither hired out nor under contract with the host: direct relationship",
            p(p(georgios(), "hired_out_to_third_undertaking", json!(false)), "contract_with_host_undertaking", json!(false)),
            det("GR", A12, "01").contestable(false).codes(&["R-12-1-DIRECT-RELATIONSHIP"])),
        sc("R2-19", "TCA Art SSC.11(1); CJEU C-527/16 Alpenrind", "UK detached worker replacing another: French legislation",
            p(posting_between("GB", "FR", "2027-01-04", "2027-12-31"), "replaces_posted_person", json!(true)),
            det("FR", "TCA Art SSC.10(3)(a)", "12").codes(&["R-12-1-REPLACEMENT"])),
        sc("R2-20", "EEA Agreement Annex VI; 883/2004 Art 12(1)", "NO→SE for 30 months: Swedish legislation",
            posting_between("NO", "SE", "2027-01-04", "2029-07-03"), det("SE", A11, "12").codes(&["R-SCOPE-EEA", "R-12-1-DURATION-EXCEEDED"])),
        sc("R2-21", "987/2009 Art 14(1); Decision A2 point 1", "no insurance recorded for the day before: uncertain, a person asks",
            p(georgios(), "prior_insurance", json!([{"country": "GR", "start": "2015-01-01", "end": "2026-10-31"}])),
            review(Some("GR"), Some(A12)).allowed(&["GR", "IT"]).codes(&["R-14-1-NO-RECORD"])),
        sc("R2-22", "987/2009 Art 14(2); Guide Part I §3", "an indicator under review: both outcomes the law allows are listed",
            set(georgios(), &["activities", "0", "employer", "substantial_activity", "turnover_share"], json!(0.2)),
            review(Some("GR"), Some(A12)).allowed(&["GR", "IT"]).contestable(false).codes(&["R-14-2-TURNOVER"])),

        // ---- Self-employed postings: only 987/2009 Art 14(3)-(4)
        sc("R2-23", "987/2009 Art 14(3)", "self-employed posting without the employee facts (insurance, earlier postings)",
            unset(unset(se_posting("2027-02-01", "2027-07-31"), &["activities", "0", "posting", "prior_insurance"]), &["activities", "0", "posting", "previous_postings"]),
            det("PL", "883/2004 Art 12(2)", "03").codes(&["R-14-3-ACTIVE-FOR-SOME-TIME", "R-14-4-SIMILAR"])),
        sc("R2-24", "883/2004 Art 12(2); 987/2009 Art 14(4)", "self-employed doing a different activity in DE",
            p(unset(se_posting("2027-02-01", "2027-07-31"), &["activities", "0", "posting", "prior_insurance"]), "similar_activity", json!(false)),
            det("DE", A11, "12").contestable(true).codes(&["R-14-4-NOT-SIMILAR"])),
        sc("R2-25", "987/2009 Art 14(3); Guide Part I §9", "self-employed too recently, and not similar: the failure decides",
            p(p(se_posting("2027-02-01", "2027-07-31"), "self_employed_since", json!("2027-01-15")), "similar_activity", json!(false)),
            det("DE", A11, "12").codes(&["R-14-4-NOT-SIMILAR", "R-12-MOOT"])),

        // ---- Extensions (Decision A2 point 3(c))
        sc("R2-26", "Decision A2 point 3(c); 883/2004 Art 12(1)", "extension within 24 months from the first certificate",
            p(posting("2027-07-01", "2028-12-31"), "extends", extends("IT", "2027-01-04", "2027-06-30", "none")),
            det("GR", A12, "01").codes(&["R-A2-3C-EXTENSION", "R-12-1-DURATION-OK"])),
        sc("R2-27", "Decision A2 point 3(c); Guide Part I §12", "extension beyond 24 months in total: Italian legislation",
            p(posting("2027-07-01", "2029-03-31"), "extends", extends("IT", "2027-01-04", "2027-06-30", "none")),
            det("IT", A11, "12").codes(&["R-A2-3C-EXTENSION", "R-12-1-DURATION-EXCEEDED"])),
        sc("R2-28", "Decision A2 point 3(c)", "an illness interruption neither restarts nor lengthens the 24 months",
            p(posting("2027-01-04", "2028-03-31"), "extends", extends("IT", "2026-03-02", "2026-12-15", "illness")),
            det("IT", A11, "12").codes(&["R-A2-3C-EXTENSION", "R-12-1-DURATION-EXCEEDED"])),
        sc("R2-29", "Decision A2 point 3(c)", "the certificate said to be extended was for FR",
            p(posting("2027-07-01", "2027-12-31"), "extends", extends("FR", "2027-01-04", "2027-06-30", "none")),
            review(Some("GR"), Some(A12)).codes(&["R-12-EXTENSION-OTHER-HOST"])),
        sc("R2-30", "Decision A2 point 3(c); Guide Part I §13", "the extended certificate listed among earlier postings is no gap problem",
            p(p(posting("2027-07-01", "2027-12-31"), "extends", extends("IT", "2027-01-04", "2027-06-30", "holiday")), "previous_postings",
                json!([{"host_state": "IT", "start": "2027-01-04", "end": "2027-06-30"}])),
            det("GR", A12, "01").codes(&["R-12-GAP-OK"])),

        // ---- The unreported posting
        sc("R2-31", "883/2004 Art 12(1); Guide Part I §1", "GR employer, GR resident, 10 months in IT, no posting stated: ask",
            unreported(Some("2027-11-30")), review(Some("IT"), Some(A11)).allowed(&["IT", "GR"]).codes(&["R-12-POSSIBLE-POSTING"])),
        sc("R2-32", "883/2004 Art 11(3)(a)", "the same, stated not to be a posting",
            set(unreported(Some("2027-11-30")), &["activities", "0", "posted"], json!(false)), det("IT", A11, "12").codes(&["R-11-3-A-ONE-STATE"])),
        sc("R2-33", "883/2004 Art 11(3)(a)", "the same, open-ended: no posting question",
            unreported(None), det("IT", A11, "12").codes(&["R-PERIOD-REVIEW-DATE"])),
        sc("R2-34", "883/2004 Art 11(3)(a)", "the same, but 30 months: a posting could not apply anyway",
            unreported(Some("2029-07-31")), det("IT", A11, "12")),

        // ---- Employed and self-employed (Art 13(3)): no shares needed for the self-employed part
        sc("R2-35", "883/2004 Art 13(3)", "employed in DE, self-employed in AT, no shares at all",
            app("AT", &["AT"], vec![employed("Passau GmbH", "DE", json!([{"country": "DE"}])), self_employed(json!([{"country": "AT"}]))]),
            det("DE", "883/2004 Art 13(3)", "08").codes(&["R-13-3-EMPLOYED-STATE"])),
        sc("R2-36", "883/2004 Art 13(3) with 13(1)(a)", "employed in NL and DE with shares, self-employed in BE without",
            app("NL", &["NL"], vec![employed("Arnhem BV", "NL", states(&[("NL", 0.3, 0.3)])), employed("Köln GmbH", "DE", states(&[("DE", 0.4, 0.4)])), self_employed(json!([{"country": "BE"}]))]),
            det("NL", "883/2004 Art 13(3)", "08")),
        sc("R2-37", "883/2004 Art 13(3)", "employed in LU, self-employed in FR (residence), no shares",
            app("FR", &["FR"], vec![employed("Banque LU", "LU", json!([{"country": "LU"}])), self_employed(json!([{"country": "FR"}]))]),
            det("LU", "883/2004 Art 13(3)", "08").concerned(&["FR", "LU"])),
        sc("R2-38", "883/2004 Art 13(3)", "the same as R2-35 with the shares: more facts, same answer",
            app("AT", &["AT"], vec![employed("Passau GmbH", "DE", states(&[("DE", 0.6, 0.6)])), self_employed(states(&[("AT", 0.4, 0.4)]))]),
            det("DE", "883/2004 Art 13(3)", "08")),

        // ---- Residence unknown: not rejected, a person decides
        sc("R2-39", "883/2004 Art 1(j); 987/2009 Art 11", "posting GR→IT, residence unknown",
            set(georgios(), &["person", "residence"], json!("unknown")), review(Some("GR"), Some(A12)).codes(&["R-FACT-MISSING"])),
        sc("R2-40", "883/2004 Art 13(1); 987/2009 Art 11", "work in BE and NL, residence unknown: no candidate",
            app("unknown", &["BE"], vec![employed("Rotterdam BV", "NL", states(&[("NL", 0.6, 0.6), ("BE", 0.4, 0.4)]))]),
            review(None, None).codes(&["R-FACT-MISSING"])),
        sc("R2-41", "883/2004 Art 11(3)(a); 987/2009 Art 11", "works in LU for a LU employer, residence unknown",
            app("unknown", &["FR"], vec![employed("Banque LU", "LU", json!([{"country": "LU"}]))]),
            review(Some("LU"), Some(A11)).codes(&["R-FACT-MISSING"])),

        // ---- Work outside the territory of any state
        sc("R2-42", "883/2004 Art 11(3)(a); CJEU C-347/10 Salemink", "wind-farm installation on the NL continental shelf",
            offshore(Some("NL")), det("NL", A11, "12").concerned(&["DE", "NL"]).codes(&["R-11-3-A-OFFSHORE"])),
        sc("R2-43", "CJEU C-347/10 Salemink", "installation outside any continental shelf",
            offshore(None), review(None, None).codes(&["R-11-OFFSHORE-OUTSIDE"])),
        sc("R2-44", "EEA Agreement Annex VI; CJEU C-347/10 Salemink", "platform on the Norwegian shelf",
            offshore(Some("NO")), det("NO", A11, "12").codes(&["R-SCOPE-EEA", "R-11-3-A-OFFSHORE"])),
        sc("R2-45", "883/2004 Art 11(4)", "ship outside territorial waters under the Danish flag",
            app("PL", &["PL"], vec![mariner("DK", "DK")]), det("DK", "883/2004 Art 11(4)", "07").codes(&["R-11-4-FLAG-STATE"])),
        sc("R2-56", "883/2004 Art 11(4), second sentence ('another Member State')", "Greek seafarer living in the US, paid by a US shipowner, on a Greek-flagged ship",
            app("US", &["GR"], vec![mariner("GR", "US")]), det("GR", "883/2004 Art 11(4)", "07").concerned(&["GR"]).codes(&["R-11-4-FLAG-STATE"])),

        // ---- EU contract staff: the Art 15 option
        sc("R2-46", "883/2004 Art 15; 987/2009 Art 15(2)", "contract staff opting for the state of employment (BE)",
            contract_staff(json!({"country": "BE", "basis": "employment_state"})), det("BE", "883/2004 Art 15", "06").codes(&["R-15-OPTION"])),
        sc("R2-47", "883/2004 Art 15", "contract staff opting for the state of nationality (IT)",
            contract_staff(json!({"country": "IT", "basis": "nationality"})), det("IT", "883/2004 Art 15", "06").concerned(&["BE", "IT"])),
        sc("R2-55", "883/2004 Art 15; 987/2009 Art 15(2)", "contract staff opting for the legislation last applicable (LU)",
            contract_staff(json!({"country": "LU", "basis": "last_legislation"})), det("LU", "883/2004 Art 15", "06").buc(Some("LA_BUC_05"))),
        sc("R2-48", "883/2004 Art 15", "option for FR on the ground of nationality, but the person is Italian",
            contract_staff(json!({"country": "FR", "basis": "nationality"})), review(None, None).codes(&["R-15-OPTION-NOT-OPEN"])),

        // ---- The 2023 framework agreement on cross-border telework (Art 16(1))
        sc("R2-49", "883/2004 Art 16(1); Framework Agreement on cross-border telework (2023)", "40 % telework in BE for a NL employer",
            telework(0.4), review(Some("NL"), Some(A16)).allowed(&["BE", "NL"]).codes(&["R-16-TELEWORK-FRAMEWORK", "R-16-1-REQUEST", "R-16-1-NORMAL-RULE"])),
        sc("R2-50", "883/2004 Art 16(1); Framework Agreement on cross-border telework (2023)", "60 % telework: outside the framework",
            telework(0.6), review(Some("NL"), Some(A16)).codes(&["R-16-TELEWORK-OUTSIDE-FRAMEWORK", "R-16-1-REQUEST"])),
        sc("R2-51", "883/2004 Art 13(1)(b)(i); Art 16(1)", "20 % telework: the ordinary rules already give NL",
            telework(0.2), det("NL", "883/2004 Art 13(1)(b)(i)", "02").codes(&["R-16-1-NOT-NEEDED"])),

        // ---- States concerned: residence, work, the employer's registered office
        sc("R2-52", "987/2009 Art 15(1), 16(1)", "FR resident working in LU for an employer seated in DE",
            app("FR", &["FR"], vec![employed("Trier GmbH", "DE", json!([{"country": "LU"}]))]),
            det("LU", A11, "12").concerned(&["DE", "FR", "LU"]).contestable(false)),
        sc("R2-53", "987/2009 Art 15(1)", "Georgios: GR and IT concerned, contest not needed",
            georgios(), det("GR", A12, "01").concerned(&["GR", "IT"]).contestable(false)),
        sc("R2-54", "883/2004 Art 12(1); GDPR Art 22(3)", "not applicable: outside the instruments, contestable",
            posting_between("DE", "US", "2027-01-04", "2027-12-31"), na().contestable(true).codes(&["R-CONTESTABLE"])),
    ]
}
