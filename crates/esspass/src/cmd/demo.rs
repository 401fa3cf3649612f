//! `esspass demo`, first form: in a fresh data directory, create the demo PKI and trusted lists,
//! issue Živa's EHIC and Georgios's PDA1, present them with holder binding, verify them (status
//! lists served over HTTPS from in-process institution servers), revoke the PDA1 and verify again.

use crate::fetch::Fetcher;
use crate::{CmdResult, Exit, Failure, output};
use esspass_node::tls as https;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use esspass_core::{CredentialType, ErrorCode};
use esspass_credential::sdjwt::SdJwt;
use esspass_credential::sdjwt::present::{Selection, bind, select};
use esspass_credential::status::{self, CachePolicy, StatusCache, StatusList, TokenClaims};
use esspass_credential::trust::TrustedList;
use esspass_credential::vc::{IssueRequest, issue};
use esspass_credential::verify::{Expectation, Outcome, Verifier};
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_credential::{EcdsaP256Signer, Signer, b64};
use esspass_keys::files;
use esspass_keys::pki::{InstitutionInfo, Manifest};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

#[derive(clap::Args)]
#[command(after_help = "EXAMPLES:\n  esspass demo\n  esspass demo --data-dir /tmp/esspass-demo --json")]
pub struct Args {
    /// Data directory, created afresh. An existing one is emptied only if an earlier demo made it
    /// (it holds the demo's marker file) or with --force; any other non-empty folder is refused.
    #[arg(long = "data-dir", default_value = "esspass-data/demo")]
    data_dir: PathBuf,
    /// Empty a non-empty --data-dir that an earlier demo did not make (everything in it is lost).
    #[arg(long)]
    force: bool,
    /// Print the verification reports as JSON.
    #[arg(long)]
    json: bool,
}

/// The file that marks a folder as the demo's own (the next run may empty it).
const DEMO_MARKER: &str = ".esspass-demo";

/// Entries per status list in the demo (the node's default size).
const LIST_SIZE: usize = 1_048_576;
/// Seconds a verifier may cache a status list.
const TTL: i64 = 60;

/// A published status list token and its ETag, by institution slug.
type Published = Arc<RwLock<HashMap<String, (String, String)>>>;

async fn serve_status(State(published): State<Published>, UrlPath(slug): UrlPath<String>, headers: HeaderMap) -> Response {
    let Some((token, etag)) = published.read().ok().and_then(|m| m.get(&slug).cloned()) else {
        return (StatusCode::NOT_FOUND, "no such status list").into_response();
    };
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\""));
    if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == etag_value) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response();
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/statuslist+jwt")),
            (header::CACHE_CONTROL, HeaderValue::from_static("max-age=60")),
            (header::ETAG, etag_value),
        ],
        token,
    )
        .into_response()
}

/// One institution's issuing side in the demo.
struct Institution {
    info: InstitutionInfo,
    signer: EcdsaP256Signer,
    chain: Vec<Vec<u8>>,
    list: StatusList,
    used: HashSet<usize>,
    uri: String,
}

impl Institution {
    fn publish(&self, published: &Published) -> Result<(), Failure> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let token = status::sign_token(&self.signer, &self.chain, &self.list, &TokenClaims { sub: self.uri.clone(), iat: now, exp: Some(now + 86_400), ttl: Some(TTL) })?;
        let etag = format!("\"{}\"", &b64::encode(esspass_credential::sha256(token.as_bytes()))[..16]);
        published.write().map_err(|_| Failure::usage(ErrorCode::Internal, "lock"))?.insert(self.info.slug.clone(), (token, etag));
        Ok(())
    }

    fn allocate(&mut self) -> Result<usize, Failure> {
        let used = &self.used;
        let idx = status::allocate_random_index(LIST_SIZE, 1000, |i| used.contains(&i)).ok_or_else(|| Failure::usage(ErrorCode::Internal, "status list full"))?;
        self.used.insert(idx);
        Ok(idx)
    }
}

fn step(n: u32, title: &str) {
    println!("\n{n}. {title}");
}

fn write(path: &Path, content: &str) -> Result<(), Failure> {
    std::fs::write(path, content).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", path.display())))
}

