//! Harness of the interop tests: installs the peers once (npm ci / venv + pip, serialised by a
//! `OnceLock` in this process and a file lock across processes), creates one demo PKI per test
//! process with `esspass pki init`, drives the `esspass` binary and the peer scripts, and compares
//! claim sets field by field.
//!
//! Missing `node`, `npm` or `python3` is a test FAILURE, never a skip.

use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::sync::OnceLock;

/// The exact peer versions the lock file and requirements pin.
const SD_JWT_JS_VERSION: &str = "0.19.0";
const OPENID4VC_JS_VERSION: &str = "0.4.6";
const SD_JWT_PY_VERSION: &str = "0.10.4";
const JOSE_VERSION: &str = "6.2.19";
/// The browser tests' driver (no browser download: Debian's chromium) and accessibility checker.
const PLAYWRIGHT_VERSION: &str = "1.65.2";
const AXE_PLAYWRIGHT_VERSION: &str = "4.11.0";

/// The instant of the example documents (`examples/*-claims.json`) that the tests map to "today":
/// every date of an example is shifted by (today − this), so the documents are in force whenever
/// the tests run, and everything else (KB-JWT freshness, certificates, trusted list, status token
/// expiry) is checked at the real current time.
const EXAMPLE_TODAY: time::Date = time::macros::date!(2027 - 03 - 01);

pub struct Env {
    pub interop: PathBuf,
    pub work: PathBuf,
    pub pki: PathBuf,
    pub manifest: Value,
}

pub struct Institution {
    pub key: PathBuf,
    pub chain: PathBuf,
    pub iss: String,
}

static ENV: OnceLock<Result<Env, String>> = OnceLock::new();

