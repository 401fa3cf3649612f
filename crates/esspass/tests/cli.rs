//! The `esspass` command as a user drives it: exit codes, JSON output, the demo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn esspass(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esspass")).args(args).current_dir(root()).output().unwrap()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("esspass-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

/// `esspass demo --exit --json`: the whole network in one process over HTTPS, both journeys
/// through the nodes' interfaces; every step asserted from the JSON.
#[test]
fn demo_runs_both_journeys_end_to_end() {
    let d = tmp("demo");
    let data = d.join("data");
    let o = esspass(&["demo", "--exit", "--json", "--any-ports", "--data-dir", data.to_str().unwrap()]);
    let v = json(&o);
    assert!(o.status.success(), "{v:#}\n{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(v["ok"], true, "{v:#}");
    let steps = v["steps"].as_array().unwrap();
    let of = |j: &str| steps.iter().filter(|s| s["journey"] == j).collect::<Vec<_>>();
    let (ziva, georgios) = (of("ziva"), of("georgios"));
    assert_eq!((ziva.len(), georgios.len()), (5, 9), "{v:#}");
    for s in steps {
        assert_eq!(s["ok"], true, "{s:#}");
        assert!(!s["checks"].as_array().unwrap().is_empty(), "every step says what it checked: {s:#}");
        assert!(s["millis"].as_u64().is_some() && s["country"].as_str().is_some_and(|c| c.len() == 2));
    }
    // Živa: the gateway hands her to ZZZS; her PID sign-in discloses only what matching needs; the
    // hospital sees its profile's claims only; the proof verifies against her document.
    assert_eq!(ziva[0]["details"]["institution_id"], "SI:ZZZS", "{:#}", ziva[0]);
    // (As her web wallet's consent page names them, in Slovenian: names, birth date, personal number.)
    let disclosed = ziva[2]["details"]["disclosed_for_sign_in"].as_array().unwrap();
    assert_eq!(disclosed.len(), 4, "{disclosed:?}");
    assert!(disclosed.iter().all(|d| ["Priimek", "Ime", "Datum rojstva", "Osebna številka"].contains(&d.as_str().unwrap())), "{disclosed:?}");
    assert_eq!(ziva[3]["details"]["outcome"], "valid");
    assert_eq!(ziva[4]["details"]["outcome"], "valid");
    // Georgios: decided by the rules engine under Art 12(1); the A009 registered at INPS; the
    // inspection valid, the withdrawal notified with an X008, the next inspection revoked.
    assert_eq!((georgios[1]["details"]["state"].as_str(), georgios[1]["details"]["article"].as_str()), (Some("determined"), Some("883/2004 Art 12(1)")), "{:#}", georgios[1]);
    assert_eq!(georgios[4]["details"]["state"], "registered", "{:#}", georgios[4]);
    assert_eq!(georgios[4]["details"]["legislation"], "GR");
    assert_eq!(georgios[5]["details"]["outcome"], "valid");
    assert_eq!((georgios[7]["details"]["outcome"].as_str(), georgios[7]["details"]["code"].as_str()), (Some("invalid"), Some("ESP-4010")), "{:#}", georgios[7]);
    // The offline bundle carries the withdrawal.
    assert!(georgios[8]["details"]["revoked"].as_u64().unwrap() >= 1 && georgios[8]["details"]["sequence"].as_u64().unwrap() >= 2, "{:#}", georgios[8]);
    // network.json: every node, its role, URL and configuration (each runnable with `esspass serve`).
    let net: Value = serde_json::from_str(&std::fs::read_to_string(data.join("network.json")).unwrap()).unwrap();
    let roles: Vec<&str> = net["nodes"].as_array().unwrap().iter().map(|n| n["role"].as_str().unwrap()).collect();
    for r in ["trust", "gateway", "pid_provider", "institution", "verifier", "wallet"] {
        assert!(roles.contains(&r), "{roles:?}");
    }
    assert_eq!(roles.iter().filter(|r| **r == "institution").count(), 4);
    for n in net["nodes"].as_array().unwrap() {
        assert!(n["url"].as_str().unwrap().starts_with("https://127.0.0.1:"), "{n}");
        assert!(std::path::Path::new(n["config"].as_str().unwrap()).is_file(), "{n}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("pki/institutions/el-efka/signing.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "private keys are owner-only");
    }
    // The wallets are encrypted at rest: nothing of the credentials in clear.
    let wallet = std::fs::read_to_string(data.join("web-wallets/ziva.esspass")).unwrap();
    assert!(!wallet.contains("Novak") && !wallet.contains("urn:eudi"), "the wallet file is sealed");
}

#[test]
fn issue_present_verify_exit_codes() {
    let d = tmp("ivp");
    let p = |x: &str| d.join(x).to_str().unwrap().to_owned();
    assert!(esspass(&["pki", "init", "--out", &p("pki")]).status.success());
    assert!(esspass(&["pki", "new-key", "--out", &p("holder.key")]).status.success());
    let issued = esspass(&[
        "issue", "--type", "ehic", "--claims", "examples/ehic-claims.json", "--key", &p("pki/institutions/si-zzzs/signing.key"),
        "--chain", &p("pki/institutions/si-zzzs/chain.pem"), "--holder-jwk", &p("holder.key"), "--iss", "https://127.0.0.1:8442",
    ]);
    assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
    std::fs::write(d.join("cred"), &issued.stdout).unwrap();
    let presented = esspass(&["present", "--credential", &p("cred"), "--holder-key", &p("holder.key"), "--disclose", "document_number", "--nonce", "n1", "--aud", "https://v"]);
    assert!(presented.status.success());
    std::fs::write(d.join("pres"), &presented.stdout).unwrap();
    // The trusted list is valid for 90 days from today: verifying as of 100 days ahead is refused
    // up front (could not check, exit 2, ESP-3017).
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(100)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let tl = p("pki/trusted-lists/issuers.jwt");
    let pres = p("pres");
    let o = esspass(&["verify", "--json", "--at", &later, "--trust-anchor", &p("pki/root/ca.pem"), "--trusted-list", &tl, &pres]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json(&o)["error"]["code"], "ESP-3017");
    // Now, without --at: valid (exit 0) with the list; a wrong nonce is rejected (exit 1).
    let ok = esspass(&["verify", "--json", "--trust-anchor", &p("pki/root/ca.pem"), "--trusted-list", &tl, "--nonce", "n1", "--aud", "https://v", &pres]);
    let r = json(&ok);
    assert_eq!(r["outcome"], "valid", "{r:#}");
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(r["claims"]["document_number"], "SI00ZZZS0000004711");
    assert!(r["claims"].get("personal_administrative_number").is_none());
    let bad = esspass(&["verify", "--json", "--trust-anchor", &p("pki/root/ca.pem"), "--nonce", "other", "--aud", "https://v", &pres]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(json(&bad)["code"], "ESP-5004");
    // No trust input at all: could not check (exit 2), never valid.
    let none = esspass(&["verify", "--json", &pres]);
    assert_eq!(none.status.code(), Some(2));
    assert_eq!(json(&none)["outcome"], "error");
    // Invalid claims: exit 2 with every problem and its path.
    std::fs::write(d.join("bad.json"), r#"{"document_number": "ab", "issuing_authority": {"id": "SI:ZZZS", "name": "ZZZS", "country": "XX"}}"#).unwrap();
    let o = esspass(&[
        "issue", "--json", "--type", "ehic", "--claims", &p("bad.json"), "--key", &p("pki/institutions/si-zzzs/signing.key"),
        "--chain", &p("pki/institutions/si-zzzs/chain.pem"), "--holder-jwk", &p("holder.key"), "--iss", "https://127.0.0.1:8442",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let paths: Vec<String> = json(&o)["error"]["problems"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap().to_owned()).collect();
    for want in ["$.document_number", "$.issuing_authority.country", "$.personal_administrative_number", "$.authentic_source", "$.date_of_issuance"] {
        assert!(paths.iter().any(|p| p == want), "{want} not in {paths:?}");
    }
    // Usage errors exit 2.
    assert_eq!(esspass(&["verify", "--no-such-flag"]).status.code(), Some(2));
}

#[test]
fn verify_needs_holder_binding_unless_credential_only_and_remembers_list_sequences() {
    let d = tmp("kb");
    let p = |x: &str| d.join(x).to_str().unwrap().to_owned();
    assert!(esspass(&["pki", "init", "--out", &p("pki")]).status.success());
    assert!(esspass(&["pki", "new-key", "--out", &p("holder.key")]).status.success());
    let issue = |key: &str, chain: &str, iss: &str| {
        let o = esspass(&["issue", "--type", "ehic", "--claims", "examples/ehic-claims.json", "--key", &p(key), "--chain", &p(chain), "--holder-jwk", &p("holder.key"), "--iss", iss]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    std::fs::write(d.join("cred"), issue("pki/institutions/si-zzzs/signing.key", "pki/institutions/si-zzzs/chain.pem", "https://127.0.0.1:8442")).unwrap();
    let (anchor, tl, cred) = (p("pki/root/ca.pem"), p("pki/trusted-lists/issuers.jwt"), p("cred"));
    // A bare credential is not a presentation: the KB-JWT is missing (exit 1, ESP-5001)...
    let o = esspass(&["verify", "--json", "--trust-anchor", &anchor, "--trusted-list", &tl, &cred]);
    assert_eq!((o.status.code(), json(&o)["code"].as_str()), (Some(1), Some("ESP-5001")), "{}", String::from_utf8_lossy(&o.stdout));
    // ...unless the credential alone is asked for, which the report states.
    let o = esspass(&["verify", "--json", "--credential-only", "--trust-anchor", &anchor, "--trusted-list", &tl, &cred]);
    let r = json(&o);
    assert_eq!((o.status.code(), r["outcome"].as_str(), r["credential_only"].as_bool()), (Some(0), Some("valid"), Some(true)), "{r:#}");
    let text = esspass(&["verify", "--credential-only", "--trust-anchor", &anchor, "--trusted-list", &tl, &cred]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("holder     NOT CHECKED"), "{}", String::from_utf8_lossy(&text.stdout));
    assert_eq!(esspass(&["verify", "--credential-only", "--nonce", "n", "--trust-anchor", &anchor, &cred]).status.code(), Some(2), "--credential-only excludes --nonce");
    // A hospital's (relying party's) key cannot issue: the producer refuses before signing (the
    // verifier's refusal of such a credential is in the credential crate's negative suite).
    let o = esspass(&["issue", "--json", "--type", "ehic", "--claims", "examples/ehic-claims.json", "--key", &p("pki/verifiers/es-hospital/signing.key"), "--chain", &p("pki/verifiers/es-hospital/chain.pem"), "--holder-jwk", &p("holder.key"), "--iss", "https://127.0.0.1:8451"]);
    assert_eq!((o.status.code(), json(&o)["error"]["code"].as_str()), (Some(2), Some("ESP-3019")), "{}", String::from_utf8_lossy(&o.stdout));
    // --trust-state remembers the list's sequence; a state that has seen a later list refuses it.
    let state = p("seen.json");
    let o = esspass(&["verify", "--json", "--credential-only", "--trust-state", &state, "--trust-anchor", &anchor, "--trusted-list", &tl, &cred]);
    assert_eq!(o.status.code(), Some(0));
    let seen: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(seen["esspass demo trust operator / issuers"], 1, "{seen}");
    std::fs::write(&state, r#"{"esspass demo trust operator / issuers": 5}"#).unwrap();
    let o = esspass(&["verify", "--json", "--credential-only", "--trust-state", &state, "--trust-anchor", &anchor, "--trusted-list", &tl, &cred]);
    assert_eq!((o.status.code(), json(&o)["error"]["code"].as_str()), (Some(2), Some("ESP-3020")), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn status_list_commands() {
    let d = tmp("sl");
    let l = d.join("l.json").to_str().unwrap().to_owned();
    assert!(esspass(&["status-list", "new", "--bits", "2", "--size", "64", "--out", &l]).status.success());
    assert!(esspass(&["status-list", "set", "--list", &l, "--idx", "9", "--value", "2"]).status.success());
    assert_eq!(json(&esspass(&["status-list", "get", "--json", "--list", &l, "--idx", "9"]))["value"], 2);
    // An index outside the list is one usage error (exit 2, ESP-4016) for get and set alike.
    let out = esspass(&["status-list", "get", "--json", "--list", &l, "--status-idx", "64"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "ESP-4016");
    let out = esspass(&["status-list", "set", "--list", &l, "--status-idx", "64", "--value", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ESP-4016"));
    assert_eq!(esspass(&["status-list", "set", "--list", &l, "--idx", "1", "--value", "4"]).status.code(), Some(2));
}

#[test]
fn rules_decide_exit_codes() {
    for entry in std::fs::read_dir(root().join("examples/rules")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let o = esspass(&["rules", "decide", "--json", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{name}");
        let expected = name.split('.').nth(1).unwrap();
        assert_eq!(json(&o)["outcome"], expected, "{name}");
        let text = esspass(&["rules", "explain", path.to_str().unwrap()]);
        assert!(text.status.success() && !text.stdout.is_empty());
    }
    let d = tmp("rules");
    std::fs::write(d.join("bad.json"), r#"{"person": {"residence": "XX"}}"#).unwrap();
    let o = esspass(&["rules", "decide", "--json", d.join("bad.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let problems = json(&o)["error"]["problems"].as_array().unwrap().clone();
    assert!(!problems.is_empty());
    assert!(problems.iter().all(|p| p["path"].as_str().unwrap().starts_with('$') && p["code"].as_str().unwrap().starts_with("ESP-")));
}

#[test]
fn import_reports_bad_rows_and_never_half_writes() {
    let d = tmp("import");
    let csv = "personal_number,family_name,given_name,birth_date,nationality,residence,coverage_kind,coverage_start,coverage_end\n\
SI0000000001,Novak,Živa,1985-04-12,SI,SI,health,2020-01-01,\n\
SI0000000002,Horvat,Ana,1990-02-30,SI,SI,health,2020-01-01,\n\
SI0000000003,Kovač,Marko,1979-11-02,SI,XX,,,\n\
SI0000000001,Novak,Again,1985-04-12,SI,SI,,,\n";
    std::fs::write(d.join("p.csv"), csv).unwrap();
    let db = format!("sqlite:{}", d.join("node.db").display());
    let o = esspass(&["import", "--json", "--database", &db, "--report", d.join("r.json").to_str().unwrap(), d.join("p.csv").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "rejected rows make exit 1: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    assert_eq!((r["rows"].as_u64(), r["imported"].as_u64(), r["rejected"].as_u64()), (Some(4), Some(1), Some(3)));
    let errs = r["errors"].as_array().unwrap();
    let row = |n: u64| errs.iter().find(|e| e["row"] == n).unwrap()["problems"][0].clone();
    // Row numbers are the file's line numbers (the header is line 1); each names its personal number.
    assert_eq!((row(3)["path"].as_str(), row(3)["code"].as_str()), (Some("$.birth_date"), Some("ESP-1006")));
    assert_eq!((row(4)["path"].as_str(), row(4)["code"].as_str()), (Some("$.residence"), Some("ESP-1004")));
    assert_eq!((row(5)["path"].as_str(), row(5)["code"].as_str()), (Some("$.personal_number"), Some("ESP-1017")));
    assert_eq!(errs.iter().find(|e| e["row"] == 4).unwrap()["personal_number"], "SI0000000003");
    assert!(!r.to_string().contains("UNIQUE constraint"), "no raw SQL in a report: {r}");
    assert_eq!(r["persons"][0]["personal_number"], "SI0000000001");
    assert!(r["persons"][0]["person_id"].as_str().unwrap().starts_with("P-"));
    assert_eq!(serde_json::from_str::<Value>(&std::fs::read_to_string(d.join("r.json")).unwrap()).unwrap(), r);
    // JSON Lines, into the same database: the already imported person is a duplicate, nothing else changes.
    std::fs::write(d.join("p.jsonl"), "{\"personal_number\": \"SI0000000001\", \"family_name\": \"N\", \"given_name\": \"Z\", \"birth_date\": \"1985-04-12\"}\n{\"personal_number\": \"SI0000000009\", \"family_name\": \"Zupančič\", \"given_name\": \"Nina\", \"birth_date\": \"2001-07-01\"}\n").unwrap();
    let o = esspass(&["import", "--json", "--database", &db, d.join("p.jsonl").to_str().unwrap()]);
    let r = json(&o);
    assert_eq!((r["imported"].as_u64(), r["rejected"].as_u64()), (Some(1), Some(1)));
    // An unreadable file is a usage error.
    assert_eq!(esspass(&["import", "--database", &db, d.join("missing.csv").to_str().unwrap()]).status.code(), Some(2));
    // An empty file, a file without one importable row, a wrong separator: no database is created.
    let fresh = d.join("fresh.db");
    let fresh_db = format!("sqlite:{}", fresh.display());
    std::fs::write(d.join("empty.csv"), "personal_number,family_name,given_name,birth_date\n").unwrap();
    assert_eq!(esspass(&["import", "--database", &fresh_db, d.join("empty.csv").to_str().unwrap()]).status.code(), Some(2));
    std::fs::write(d.join("bad.csv"), "personal_number,family_name,given_name,birth_date\nSI1,Novak,Živa,1985-13-12\n").unwrap();
    let o = esspass(&["import", "--json", "--database", &fresh_db, d.join("bad.csv").to_str().unwrap()]);
    assert_eq!((o.status.code(), json(&o)["imported"].as_u64()), (Some(1), Some(0)), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(d.join("semi.csv"), "personal_number;family_name;given_name;birth_date\nSI1;Novak;Živa;1985-04-12\n").unwrap();
    let o = esspass(&["import", "--database", &fresh_db, d.join("semi.csv").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("comma"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!fresh.exists(), "a database was created for nothing");
    // A database path that cannot be made (its folder would be inside a file): one clear error naming
    // it, with the file code, no SQLite code numbers.
    std::fs::write(d.join("plain-file"), "x").unwrap();
    std::fs::write(d.join("one.csv"), "personal_number,family_name,given_name,birth_date\nSI7777777777,Novak,Živa,1985-04-12\n").unwrap();
    let o = esspass(&["import", "--database", &format!("sqlite:{}", d.join("plain-file/node.db").display()), d.join("one.csv").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("ESP-9006") && err.contains("plain-file") && !err.contains("code: "), "{err}");
}

#[test]
fn audit_verify_finds_edits_deletions_and_rewrites_below_a_checkpoint() {
    let d = tmp("audit");
    let p = |x: &str| d.join(x).to_str().unwrap().to_owned();
    assert!(esspass(&["pki", "init", "--out", &p("pki")]).status.success());
    let db = format!("sqlite:{}", d.join("node.db").display());
    // Three import batches → three audit records.
    for i in 0..3 {
        std::fs::write(d.join("p.csv"), format!("personal_number,family_name,given_name,birth_date\nSI00000000{i}1,Novak,Živa,1985-04-12\n")).unwrap();
        assert!(esspass(&["import", "--database", &db, &p("p.csv")]).status.success());
    }
    let verify = || {
        let o = esspass(&["audit", "verify", "--json", "--database", &db, "--trust-anchor", &p("pki/root/ca.pem")]);
        (o.status.code(), json(&o))
    };
    let (code, v) = verify();
    assert_eq!((code, v["ok"].as_bool(), v["records"].as_u64()), (Some(0), Some(true), Some(3)), "{v}");
    let cp = esspass(&["audit", "checkpoint", "--database", &db, "--key", &p("pki/institutions/si-zzzs/signing.key"), "--chain", &p("pki/institutions/si-zzzs/chain.pem"), "--institution-id", "SI:ZZZS"]);
    assert!(cp.status.success());
    assert_eq!(verify().1["checkpoints"], 1);
    let sql = |q: &str| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = esspass_store::Store::connect(&db).await.unwrap();
            let esspass_store::Db::Sqlite(pool) = store.db() else { panic!() };
            sqlx::query(sqlx::AssertSqlSafe(q.to_owned())).execute(pool).await.unwrap();
            store.close().await;
        });
    };
    // An edited record.
    sql("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2");
    let (code, v) = verify();
    assert_eq!(code, Some(1));
    assert!(v["problems"][0].as_str().unwrap().starts_with("record 2"), "{v}");
    sql("UPDATE audit_log SET actor = 'cli-import' WHERE seq = 2");
    assert_eq!(verify().0, Some(0), "restored");
    // Truncation of the last record together with the head: the chain alone looks fine, the signed checkpoint does not.
    sql("DELETE FROM audit_log WHERE seq = 3");
    sql("UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2) WHERE id = 1");
    let (code, v) = verify();
    assert_eq!(code, Some(1));
    assert!(v["problems"].as_array().unwrap().iter().any(|p| p.as_str().unwrap().contains("checkpoint 3")), "{v}");
}

#[test]
fn audit_checkpoints_outside_the_database_pinned_and_fresh() {
    let d = tmp("audit-outside");
    let p = |x: &str| d.join(x).to_str().unwrap().to_owned();
    assert!(esspass(&["pki", "init", "--out", &p("pki")]).status.success());
    let db = format!("sqlite:{}", d.join("node.db").display());
    for i in 0..4 {
        std::fs::write(d.join("p.csv"), format!("personal_number,family_name,given_name,birth_date\nSI00000000{i}1,Novak,Živa,1985-04-12\n")).unwrap();
        assert!(esspass(&["import", "--database", &db, &p("p.csv")]).status.success());
    }
    let cp = esspass(&["audit", "checkpoint", "--database", &db, "--key", &p("pki/institutions/si-zzzs/signing.key"), "--chain", &p("pki/institutions/si-zzzs/chain.pem"), "--institution-id", "SI:ZZZS", "--checkpoints", &p("checkpoints.jsonl")]);
    assert!(cp.status.success(), "{}", String::from_utf8_lossy(&cp.stderr));
    let verify = |extra: &[&str]| {
        let mut args = vec!["audit", "verify", "--json", "--database", db.as_str()];
        args.extend_from_slice(extra);
        let o = esspass(&args);
        (o.status.code(), json(&o))
    };
    let pin = p("pki/institutions/si-zzzs/chain.pem");
    let file = p("checkpoints.jsonl");
    let (code, v) = verify(&["--checkpoints", &file, "--pin", &pin, "--max-age", "600"]);
    assert_eq!((code, v["ok"].as_bool()), (Some(0), Some(true)), "{v}");
    // The newest checkpoint is older than the stated age: the trail's recent end is unproven.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (code, v) = verify(&["--checkpoints", &file, "--pin", &pin, "--max-age", "1"]);
    assert_eq!(code, Some(1), "{v}");
    assert!(v["problems"].as_array().unwrap().iter().any(|p| p.as_str().unwrap().contains("newest valid checkpoint")), "{v}");
    // Pinned to another institution's certificate: refused.
    let (code, v) = verify(&["--checkpoints", &file, "--pin", &p("pki/institutions/el-efka/chain.pem")]);
    assert_eq!(code, Some(1), "{v}");
    // With write access: the last two records deleted with the head moved back, and the database's
    // checkpoints removed. The database alone looks intact; the file outside finds it.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = esspass_store::Store::connect(&db).await.unwrap();
        let esspass_store::Db::Sqlite(pool) = store.db() else { panic!() };
        for q in ["DELETE FROM audit_log WHERE seq > 2", "UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2) WHERE id = 1", "DELETE FROM audit_checkpoints"] {
            sqlx::query(q).execute(pool).await.unwrap();
        }
        store.close().await;
    });
    assert_eq!(verify(&[]).0, Some(0), "the rewrite is invisible inside the database");
    let (code, v) = verify(&["--checkpoints", &file, "--pin", &pin]);
    assert_eq!(code, Some(1), "{v}");
    assert!(v["problems"].as_array().unwrap().iter().any(|p| p.as_str().unwrap().contains("missing from it")), "{v}");
}

#[test]
fn offers_for_every_insured_person() {
    let d = tmp("offers");
    let p = |x: &str| d.join(x).to_str().unwrap().to_owned();
    assert!(esspass(&["pki", "init", "--out", &p("node")]).status.success());
    std::fs::copy(root().join("docs/esspass.example.toml"), d.join("node/esspass.toml")).unwrap();
    std::fs::write(
        d.join("p.csv"),
        "personal_number,family_name,given_name,birth_date,coverage_kind,coverage_start,coverage_end\nSI0000000001,Novak,Živa,1985-04-12,health,2020-01-01,\nSI0000000002,Horvat,Ana,1990-02-01,health,2020-01-01,2021-01-01\nSI0000000003,Kovač,Marko,1979-11-02,health,2020-01-01,\n",
    )
    .unwrap();
    let db = format!("sqlite:{}", d.join("node/data/si-zzzs.db").display());
    assert!(esspass(&["import", "--database", &db, &p("p.csv")]).status.success());
    let o = esspass(&["offers", "--config", &p("node/esspass.toml"), "--all-insured", "--out", &p("offers.csv")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 offers written"), "{}", String::from_utf8_lossy(&o.stdout));
    let csv = std::fs::read_to_string(d.join("offers.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert_eq!(lines[0], "person_id,personal_number,credential_offer_uri,tx_code");
    assert!(lines[1].contains(",SI000000000") && lines[1].contains("openid-credential-offer://?credential_offer_uri=https%3A%2F%2F127.0.0.1%3A8442"), "{csv}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(d.join("offers.csv")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // An earlier mailing's file is never overwritten; --all-insured must be said; a validity in days.
    let o = esspass(&["offers", "--config", &p("node/esspass.toml"), "--all-insured", "--out", &p("offers.csv")]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ESP-9006"), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(d.join("offers.csv")).unwrap(), csv);
    assert_eq!(esspass(&["offers", "--config", &p("node/esspass.toml"), "--out", &p("o2.csv")]).status.code(), Some(2));
    let o = esspass(&["offers", "--config", &p("node/esspass.toml"), "--all-insured", "--valid-days", "28", "--out", &p("o3.csv")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn nothing_is_destroyed_or_created_without_asking() {
    let d = tmp("nothing-lost");
    let p = |x: &str| d.join(x).to_str().unwrap().to_owned();
    // The demo never empties a folder it did not make.
    std::fs::create_dir_all(d.join("mine")).unwrap();
    std::fs::write(d.join("mine/notes.txt"), "keep me").unwrap();
    let o = esspass(&["demo", "--data-dir", &p("mine")]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ESP-9006"), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(d.join("mine/notes.txt")).unwrap(), "keep me");
    // Reading a database that does not exist creates none.
    let typo = d.join("typo.db");
    let o = esspass(&["audit", "verify", "--json", "--database", &format!("sqlite:{}", typo.display())]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json(&o)["error"]["code"], "ESP-9008", "{}", String::from_utf8_lossy(&o.stdout));
    assert!(!typo.exists(), "audit verify created a database");
    // A private key is never replaced without --force.
    assert!(esspass(&["pki", "new-key", "--out", &p("k.key")]).status.success());
    let first = std::fs::read(d.join("k.key")).unwrap();
    let o = esspass(&["pki", "new-key", "--out", &p("k.key")]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(d.join("k.key")).unwrap(), first, "the key was replaced");
    assert!(esspass(&["pki", "new-key", "--force", "--out", &p("k.key")]).status.success());
    assert_ne!(std::fs::read(d.join("k.key")).unwrap(), first);
    // Nor a PKI: its root stays; with --force it is replaced whole.
    assert!(esspass(&["pki", "init", "--out", &p("pki")]).status.success());
    let root = std::fs::read(d.join("pki/root/ca.pem")).unwrap();
    assert_eq!(esspass(&["pki", "init", "--out", &p("pki")]).status.code(), Some(2));
    assert_eq!(std::fs::read(d.join("pki/root/ca.pem")).unwrap(), root);
    assert!(esspass(&["pki", "init", "--force", "--out", &p("pki")]).status.success());
    assert_ne!(std::fs::read(d.join("pki/root/ca.pem")).unwrap(), root);
    assert!(std::fs::read_dir(&d).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains(".tmp-")), "no temporary folder is left");
}

#[test]
fn producers_refuse_what_verifiers_would_reject() {
    let d = tmp("producers");
    let p = |x: &str| d.join(x).to_str().unwrap().to_owned();
    assert!(esspass(&["pki", "init", "--out", &p("pki")]).status.success());
    assert!(esspass(&["pki", "new-key", "--out", &p("holder.key")]).status.success());
    assert!(esspass(&["pki", "new-key", "--out", &p("other.key")]).status.success());
    let issue = |key: &str, chain: &str, iss: &str, claims: &str| {
        let o = esspass(&["issue", "--json", "--type", "ehic", "--claims", claims, "--key", &p(key), "--chain", &p(chain), "--holder-jwk", &p("holder.key"), "--iss", iss]);
        (o.status.code(), json(&o))
    };
    let code = |r: &(Option<i32>, Value)| r.1["error"]["code"].as_str().map(str::to_owned);
    let (k, c, iss) = ("pki/institutions/si-zzzs/signing.key", "pki/institutions/si-zzzs/chain.pem", "https://127.0.0.1:8442");
    let good = issue(k, c, iss, "examples/ehic-claims.json");
    assert_eq!(good.0, Some(0), "{}", good.1);
    // A key that is not the leaf's; an iss outside the SAN; the root inside the chain.
    let r = issue("other.key", c, iss, "examples/ehic-claims.json");
    assert_eq!((r.0, code(&r).as_deref()), (Some(2), Some("ESP-9003")), "{}", r.1);
    let r = issue(k, c, "https://elsewhere.example", "examples/ehic-claims.json");
    assert_eq!((r.0, code(&r).as_deref()), (Some(2), Some("ESP-3015")), "{}", r.1);
    let with_root = format!("{}{}", std::fs::read_to_string(d.join(c)).unwrap(), std::fs::read_to_string(d.join("pki/root/ca.pem")).unwrap());
    std::fs::write(d.join("with-root.pem"), with_root).unwrap();
    let r = issue(k, "with-root.pem", iss, "examples/ehic-claims.json");
    assert_eq!((r.0, code(&r).as_deref()), (Some(2), Some("ESP-3009")), "{}", r.1);
    // issuing_authority disagreeing with the certificate; a state outside coordination.
    let mut claims: Value = serde_json::from_str(&std::fs::read_to_string(root().join("examples/ehic-claims.json")).unwrap()).unwrap();
    claims["issuing_authority"]["country"] = Value::from("AT");
    std::fs::write(d.join("at.json"), claims.to_string()).unwrap();
    let r = issue(k, c, iss, &p("at.json"));
    assert_eq!((r.0, code(&r).as_deref()), (Some(2), Some("ESP-3014")), "{}", r.1);
    claims["issuing_authority"]["country"] = Value::from("US");
    std::fs::write(d.join("us.json"), claims.to_string()).unwrap();
    let r = issue(k, c, iss, &p("us.json"));
    assert_eq!(r.0, Some(2));
    assert!(r.1.to_string().contains("ESP-1016"), "{}", r.1);
    // A claims file over the limit is refused before it is read whole.
    std::fs::write(d.join("huge.json"), format!("{{\"x\": \"{}\"}}", "a".repeat(200_000))).unwrap();
    let r = issue(k, c, iss, &p("huge.json"));
    assert_eq!((r.0, code(&r).as_deref()), (Some(2), Some("ESP-2005")), "{}", r.1);
    // Key files that are not PKCS#8 PEM are named with how to fix them.
    std::fs::write(d.join("sec1.key"), "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n").unwrap();
    for (file, says) in [("sec1.key", "openssl pkcs8 -topk8 -nocrypt"), (c, "holds a certificate"), ("holder.jwk.json", "JSON")] {
        if file == "holder.jwk.json" {
            std::fs::write(d.join(file), "{\"kty\": \"EC\"}").unwrap();
        }
        let o = esspass(&["issue", "--type", "ehic", "--claims", "examples/ehic-claims.json", "--key", &p(file), "--chain", &p(c), "--holder-jwk", &p("holder.key"), "--iss", iss]);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2));
        assert!(err.contains(says) && err.contains(file), "{file}: {err}");
        assert_eq!(err.matches("ESP-").count(), 1, "one code, printed once: {err}");
    }
    // With --trust-anchor the verifier's own checks run on the result: valid passes; a trusted list
    // that does not authorise this institution for the type makes it refuse (nothing written).
    let o = esspass(&["issue", "--type", "ehic", "--claims", "examples/ehic-claims.json", "--key", &p(k), "--chain", &p(c), "--holder-key", &p("holder.key"), "--iss", iss, "--trust-anchor", &p("pki/root/ca.pem"), "--trusted-list", &p("pki/trusted-lists/issuers.jwt")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut other: Value = serde_json::from_str(&std::fs::read_to_string(root().join("examples/ehic-claims.json")).unwrap()).unwrap();
    other["issuing_authority"]["id"] = Value::from("SI:OTHER");
    std::fs::write(d.join("other-id.json"), other.to_string()).unwrap();
    let o = esspass(&["issue", "--type", "ehic", "--claims", &p("other-id.json"), "--key", &p(k), "--chain", &p(c), "--holder-key", &p("holder.key"), "--iss", iss, "--trust-anchor", &p("pki/root/ca.pem"), "--trusted-list", &p("pki/trusted-lists/issuers.jwt")]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stdout));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("ESP-3014") && err.contains("would fail a verifier's trusted_list check"), "{err}");
    assert!(o.stdout.is_empty(), "nothing written");
    // --out writes the credential to a new file, never over an existing one.
    let o = esspass(&["issue", "--type", "ehic", "--claims", "examples/ehic-claims.json", "--key", &p(k), "--chain", &p(c), "--holder-key", &p("holder.key"), "--iss", iss, "--out", &p("out.sd-jwt")]);
    assert!(o.status.success() && std::fs::read_to_string(d.join("out.sd-jwt")).unwrap().contains('~'));
    let o = esspass(&["issue", "--type", "ehic", "--claims", "examples/ehic-claims.json", "--key", &p(k), "--chain", &p(c), "--holder-key", &p("holder.key"), "--iss", iss, "--out", &p("out.sd-jwt")]);
    assert_eq!(o.status.code(), Some(2));
    // present: only with the holder key the credential is bound to, and only claims it has.
    std::fs::write(d.join("cred"), good.1["credential"].as_str().unwrap()).unwrap();
    let present = |key: &str, disclose: &str| {
        let o = esspass(&["present", "--json", "--credential", &p("cred"), "--holder-key", &p(key), "--disclose", disclose, "--nonce", "n", "--aud", "https://v"]);
        (o.status.code(), json(&o))
    };
    assert_eq!(present("holder.key", "document_number").0, Some(0));
    let r = present("other.key", "document_number");
    assert_eq!((r.0, code(&r).as_deref()), (Some(2), Some("ESP-9003")), "{}", r.1);
    let r = present("holder.key", "document_numbr");
    assert_eq!(r.0, Some(2), "a misspelt claim is not silently left out: {}", r.1);
    assert!(r.1["error"]["message"].as_str().unwrap().contains("document_numbr"), "{}", r.1);
    // show lists what can be disclosed.
    let o = esspass(&["show", "--json", &p("cred")]);
    let v = json(&o);
    let mut disclosable: Vec<&str> = v["disclosable"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    disclosable.sort_unstable();
    assert_eq!(disclosable, ["document_number", "personal_administrative_number"], "{v}");
    // status-list sign: mismatched key and chain, an already expired token.
    assert!(esspass(&["status-list", "new", "--size", "1024", "--out", &p("l.json")]).status.success());
    assert_eq!(esspass(&["status-list", "new", "--size", "0", "--out", &p("l0.json")]).status.code(), Some(2));
    let sign = |key: &str, expires: &str| esspass(&["status-list", "sign", "--list", &p("l.json"), "--key", &p(key), "--chain", &p(c), "--uri", "https://127.0.0.1:8442/status/1", "--expires-in", expires, "--out", &p("l.jwt")]).status.code();
    assert_eq!(sign(k, "3600"), Some(0));
    assert_eq!(sign("other.key", "3600"), Some(2));
    assert_eq!(sign(k, "0"), Some(2));
}

#[test]
fn api_keys_and_reissued_institutions_for_an_operator() {
    let d = tmp("operator");
    let p = |x: &str| d.join(x).to_str().unwrap().to_owned();
    let o = esspass(&["api-key", "new", "--json", "--name", "yiannis", "--role", "employer", "--employer", "EL094019245"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    let key = v["key"].as_str().unwrap();
    assert_eq!(v["sha256"].as_str().unwrap(), esspass_store::hash_secret(key));
    assert!(v["config"].as_str().unwrap().contains("employer_id = \"EL094019245\""), "{v}");
    assert_eq!(esspass(&["api-key", "new", "--name", "x", "--role", "employer"]).status.code(), Some(2), "an employer key names its employer");
    assert_eq!(esspass(&["api-key", "new", "--name", "x", "--role", "auditor", "--employer", "E"]).status.code(), Some(2));
    // Into a configuration: the placeholder of that name gets the hash; a clash of roles is refused.
    std::fs::create_dir_all(d.join("cfg")).unwrap();
    std::fs::copy(root().join("docs/esspass.example.toml"), d.join("cfg/esspass.toml")).unwrap();
    let o = esspass(&["api-key", "new", "--json", "--config", &p("cfg/esspass.toml"), "--name", "auditor", "--role", "auditor"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cfg = std::fs::read_to_string(d.join("cfg/esspass.toml")).unwrap();
    assert!(cfg.contains(&format!("sha256 = \"{}\"", json(&o)["sha256"].as_str().unwrap())) && cfg.matches("REPLACE-WITH-HASH").count() == 3, "{cfg}");
    assert!(!cfg.contains(json(&o)["key"].as_str().unwrap()), "the key itself is never written");
    assert_eq!(esspass(&["api-key", "new", "--config", &p("cfg/esspass.toml"), "--name", "auditor", "--role", "back_office"]).status.code(), Some(2));
    // A node on another port: the institution's certificate is re-issued for that URL.
    assert!(esspass(&["pki", "init", "--out", &p("pki")]).status.success());
    let o = esspass(&["pki", "reissue", "--dir", &p("pki"), "--institution", "si-zzzs", "--issuer-url", "https://127.0.0.1:9442"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(esspass(&["pki", "new-key", "--out", &p("holder.key")]).status.success());
    let issue = |iss: &str| esspass(&["issue", "--type", "ehic", "--claims", "examples/ehic-claims.json", "--key", &p("pki/institutions/si-zzzs/signing.key"), "--chain", &p("pki/institutions/si-zzzs/chain.pem"), "--holder-jwk", &p("holder.key"), "--iss", iss]);
    assert!(issue("https://127.0.0.1:9442").status.success());
    assert_eq!(issue("https://127.0.0.1:8442").status.code(), Some(2), "the old URL is no longer in the certificate");
    assert_eq!(esspass(&["pki", "reissue", "--dir", &p("pki"), "--institution", "si-zzzs", "--issuer-url", "http://x"]).status.code(), Some(2));
}

#[test]
fn every_command_has_examples_and_every_flag_a_line_of_help() {
    let top = esspass(&["--help"]);
    let text = String::from_utf8_lossy(&top.stdout).to_string();
    for c in ["demo", "issue", "present", "show", "verify", "pki", "status-list", "serve", "audit", "offers", "import", "api-key", "rules"] {
        assert!(text.contains(c), "top-level help does not name {c}");
    }
    for cmd in [
        vec!["demo"], vec!["issue"], vec!["present"], vec!["show"], vec!["verify"], vec!["pki", "init"], vec!["pki", "new-key"], vec!["pki", "reissue"],
        vec!["status-list", "new"], vec!["status-list", "set"], vec!["status-list", "sign"], vec!["status-list", "get"], vec!["serve"],
        vec!["audit", "verify"], vec!["audit", "checkpoint"], vec!["offers"], vec!["import"], vec!["api-key", "new"], vec!["rules", "decide"], vec!["rules", "explain"],
        vec!["paper", "issue"], vec!["paper", "verify"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let o = esspass(&args);
        let help = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(o.status.success(), "{cmd:?}");
        assert!(help.contains("EXAMPLES:"), "{cmd:?} has no EXAMPLES section:\n{help}");
        // Every option line (two spaces, a dash) has a description on it or on the next line.
        let lines: Vec<&str> = help.lines().take_while(|l| !l.starts_with("EXAMPLES:")).collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if l.starts_with("  ") && t.starts_with('-') && !t.starts_with("-h,") && !t.starts_with("-V,") {
                let described = t.split("  ").filter(|x| !x.trim().is_empty()).count() > 1 || lines.get(i + 1).is_some_and(|n| n.starts_with("          "));
                assert!(described, "{cmd:?}: {t} has no help");
            }
        }
    }
}

/// The README's walk-through of the commands runs as written, line by line, in an empty folder
/// beside the checkout's `examples/`.
#[test]
fn readme_commands_run_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme.split("\n## Commands\n").nth(1).expect("a Commands section");
    let block = section.split("```sh\n").nth(1).and_then(|b| b.split("\n```").next()).expect("a sh block in the Commands section");
    let mut commands: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let (text, continued) = match line.trim_end().strip_suffix('\\') {
            Some(t) => (t, true),
            None => (line, false),
        };
        current.push_str(text.trim());
        current.push(' ');
        if !continued {
            commands.push(std::mem::take(&mut current).trim().to_owned());
        }
    }
    assert!(commands.len() >= 15, "{commands:?}");
    let d = tmp("readme");
    std::os::unix::fs::symlink(root().join("examples"), d.join("examples")).unwrap();
    let bin = env!("CARGO_BIN_EXE_esspass");
    for c in &commands {
        assert!(c.starts_with("esspass "), "every line of the walk-through is an esspass command: {c}");
        // A comment after the command is for the reader.
        let cmd = c.split(" # ").next().unwrap_or(c);
        let o = Command::new("bash").arg("-c").arg(format!("{bin} {}", cmd.trim_start_matches("esspass "))).current_dir(&d).output().unwrap();
        assert!(o.status.success(), "{cmd}\n{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    }
    assert!(std::fs::read_to_string(d.join("decisions.jsonl")).unwrap().lines().count() == 2);
}

/// The README's "Running a node" block runs as written: the PKI, the configuration with every API
/// key written by `api-key new --config`, the import, and a node that answers `/readyz`.
#[test]
fn readme_node_block_runs_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block_of = |title: &str| {
        let section = readme.split(&format!("\n## {title}\n")).nth(1).unwrap_or_else(|| panic!("a {title} section"));
        section.split("```sh\n").nth(1).and_then(|b| b.split("\n```").next()).expect("a sh block").to_owned()
    };
    // The institution's block, then the verifier's beside it (same folder, its own port).
    let block = format!("{}\n{}", block_of("Running a node"), block_of("Running a verifier"));
    let d = tmp("readme-node");
    for dir in ["examples", "docs"] {
        std::os::unix::fs::symlink(root().join(dir), d.join(dir)).unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_esspass");
    let mut served = false;
    for line in block.lines() {
        let cmd = line.split(" # ").next().unwrap_or(line).trim();
        let shell = cmd.strip_prefix("esspass ").map_or_else(|| cmd.to_owned(), |rest| format!("{bin} {rest}"));
        if cmd.starts_with("esspass serve") {
            served = false;
            let port = if cmd.contains("verifier") { 8451 } else { 8442 };
            let mut child = Command::new("bash").arg("-c").arg(format!("exec {shell}")).current_dir(&d).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
            let root_ca = std::fs::read(d.join("node/root/ca.pem")).unwrap();
            let client = reqwest::blocking::Client::builder().tls_certs_merge([reqwest::Certificate::from_pem(&root_ca).unwrap()]).build().unwrap();
            for _ in 0..100 {
                if client.get(format!("https://127.0.0.1:{port}/readyz")).send().is_ok_and(|r| r.status().is_success()) {
                    served = true;
                    break;
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            assert!(served, "the node did not answer /readyz: {}", String::from_utf8_lossy(&out.stderr));
            continue;
        }
        let o = Command::new("bash").arg("-c").arg(&shell).current_dir(&d).output().unwrap();
        assert!(o.status.success(), "{cmd}\n{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    }
    assert!(served, "the block has no serve line");
    for f in ["node/esspass.toml", "node/verifier.toml"] {
        let cfg = std::fs::read_to_string(d.join(f)).unwrap();
        assert!(!cfg.contains("REPLACE"), "a placeholder is left in {f}");
    }
}

#[test]
fn paper_credentials_are_issued_and_checked_offline() {
    let d = tmp("paper");
    let p = |x: &str| d.join(x).to_str().unwrap().to_owned();
    assert!(esspass(&["pki", "init", "--out", &p("pki")]).status.success());
    let o = esspass(&["paper", "issue", "--type", "ehic", "--claims", "examples/ehic-claims.json", "--key", &p("pki/institutions/si-zzzs/signing.key"), "--chain", &p("pki/institutions/si-zzzs/chain.pem"), "--out", &p("ehic.txt"), "--svg", &p("ehic.svg")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(d.join("ehic.txt")).unwrap().starts_with("EH1:"));
    assert!(std::fs::read_to_string(d.join("ehic.svg")).unwrap().contains("<svg"));
    let verify = |file: &str| {
        let o = esspass(&["paper", "verify", "--json", "--trust-anchor", &p("pki/root/ca.pem"), "--trusted-list", &p("pki/trusted-lists/issuers.jwt"), &p(file)]);
        (o.status.code(), json(&o))
    };
    let (code, v) = verify("ehic.txt");
    assert_eq!((code, v["outcome"].as_str()), (Some(0), Some("valid")), "{v}");
    assert_eq!(v["report"]["claims"]["document_number"], "SI00ZZZS0000004711");
    // One character changed inside the Base45: rejected with a paper code.
    let mut text = std::fs::read_to_string(d.join("ehic.txt")).unwrap();
    let pos = text.len() / 2;
    let c = if &text[pos..=pos] == "A" { "B" } else { "A" };
    text.replace_range(pos..=pos, c);
    std::fs::write(d.join("tampered.txt"), text).unwrap();
    let (code, v) = verify("tampered.txt");
    assert_eq!(code, Some(1), "{v}");
    assert!(v["code"].as_str().unwrap().starts_with("ESP-80"), "{v}");
    // An EHIC institution's key cannot make a PDA1 its trusted list does not authorise.
    let o = esspass(&["paper", "issue", "--json", "--type", "pda1", "--claims", "examples/pda1-claims.json", "--key", &p("pki/institutions/si-zzzs/signing.key"), "--chain", &p("pki/institutions/si-zzzs/chain.pem")]);
    assert!(o.status.success(), "issuing does not consult the list: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(d.join("pda1.txt"), json(&o)["text"].as_str().unwrap()).unwrap();
    let (code, v) = verify("pda1.txt");
    assert_eq!((code, v["code"].as_str()), (Some(1), Some("ESP-8007")), "{v}");
}

/// The printable PDF and the PNG, the offline trust bundle (build, fetch), and `verify --offline`
/// on the QR text, on the PNG, on a rasterised page of the PDF and on a JPEG photo of it; a bundle
/// with a changed part or a bad signature, or too old, is refused.
#[test]
fn paper_pdf_png_and_offline_bundle() {
    let d = tmp("paper-offline");
    let p = |x: &str| d.join(x).to_str().unwrap().to_owned();
    assert!(esspass(&["pki", "init", "--out", &p("pki")]).status.success());
    let o = esspass(&["paper", "issue", "--type", "ehic", "--claims", "examples/ehic-claims.json", "--key", &p("pki/institutions/si-zzzs/signing.key"), "--chain", &p("pki/institutions/si-zzzs/chain.pem"), "--out", &p("ehic.txt"), "--pdf", &p("ehic.pdf"), "--png", &p("ehic.png")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read(d.join("ehic.pdf")).unwrap().starts_with(b"%PDF-"));
    assert!(std::fs::read(d.join("ehic.png")).unwrap().starts_with(b"\x89PNG"));
    let anchor = p("pki/root/ca.pem");
    let o = esspass(&["bundle", "build", "--json", "--trust-anchor", &anchor, "--trusted-list", &p("pki/trusted-lists/issuers.jwt"), "--key", &p("pki/trust-operator/signing.key"), "--chain", &p("pki/trust-operator/chain.pem"), "--out", &p("published")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&o)["sequence"], 1);
    let o = esspass(&["bundle", "fetch", "--json", &p("published"), "--into", &p("held"), "--trust-anchor", &anchor]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The page as a verifier's camera would see it: rasterised at 150 dpi, and as a JPEG.
    let r = std::process::Command::new("pdftoppm").args(["-r", "150", "-png", "-singlefile", &p("ehic.pdf"), &p("page")]).status().expect("pdftoppm (poppler-utils) is needed: .ci/run installs it");
    assert!(r.success());
    let page = image::open(d.join("page.png")).unwrap();
    page.to_rgb8().save_with_format(d.join("photo.jpg"), image::ImageFormat::Jpeg).unwrap();
    let offline = |input: &str, extra: &[&str]| {
        let mut args = vec!["verify", "--json", "--offline", "held", "--trust-anchor"];
        args.push(&anchor);
        args.extend_from_slice(extra);
        args.push(input);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_esspass")).args(&args).current_dir(&d).output().unwrap();
        (o.status.code(), json(&o))
    };
    for input in ["ehic.txt", "ehic.png", "page.png", "photo.jpg"] {
        let (code, v) = offline(input, &[]);
        assert_eq!((code, v["outcome"].as_str()), (Some(0), Some("valid")), "{input}: {v}");
        assert_eq!(v["report"]["claims"]["subject"]["forenames"], "Živa", "{input}");
        assert_eq!(v["offline"]["sequence"], 1, "{input}");
    }
    // No QR code in the picture: a clear refusal, not a crash.
    image::GrayImage::from_pixel(64, 64, image::Luma([255])).save(d.join("blank.png")).unwrap();
    let (code, v) = offline("blank.png", &[]);
    assert_eq!((code, v["error"]["code"].as_str()), (Some(2), Some("ESP-8012")), "{v}");
    // Too old for a verifier that wants it fresher than it is.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, v) = offline("ehic.txt", &["--max-bundle-age", "0"]);
    assert_eq!((code, v["error"]["code"].as_str()), (Some(2), Some("ESP-8016")), "{v}");
    // A manifest with one byte of its payload changed: the signature fails.
    let manifest = std::fs::read_to_string(d.join("held/manifest.jwt")).unwrap();
    let mut parts: Vec<String> = manifest.split('.').map(str::to_owned).collect();
    let mut payload: Value = serde_json::from_slice(&esspass_credential::b64::decode(&parts[1]).unwrap()).unwrap();
    payload["sequence"] = serde_json::json!(99);
    parts[1] = esspass_credential::b64::encode(serde_json::to_vec(&payload).unwrap());
    std::fs::write(d.join("held/manifest.jwt"), parts.join(".")).unwrap();
    let (code, v) = offline("ehic.txt", &[]);
    assert_eq!((code, v["error"]["code"].as_str()), (Some(2), Some("ESP-8015")), "{v}");
    // Fetching again repairs the copy; a bundle signed by an institution key is not a bundle.
    let o = esspass(&["bundle", "fetch", &p("published"), "--into", &p("held"), "--trust-anchor", &anchor]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(offline("ehic.txt", &[]).0, Some(0));
    let o = esspass(&["bundle", "build", "--trust-anchor", &anchor, "--trusted-list", &p("pki/trusted-lists/issuers.jwt"), "--key", &p("pki/institutions/si-zzzs/signing.key"), "--chain", &p("pki/institutions/si-zzzs/chain.pem"), "--out", &p("forged")]);
    assert_eq!(o.status.code(), Some(2), "a bundle the trust anchor's TSL rule refuses is not written");
    assert!(!d.join("forged/manifest.jwt").exists());
}

/// `esspass proof verify`: a proof signed by a listed verifier matches its document number and
/// issuer, and nothing else; a proof signed by an unlisted key, or altered, is refused.
#[test]
fn proof_verify_matches_the_document_and_the_listed_verifier() {
    use esspass_credential::proof::{DocumentRef, IssuerRef, StatusFound, VerificationProof};
    let d = tmp("proof");
    let p = |x: &str| d.join(x).to_str().unwrap().to_owned();
    assert!(esspass(&["pki", "init", "--out", &p("pki")]).status.success());
    let proof = VerificationProof {
        jti: "proof-1".into(),
        iat: time::OffsetDateTime::now_utc().unix_timestamp(),
        verifier_id: "ES-HULP".into(),
        transaction_id: "tx-1".into(),
        profile: "ehic-healthcare".into(),
        policy_version: "1".into(),
        vct: "urn:eudi:ehic:1".into(),
        outcome: "valid".into(),
        code: None,
        checked_for_date: Some("2026-12-03".into()),
        document: Some(DocumentRef::new("SI00ZZZS0000004711").unwrap()),
        issuer: Some(IssuerRef { institution_id: "SI:ZZZS".into(), country: "SI".into() }),
        status: Some(StatusFound { value: "valid".into(), source: "fetched".into(), age_seconds: Some(0), uri: None }),
    };
    let sign = |who: &str, pr: &VerificationProof| {
        let key = esspass_keys::files::load_signer(&d.join(format!("pki/{who}/signing.key"))).unwrap();
        let chain = esspass_keys::files::load_chain(&d.join(format!("pki/{who}/chain.pem"))).unwrap();
        pr.sign(&key, &chain).unwrap()
    };
    std::fs::write(d.join("proof.jwt"), sign("verifiers/es-hospital", &proof)).unwrap();
    let check = |file: &str, number: &str| {
        let o = esspass(&["proof", "verify", "--json", &p(file), "--document-number", number, "--institution-id", "SI:ZZZS", "--trust-anchor", &p("pki/root/ca.pem"), "--verifier-list", &p("pki/trusted-lists/verifiers.jwt")]);
        (o.status.code(), json(&o))
    };
    let (code, v) = check("proof.jwt", "SI00ZZZS0000004711");
    assert_eq!((code, v["outcome"].as_str()), (Some(0), Some("valid")), "{v}");
    assert_eq!(v["verifier"]["name"], "Hospital Universitario La Paz");
    let text = std::fs::read_to_string(d.join("proof.jwt")).unwrap();
    assert!(!text.contains("SI00ZZZS0000004711"));
    let (code, v) = check("proof.jwt", "SI00ZZZS0000004712");
    assert_eq!((code, v["code"].as_str()), (Some(1), Some("ESP-3023")), "{v}");
    // An institution's key is not a listed verifier's.
    std::fs::write(d.join("forged.jwt"), sign("institutions/si-zzzs", &proof)).unwrap();
    let (code, v) = check("forged.jwt", "SI00ZZZS0000004711");
    assert_eq!((code, v["code"].as_str()), (Some(1), Some("ESP-3022")), "{v}");
    // Another verifier's name on the hospital's signature.
    let other = VerificationProof { verifier_id: "IT-INL".into(), ..proof.clone() };
    std::fs::write(d.join("renamed.jwt"), sign("verifiers/es-hospital", &other)).unwrap();
    let (code, v) = check("renamed.jwt", "SI00ZZZS0000004711");
    assert_eq!((code, v["code"].as_str()), (Some(1), Some("ESP-3022")), "{v}");
    // One character of the signature changed.
    let mut bad = text.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    std::fs::write(d.join("bad.jwt"), bad).unwrap();
    let (code, v) = check("bad.jwt", "SI00ZZZS0000004711");
    assert_eq!((code, v["code"].as_str()), (Some(1), Some("ESP-3021")), "{v}");
}