/// Georgios's A1 application (examples/rules), moved to start today, decided by the rules engine.
fn georgios_decision() -> Result<serde_json::Value, Failure> {
    let mut app: serde_json::Value = serde_json::from_str(include_str!("../../../../examples/rules/georgios-gr-it-12-months.determined.json")).map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    let today = esspass_core::Date::of_instant(time::OffsetDateTime::now_utc());
    let end = today.add_months(12).and_then(|d| d.pred()).unwrap_or(today);
    if let Some(o) = app.as_object_mut() {
        o.insert("decision_date".into(), today.to_string().into());
    }
    if let Some(activity) = app.pointer_mut("/activities/0").and_then(serde_json::Value::as_object_mut) {
        activity.insert("period".into(), serde_json::json!({"start": today.to_string(), "end": end.to_string()}));
    }
    let parsed = esspass_rules::parse_application(&app.to_string()).map_err(|p| Failure::usage(ErrorCode::RulesInvalidInput, p.to_string()))?;
    Ok(serde_json::to_value(esspass_rules::decide(&parsed)).unwrap_or_default())
}

fn claims(name: &str) -> Result<serde_json::Value, Failure> {
    let text = match name {
        "pda1" => include_str!("../../../../examples/pda1-claims.json"),
        _ => include_str!("../../../../examples/ehic-claims.json"),
    };
    let mut v: serde_json::Value = serde_json::from_str(text).map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    // The documents are issued today; the coverage periods are kept as in the examples
    // but moved to start today so that the demo verifies them "now".
    let today = esspass_core::Date::of_instant(time::OffsetDateTime::now_utc());
    let fmt = |d: Option<esspass_core::Date>| serde_json::Value::String(d.map(|d| d.to_string()).unwrap_or_default());
    if let Some(o) = v.as_object_mut() {
        o.insert("date_of_issuance".into(), fmt(Some(today)));
        o.insert("starting_date".into(), fmt(Some(today)));
        let months = if name == "pda1" { 12 } else { 60 };
        let end = today.add_months(months).and_then(|d| d.pred());
        o.insert("ending_date".into(), fmt(end));
        o.insert("date_of_expiry".into(), fmt(end));
    }
    Ok(v)
}

