//! Browser tests (issue 13): `esspass demo --serve` runs the network; `interop/browser.mjs` drives
//! Debian's headless Chromium through Playwright over it — the gateway, ZZZS's portal, sign-in with
//! the PID in an `esspass wallet`, the EHIC request and its code, the documents, the language
//! switcher, sign-out — in Slovenian and English, with axe-core (WCAG 2.1 A + AA) on every page:
//! zero violations. Screenshots of every step are kept in `target/tmp/browser-artifacts/`.
//!
//! Needs node, npm (installed by the interop harness) and Chromium at /usr/bin/chromium (`apt-get
//! install chromium`; `.ci/run` installs it): a missing one fails, never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "interop/support.rs"]
#[allow(dead_code)]
mod support;

use serde_json::Value;
use std::io::BufRead;
use std::process::{Command, Stdio};

struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_person_walks_the_portal_in_a_browser_and_every_page_passes_axe() {
    let env = support::env();
    let chromium = std::env::var("ESSPASS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(std::path::Path::new(&chromium).exists(), "the browser tests need Chromium at {chromium} (apt-get install chromium; .ci/run installs it)");
    let dir = env.scratch("browser-demo");
    let data = dir.join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_esspass"))
        .args(["demo", "--serve", "--any-ports", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let demo = Demo(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains("The network keeps running") => break,
            Ok(_) => {}
            Err(e) => panic!("the demo network did not come up: {e}"),
        }
    }
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts");
    let _ = std::fs::remove_dir_all(&out);
    let o = Command::new("node")
        .arg(env.interop.join("browser.mjs"))
        .arg(data.join("network.json"))
        .arg(env!("CARGO_BIN_EXE_esspass"))
        .arg(&out)
        .env("NODE_EXTRA_CA_CERTS", data.join("pki/root/ca.pem"))
        .env("ESSPASS_CHROMIUM", &chromium)
        .output()
        .unwrap();
    drop(demo);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("browser.mjs printed no JSON:\n{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)));
    assert!(v["failure"].is_null(), "the walk failed: {}\n{v:#}", v["failure"].as_str().unwrap_or(""));
    assert_eq!(v["violations"].as_array().unwrap().len(), 0, "axe-core found WCAG 2.1 AA violations: {:#}", v["violations"]);
    assert!(o.status.success(), "{v:#}\n{}", String::from_utf8_lossy(&o.stderr));
    let pages = v["pages"].as_array().unwrap();
    assert!(pages.len() >= 20, "{v:#}");
    for lang in ["sl", "en", "el", "es", "it"] {
        assert!(pages.iter().any(|p| p["lang"] == lang), "{lang}");
    }
    for s in v["screenshots"].as_array().unwrap() {
        assert!(std::path::Path::new(s.as_str().unwrap()).is_file(), "{s}");
    }
}
