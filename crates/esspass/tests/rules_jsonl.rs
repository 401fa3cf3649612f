#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! `esspass rules decide --jsonl`: one application per line in, one decision per line out, in order,
//! streaming from stdin; invalid lines answered on their line; and the contestability of an adverse
//! automatic decision in the CLI's output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn examples() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(root().join("examples/rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (name, v.to_string())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn jsonl_decides_every_line_in_order() {
    let ex = examples();
    let mut input = String::new();
    for (_, line) in &ex {
        input.push_str(line);
        input.push('\n');
    }
    input.push('\n'); // a blank line gives nothing
    input.push_str("{\"person\": {\"residence\": \"XX\"}}\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_esspass"))
        .args(["rules", "decide", "--jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an invalid line makes the exit code 2");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), ex.len() + 1, "one output line per non-blank input line");
    for ((name, _), d) in ex.iter().zip(&lines) {
        let expected = name.split('.').nth(1).unwrap();
        assert_eq!(d["outcome"], expected, "{name}");
        assert!(d["states_concerned"].is_array() && d["allowed"].is_array() && d["contestable"].is_boolean(), "{name}");
    }
    let last = lines.last().unwrap();
    assert!(last["error"]["problems"].as_array().is_some_and(|p| !p.is_empty()), "{last}");
}

#[test]
fn an_adverse_automatic_decision_says_it_is_contestable() {
    let path = root().join("examples/rules/posting-30-months.determined.json");
    let out = Command::new(env!("CARGO_BIN_EXE_esspass")).args(["rules", "decide", path.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("contestable         yes"), "{text}");
    assert!(text.contains("/contest"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_esspass")).args(["rules", "decide", "--json", path.to_str().unwrap()]).output().unwrap();
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["contestable"], true);
    assert!(d["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "R-CONTESTABLE" && r["article"] == "GDPR Art 22(3)"));
}