/// The set-up environment; panics (fails the test) with the reason when it cannot be set up.
pub fn env() -> &'static Env {
    match ENV.get_or_init(setup) {
        Ok(e) => e,
        Err(msg) => panic!("interop set-up failed:\n{msg}"),
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

fn run(cmd: &mut Command, what: &str) -> Result<Output, String> {
    let out = cmd.output().map_err(|e| format!("{what}: could not start: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what}: {}\n--- stdout\n{}\n--- stderr\n{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(out)
}

fn setup() -> Result<Env, String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().map_err(|e| format!("repository root: {e}"))?;
    let interop = repo.join("interop");

    let missing: Vec<&str> = ["node", "npm", "python3"].into_iter().filter(|t| which(t).is_none()).collect();
    if !missing.is_empty() {
        return Err(format!(
            "the interop tests need Node.js >= 20 (node, npm) and Python 3 (python3, with venv) on PATH; not found: {}.\n\
             Install them (see interop/README.md). These tests never skip.",
            missing.join(", ")
        ));
    }
    let v = run(Command::new("node").arg("--version"), "node --version")?;
    let version = String::from_utf8_lossy(&v.stdout).trim().to_owned();
    let major: u32 = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major < 20 {
        return Err(format!("the interop tests need Node.js >= 20; found {version}"));
    }

    // One installer at a time, across test processes too.
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-setup.lock");
    let lock = std::fs::File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock().map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
    ensure_node_modules(&interop)?;
    ensure_venv(&interop)?;
    drop(lock);

    // Scratch space of earlier runs (one directory per test process) is removed after an hour.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    if let Ok(entries) = std::fs::read_dir(tmp) {
        for entry in entries.flatten() {
            let stale = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|age| age.as_secs() > 3600);
            if stale && entry.file_name().to_string_lossy().starts_with("interop-") && entry.path().is_dir() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let work = tmp.join(format!("interop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let pki = work.join("pki");
    run(Command::new(env!("CARGO_BIN_EXE_esspass")).args(["pki", "init", "--out"]).arg(&pki).arg("--json"), "esspass pki init")?;
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(pki.join("pki.json")).map_err(|e| format!("pki.json: {e}"))?).map_err(|e| format!("pki.json: {e}"))?;
    Ok(Env { interop, work, pki, manifest })
}

fn installed_js_version(interop: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(interop.join("node_modules").join(package).join("package.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v.get("version").and_then(Value::as_str).map(str::to_owned)
}

/// `npm ci` in interop/ when node_modules is missing or does not hold the pinned versions.
fn ensure_node_modules(interop: &Path) -> Result<(), String> {
    let packages = [
        ("@sd-jwt/sd-jwt-vc", SD_JWT_JS_VERSION),
        ("@sd-jwt/crypto-nodejs", SD_JWT_JS_VERSION),
        ("@sd-jwt/jwt-status-list", SD_JWT_JS_VERSION),
        ("@sd-jwt/core", SD_JWT_JS_VERSION),
        ("@openid4vc/openid4vci", OPENID4VC_JS_VERSION),
        ("@openid4vc/oauth2", OPENID4VC_JS_VERSION),
        ("@openid4vc/utils", OPENID4VC_JS_VERSION),
        ("@openid4vc/openid4vp", OPENID4VC_JS_VERSION),
        ("jose", JOSE_VERSION),
        ("playwright-core", PLAYWRIGHT_VERSION),
        ("@axe-core/playwright", AXE_PLAYWRIGHT_VERSION),
    ];
    let ok = |i: &Path| packages.iter().all(|(p, v)| installed_js_version(i, p).as_deref() == Some(*v));
    if ok(interop) {
        return Ok(());
    }
    eprintln!("interop: npm ci in {}", interop.display());
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(interop), "npm ci (interop/)")?;
    if !ok(interop) {
        return Err(format!("after npm ci, interop/node_modules does not hold {packages:?}"));
    }
    Ok(())
}

pub fn venv_python(interop: &Path) -> PathBuf {
    interop.join(".venv/bin/python")
}

/// `python3 -m venv interop/.venv` when missing, then `pip install -r requirements.txt` unless
/// sd-jwt is already there at the pinned version.
fn ensure_venv(interop: &Path) -> Result<(), String> {
    let py = venv_python(interop);
    if !py.exists() {
        eprintln!("interop: python3 -m venv {}", interop.join(".venv").display());
        run(Command::new("python3").args(["-m", "venv"]).arg(interop.join(".venv")), "python3 -m venv interop/.venv")?;
    }
    let check = format!("import importlib.metadata as m, sys; import sd_jwt, jwcrypto, cryptography, cbor2, base45; sys.exit(0 if m.version('sd-jwt') == '{SD_JWT_PY_VERSION}' else 1)");
    let has = |py: &Path| Command::new(py).args(["-c", &check]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if has(&py) {
        return Ok(());
    }
    eprintln!("interop: pip install -r {}", interop.join("requirements.txt").display());
    run(Command::new(&py).args(["-m", "pip", "install", "--disable-pip-version-check", "-r"]).arg(interop.join("requirements.txt")), "pip install -r interop/requirements.txt")?;
    if !has(&py) {
        return Err(format!("after pip install, interop/.venv does not import sd-jwt {SD_JWT_PY_VERSION}"));
    }
    Ok(())
}

impl Env {
    pub fn root_pem(&self) -> PathBuf {
        self.pki.join(self.manifest["root"].as_str().unwrap())
    }

    pub fn trusted_list(&self) -> PathBuf {
        self.pki.join(self.manifest["issuer_trusted_list"].as_str().unwrap())
    }

    pub fn institution(&self, slug: &str) -> Institution {
        let i = self.manifest["institutions"].as_array().unwrap().iter().find(|i| i["slug"] == slug).unwrap_or_else(|| panic!("no institution {slug} in pki.json"));
        Institution { key: self.pki.join(i["signing_key"].as_str().unwrap()), chain: self.pki.join(i["chain"].as_str().unwrap()), iss: i["iss"].as_str().unwrap().to_owned() }
    }

    /// A fresh scratch directory for one test.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let d = self.work.join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}

// ------------------------------------------------------------------ esspass

pub fn esspass(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esspass")).args(args).output().expect("run esspass")
}

/// Run esspass, require exit 0, return stdout.
pub fn esspass_ok(args: &[&str]) -> String {
    let out = esspass(args);
    assert!(out.status.success(), "esspass {args:?} failed: {}\n{}\n{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `esspass verify --json` against the demo root and Issuer Trusted List; returns (exit code, report).
pub fn esspass_verify(presentation_file: &Path, nonce: &str, aud: &str) -> (i32, Value) {
    let e = env();
    let out = esspass(&[
        "verify",
        "--trust-anchor",
        e.root_pem().to_str().unwrap(),
        "--trusted-list",
        e.trusted_list().to_str().unwrap(),
        "--nonce",
        nonce,
        "--aud",
        aud,
        "--json",
        presentation_file.to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|err| panic!("esspass verify printed no JSON ({err}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

/// A new holder key (PKCS#8 PEM file), as a wallet would have.
pub fn holder_key(dir: &Path) -> PathBuf {
    use esspass_credential::EcdsaP256Signer;
    let path = dir.join("holder.pem");
    let der = EcdsaP256Signer::generate().unwrap().to_pkcs8_der().unwrap();
    esspass_keys::files::write_private_key(&path, &der).unwrap();
    path
}

// ------------------------------------------------------------------ peers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Node,
    Python,
}

impl Peer {
    pub fn name(self) -> &'static str {
        match self {
            Peer::Node => "node @sd-jwt/sd-jwt-vc 0.19.0",
            Peer::Python => "python sd-jwt 0.10.4",
        }
    }

    fn command(self, sub: &str) -> Command {
        let e = env();
        let mut c = match self {
            Peer::Node => {
                let mut c = Command::new("node");
                c.arg(e.interop.join("peer.mjs"));
                c
            }
            Peer::Python => {
                let mut c = Command::new(venv_python(&e.interop));
                c.arg(e.interop.join("peer.py"));
                c
            }
        };
        c.arg(sub).current_dir(&e.interop);
        c
    }

    /// Run `verify` / `issue` with a JSON request; returns (accepted, result). A crash of the peer
    /// script (exit 2 or no JSON) fails the test.
    pub fn call(self, sub: &str, request: &Value) -> (bool, Value) {
        let mut child = self.command(sub).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{}: cannot start: {e}", self.name()));
        child.stdin.take().unwrap().write_all(request.to_string().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let code = out.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|err| panic!("{} {sub}: exit {code}, no JSON ({err})\n--- stdout\n{}\n--- stderr\n{stderr}", self.name(), String::from_utf8_lossy(&out.stdout)));
        match (code, v["ok"].as_bool()) {
            (0, Some(true)) => (true, v),
            (1, Some(false)) => (false, v),
            _ => panic!("{} {sub}: exit {code}\n{v:#}\n--- stderr\n{stderr}", self.name()),
        }
    }

    /// Like `call`, requiring acceptance.
    pub fn accept(self, sub: &str, request: &Value) -> Value {
        let (ok, v) = self.call(sub, request);
        assert!(ok, "{} {sub} rejected: {}\n{}", self.name(), v["error"], v["stack"].as_str().unwrap_or_default());
        v
    }
}

/// A long-running node peer (`status-read`, `status-serve`) talking JSON lines; killed if the test
/// ends first.
pub struct NodeServer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: std::io::BufReader<ChildStdout>,
}

impl NodeServer {
    pub fn start(sub: &str) -> Self {
        let mut child = Peer::Node.command(sub).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start node");
        let stdin = child.stdin.take();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        Self { child, stdin, stdout }
    }

    pub fn send(&mut self, v: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
    }

    pub fn recv(&mut self) -> Value {
        use std::io::BufRead;
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("node peer sent no JSON line ({e}): {line:?}"))
    }

    /// Close stdin (the peer's signal to finish) and read its last line.
    pub fn finish(&mut self) -> Value {
        drop(self.stdin.take());
        let v = self.recv();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "node peer exited with {status}");
        v
    }
}

impl NodeServer {
    /// Close stdin and wait for the peer to exit by itself.
    pub fn wait(&mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "node peer exited with {status}");
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ------------------------------------------------------------------ claims

/// An example's business claims with every date shifted so that the example's "today"
/// (2027-03-01, inside both documents' validity and coverage) is the real today.
pub fn example_claims(kind: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../examples/{kind}-claims.json"));
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    let shift = today - EXAMPLE_TODAY;
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    for k in ["date_of_issuance", "date_of_expiry", "starting_date", "ending_date"] {
        if let Some(s) = v.get(k).and_then(Value::as_str) {
            let d = time::Date::parse(s, &fmt).unwrap() + shift;
            v[k] = json!(d.format(&fmt).unwrap());
        }
    }
    v
}

/// `a.b.0.c` → `["a","b",0,"c"]`.
pub fn path_of(dotted: &str) -> Vec<Value> {
    dotted.split('.').map(|s| s.parse::<u64>().map_or_else(|_| json!(s), |i| json!(i))).collect()
}

/// The value at a dotted path, if present.
pub fn at<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(v, |cur, step| match cur {
        Value::Object(m) => m.get(step),
        Value::Array(a) => step.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// Remove the claim at a dotted path (and nothing else).
pub fn remove_at(v: &mut Value, dotted: &str) {
    let steps: Vec<&str> = dotted.split('.').collect();
    let (last, parents) = steps.split_last().unwrap();
    let mut cur = v;
    for s in parents {
        cur = match cur {
            Value::Object(m) => m.get_mut(*s).unwrap(),
            Value::Array(a) => a.get_mut(s.parse::<usize>().unwrap()).unwrap(),
            _ => panic!("{dotted}: not a container"),
        };
    }
    match cur {
        Value::Object(m) => {
            m.remove(*last).unwrap_or_else(|| panic!("{dotted}: absent"));
        }
        Value::Array(a) => {
            a.remove(last.parse::<usize>().unwrap());
        }
        _ => panic!("{dotted}: not a container"),
    }
}

/// Field-by-field differences between two JSON values (objects by key, arrays by position).
pub fn json_diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match y.get(k) {
                    Some(vb) => json_diff(&p, va, vb, out),
                    None => out.push(format!("{p}: only on the left ({va})")),
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    out.push(format!("{p}: only on the right ({vb})"));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                out.push(format!("{path}: {} element(s) on the left, {} on the right", x.len(), y.len()));
            }
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                json_diff(&format!("{path}.{i}"), va, vb, out);
            }
        }
        _ => {
            if a != b {
                out.push(format!("{path}: {a} on the left, {b} on the right"));
            }
        }
    }
}

/// Assert two claim sets are equal field by field.
pub fn assert_same_claims(left: (&str, &Value), right: (&str, &Value)) {
    let mut d = Vec::new();
    json_diff("", left.1, right.1, &mut d);
    assert!(d.is_empty(), "claims differ ({} on the left, {} on the right):\n  {}", left.0, right.0, d.join("\n  "));
}

/// Count the leaves compared (to show the comparison is not vacuous).
pub fn leaf_count(v: &Value) -> usize {
    match v {
        Value::Object(m) => m.values().map(leaf_count).sum(),
        Value::Array(a) => a.iter().map(leaf_count).sum(),
        _ => 1,
    }
}

/// The JWT claims an SD-JWT VC adds around the business claims.
pub const JWT_CLAIMS: &[&str] = &["iss", "iat", "nbf", "exp", "jti", "sub", "cnf", "status", "vct"];

pub fn business_part(claims: &Value) -> Value {
    let mut c = claims.clone();
    if let Value::Object(m) = &mut c {
        for k in JWT_CLAIMS {
            m.remove(*k);
        }
    }
    c
}

/// Base64url JSON part of a compact JWS.
pub fn jws_part(jws: &str, i: usize) -> Value {
    let part = jws.split('.').nth(i).unwrap();
    serde_json::from_slice(&esspass_credential::b64::decode(part).unwrap()).unwrap()
}