pub fn run(a: Args) -> CmdResult {
    let dir = a.data_dir;
    let non_empty = std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(false);
    if non_empty {
        if !dir.join(DEMO_MARKER).is_file() && !a.force {
            return Err(Failure::usage(
                ErrorCode::FileUnwritable,
                format!("{} is not empty and was not made by `esspass demo` (no {DEMO_MARKER}): choose another --data-dir, or add --force to empty it", dir.display()),
            ));
        }
        std::fs::remove_dir_all(&dir).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", dir.display())))?;
    }
    std::fs::create_dir_all(dir.join("wallet")).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", dir.display())))?;
    std::fs::write(dir.join(DEMO_MARKER), "made by `esspass demo`; the next demo run empties this folder\n").map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", dir.display())))?;
    println!("esspass demo — Živa's EHIC (Slovenia → Spain) and Georgios's PDA1 (Greece → Italy)");
    println!("data directory: {}", dir.display());

    step(1, "Trust: the trust operator creates the demo PKI and signs the Issuer and Verifier Trusted Lists");
    let pki_dir = dir.join("pki");
    let m: Manifest = esspass_keys::pki::init_demo(&pki_dir, time::OffsetDateTime::now_utc())?;
    println!("   root CA {} ; trusted lists in {}", pki_dir.join(&m.root).display(), pki_dir.join("trusted-lists").display());

    step(2, "Status lists: each institution publishes a signed 2-bit Token Status List over HTTPS");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    let published: Published = Arc::default();
    let mut institutions: HashMap<&str, Institution> = HashMap::new();
    for slug in ["si-zzzs", "el-efka"] {
        let info = m.institution(slug).ok_or_else(|| Failure::usage(ErrorCode::Internal, "manifest"))?.clone();
        let tls = https::tls_config(&pki_dir.join(&info.tls_chain), &pki_dir.join(&info.tls_key)).map_err(|e| Failure::usage(ErrorCode::KeyInvalid, e))?;
        let router = axum::Router::new().route("/status/{slug}", axum::routing::get(serve_status)).with_state(published.clone());
        let (addr, _handle) = rt.block_on(https::serve(SocketAddr::from(([127, 0, 0, 1], 0)), tls, router)).map_err(|e| Failure::usage(ErrorCode::FetchFailed, e))?;
        let uri = format!("https://127.0.0.1:{}/status/{slug}", addr.port());
        let inst = Institution {
            signer: files::load_signer(&pki_dir.join(&info.signing_key))?,
            chain: files::load_chain(&pki_dir.join(&info.chain))?,
            list: StatusList::new(2, LIST_SIZE)?,
            used: HashSet::new(),
            uri: uri.clone(),
            info,
        };
        inst.publish(&published)?;
        println!("   {} ({}) publishes {uri} ({LIST_SIZE} entries, ttl {TTL} s)", inst.info.name, inst.info.institution_id);
        institutions.insert(slug, inst);
    }

    step(3, "Greece: Yiannis Constructions applies for Georgios's A1; the rules engine decides at once");
    let decision = georgios_decision()?;
    let get = |k: &str| decision.get(k).and_then(serde_json::Value::as_str).unwrap_or("-").to_owned();
    println!("   outcome {} — legislation {} under {}, status confirmation {}, {} .. {}; EESSI: {} with SED {} to the host state", get("outcome"), get("legislation_country"), get("article"), get("status_confirmation"),
        decision.pointer("/period/start").and_then(serde_json::Value::as_str).unwrap_or("-"), decision.pointer("/period/end").and_then(serde_json::Value::as_str).unwrap_or("-"), get("buc"), get("first_sed"));
    if get("outcome") != "determined" {
        return Err(Failure::usage(ErrorCode::Internal, format!("the demo application was not decided automatically: {decision}")));
    }

    step(4, "Issue: each person's wallet makes a holder key; the competent institution issues the credential");
    let mut issued: Vec<(&str, &str, CredentialType, SdJwt, EcdsaP256Signer, usize)> = Vec::new();
    for (person, slug, t) in [("Živa", "si-zzzs", CredentialType::Ehic), ("Georgios", "el-efka", CredentialType::Pda1)] {
        let inst = institutions.get_mut(slug).ok_or_else(|| Failure::usage(ErrorCode::Internal, "institution"))?;
        let holder = EcdsaP256Signer::generate()?;
        let key_path = dir.join(format!("wallet/{}-holder.key", t.short_name()));
        files::write_private_key(&key_path, &holder.to_pkcs8_der()?)?;
        let idx = inst.allocate()?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut c = claims(t.short_name())?;
        if t == CredentialType::Pda1 {
            // The PDA1 states what the engine decided.
            for (claim, from) in [("legislation_country", "/legislation_country"), ("status_confirmation", "/status_confirmation"), ("starting_date", "/period/start"), ("ending_date", "/period/end"), ("date_of_expiry", "/period/end")] {
                if let (Some(o), Some(v)) = (c.as_object_mut(), decision.pointer(from)) {
                    o.insert(claim.into(), v.clone());
                }
            }
        }
        let sd = issue(&IssueRequest {
            credential_type: t,
            claims: &c,
            signer: &inst.signer,
            x5c: &inst.chain,
            holder_jwk: &holder.public_jwk(),
            iss: Some(&inst.info.iss),
            iat: now,
            nbf: Some(now),
            exp: Some(now + 365 * 86_400),
            status: Some((&inst.uri, idx as u64)),
            decoys: true,
        })
        .map_err(|e| Failure::usage(e.code(), e.to_string()))?;
        write(&dir.join(format!("wallet/{}.sd-jwt", t.short_name())), &sd.serialize())?;
        println!("   {} issues {person}'s {} — {} disclosures, status index {idx}, {} bytes", inst.info.name, t.vct(), sd.disclosures.len(), sd.serialize().len());
        issued.push((person, slug, t, sd, holder, idx));
    }

    // The verifiers: demo root as trust anchor, the signed Issuer Trusted List, HTTPS status fetches.
    let root = Certificate::from_pem(&files::read_text(&pki_dir.join(&m.root))?)?;
    let itl_jws = files::read_text(&pki_dir.join(&m.issuer_trusted_list))?;
    let make_verifier = || -> Result<Verifier, Failure> {
        let chains = ChainValidator::new(vec![root.clone()]);
        let list = TrustedList::verify(&itl_jws, &chains, time::OffsetDateTime::now_utc().unix_timestamp())?;
        let fetcher = Fetcher::new(std::slice::from_ref(&root.der)).map_err(|e| Failure::usage(ErrorCode::FetchFailed, e))?;
        Ok(Verifier::new(chains, Some(list), Some(StatusCache::new(Box::new(fetcher), CachePolicy::default()))))
    };
    let hospital = m.verifiers.iter().find(|v| v.slug == "es-hospital").map(|v| v.url.clone()).unwrap_or_default();
    let inspector = m.verifiers.iter().find(|v| v.slug == "it-inl").map(|v| v.url.clone()).unwrap_or_default();
    let hospital_verifier = make_verifier()?;
    let inspector_verifier = make_verifier()?;
    let mut all_as_expected = true;
    let mut show = |title: &str, r: &esspass_credential::verify::Report, expected: Outcome| {
        println!("   {title}");
        if a.json {
            output::print_json(r);
        } else {
            print!("{}", output::render_report(r));
        }
        if r.outcome != expected {
            all_as_expected = false;
            println!("   !! expected {expected:?}");
        }
    };

    let (_, _, _, ehic, ehic_holder, _) = issued.first().ok_or_else(|| Failure::usage(ErrorCode::Internal, "ehic"))?;
    step(5, "Spain: Živa shows her EHIC at Hospital Universitario La Paz — only what the hospital needs");
    let nonce = b64::encode(esspass_credential::random_bytes::<16>());
    let sel: Vec<Selection> = ["document_number", "personal_administrative_number"].iter().map(|p| Selection::parse(p)).collect::<Result<_, _>>()?;
    let now = time::OffsetDateTime::now_utc();
    let p = bind(select(ehic, &sel)?, ehic_holder, &nonce, &hospital, now.unix_timestamp())?;
    println!("   discloses document_number and personal_administrative_number (the EHIC's only selectively disclosable claims; the rulebook keeps the rest visible); KB-JWT for {hospital}");
    let r = hospital_verifier.verify(&p.serialize(), &Expectation { nonce: Some(&nonce), aud: Some(&hospital) }, now);
    show("hospital's verification report:", &r, Outcome::Valid);

    let (_, pda1_slug, _, pda1, pda1_holder, pda1_idx) = issued.get(1).ok_or_else(|| Failure::usage(ErrorCode::Internal, "pda1"))?;
    step(6, "Italy: labour inspector Nicola checks Georgios's PDA1 on site — the whole document, holder-bound");
    let nonce = b64::encode(esspass_credential::random_bytes::<16>());
    let now = time::OffsetDateTime::now_utc();
    let p = bind(SdJwt { kb_jwt: None, ..pda1.clone() }, pda1_holder, &nonce, &inspector, now.unix_timestamp())?;
    let r = inspector_verifier.verify(&p.serialize(), &Expectation { nonce: Some(&nonce), aud: Some(&inspector) }, now);
    show("inspector's verification report:", &r, Outcome::Valid);

    step(7, "Greece: e-EFKA withdraws the PDA1 — its status becomes INVALID and the list is re-signed");
    let inst = institutions.get_mut(pda1_slug).ok_or_else(|| Failure::usage(ErrorCode::Internal, "institution"))?;
    inst.list.set(*pda1_idx, status::INVALID)?;
    inst.publish(&published)?;
    println!("   {} #{pda1_idx} = INVALID", inst.uri);

    step(8, "Italy, a little later: the inspector's cached list has outlived its ttl; the next check fetches it again");
    let nonce = b64::encode(esspass_credential::random_bytes::<16>());
    let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(TTL + 1);
    let p = bind(SdJwt { kb_jwt: None, ..pda1.clone() }, pda1_holder, &nonce, &inspector, later.unix_timestamp())?;
    let r = inspector_verifier.verify(&p.serialize(), &Expectation { nonce: Some(&nonce), aud: Some(&inspector) }, later);
    show(&format!("inspector's verification report ({} s later):", TTL + 1), &r, Outcome::Invalid);
    drop(rt);

    if all_as_expected {
        println!("\ndemo complete: EHIC valid, PDA1 valid, PDA1 revoked and rejected. Files in {}", dir.display());
        Ok(Exit::Ok)
    } else {
        println!("\ndemo finished with unexpected outcomes");
        Ok(Exit::Rejected)
    }
}
