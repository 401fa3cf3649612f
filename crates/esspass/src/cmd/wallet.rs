//! `esspass wallet`: a holder wallet on the command line for people and tests without an EUDI
//! wallet — credentials received over OpenID4VCI (pre-authorized code, DPoP, deferred issuance),
//! each bound to its own key, kept encrypted at rest under a passphrase (Argon2id → AES-256-GCM,
//! `esspass_wallet::store`).
//!
//! The passphrase comes from `--passphrase-file`, else `ESSPASS_WALLET_PASSPHRASE`, else it is
//! asked for on the terminal (not echoed).

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use esspass_credential::sdjwt::SdJwt;
use esspass_credential::trust::TrustedList;
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_wallet::holder::{Consent, HolderError, Received, SignIn};
use esspass_wallet::store::WalletFile;
use esspass_wallet::{Oid4vciClient, WalletError};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Common {
    /// The wallet file (created by the first `receive`).
    #[arg(long, env = "ESSPASS_WALLET", default_value = "wallet.esspass")]
    wallet: PathBuf,
    /// A file holding the passphrase (else `ESSPASS_WALLET_PASSPHRASE`, else asked on the terminal).
    #[arg(long = "passphrase-file")]
    passphrase_file: Option<PathBuf>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Receive credentials from an offer (`openid-credential-offer://…`): pre-authorized code with
    /// the transaction code given to you apart from the offer; a new key for each credential.
    #[command(after_help = "EXAMPLES:\n  esspass wallet receive --tls-ca pki/root/ca.pem --tx-code 493817 'openid-credential-offer://?credential_offer_uri=https%3A%2F%2F127.0.0.1%3A8443%2F…'\n  esspass wallet receive --wait 600 --tls-ca pki/root/ca.pem OFFER   # an A1 a case worker decides later: wait for it\n  esspass wallet receive --sign-in-with-pid --client-id esspass-cli --redirect-uri https://wallet.example/cb --trust-anchor pki/root/ca.pem --verifier-list pki/trusted-lists/verifiers.jwt OFFER\n  esspass wallet receive --sign-in-with-pid … https://127.0.0.1:8442#ehic   # no offer: ask the issuer for a configuration")]
    Receive {
        #[command(flatten)]
        common: Common,
        /// The offer link (or a file holding it, or `-`).
        offer: String,
        /// The transaction code (PIN) the institution gave you by another channel.
        #[arg(long = "tx-code")]
        tx_code: Option<String>,
        /// CA certificate (PEM) trusted for HTTPS besides the system's; repeatable.
        #[arg(long = "tls-ca")]
        tls_ca: Vec<PathBuf>,
        /// When the issuer decides later (deferred issuance): poll for up to this many seconds;
        /// 0 keeps it pending for `wallet collect`.
        #[arg(long, default_value_t = 0)]
        wait: u64,
        /// The authorization-code flow instead of the pre-authorized code: sign in at the
        /// institution by presenting this wallet's PID (needs --client-id, --redirect-uri,
        /// --trust-anchor, --verifier-list).
        #[arg(long = "sign-in-with-pid")]
        sign_in_with_pid: bool,
        /// The wallet's client id, registered with the institution (authorization-code flow).
        #[arg(long = "client-id", requires = "sign_in_with_pid")]
        client_id: Option<String>,
        /// The wallet's redirect URI, registered with the institution.
        #[arg(long = "redirect-uri", requires = "sign_in_with_pid")]
        redirect_uri: Option<String>,
        /// The trust operator's root (PEM), for the institution's PID request (also trusted for HTTPS).
        #[arg(long = "trust-anchor", requires = "sign_in_with_pid")]
        trust_anchor: Option<PathBuf>,
        /// The signed Verifier Trusted List: the institution must be in it to see the PID.
        #[arg(long = "verifier-list", requires = "sign_in_with_pid")]
        verifier_list: Option<PathBuf>,
        /// Consent to the PID presentation given in advance.
        #[arg(long, requires = "sign_in_with_pid")]
        yes: bool,
    },
    /// Ask the issuers of pending (deferred) issuances whether the credentials are ready.
    #[command(after_help = "EXAMPLES:\n  esspass wallet collect --tls-ca pki/root/ca.pem")]
    Collect {
        #[command(flatten)]
        common: Common,
        #[arg(long = "tls-ca")]
        tls_ca: Vec<PathBuf>,
    },
    /// The credentials held (and the issuances pending).
    #[command(after_help = "EXAMPLES:\n  esspass wallet list\n  esspass wallet list --json")]
    List {
        #[command(flatten)]
        common: Common,
    },
    /// One credential: its claims and which of them can be disclosed selectively.
    #[command(after_help = "EXAMPLES:\n  esspass wallet show c-1a2b3c4d")]
    Show {
        #[command(flatten)]
        common: Common,
        /// The credential's wallet id (or a unique prefix).
        id: String,
    },
    /// Answer a verifier's request (`openid4vp://…`): fetch and check the signed request (the
    /// verifier in the Verifier Trusted List, the query within its registered profile), show exactly
    /// what will be disclosed, ask for consent unless --yes, and answer.
    #[command(after_help = "EXAMPLES:\n  esspass wallet present --trust-anchor pki/root/ca.pem --verifier-list pki/trusted-lists/verifiers.jwt 'openid4vp://?client_id=x509_hash%3A…&request_uri=https%3A%2F%2F…'")]
    Present {
        #[command(flatten)]
        common: Common,
        /// The request link (or a file holding it, or `-`).
        request: String,
        /// The trust operator's root (PEM): the request's certificate and the list chain to it; also trusted for HTTPS.
        #[arg(long = "trust-anchor")]
        trust_anchor: PathBuf,
        /// The signed Verifier Trusted List (a file).
        #[arg(long = "verifier-list")]
        verifier_list: PathBuf,
        /// Which credential to present (its wallet id) when several fit.
        #[arg(long)]
        credential: Option<String>,
        /// Consent given in advance: do not ask.
        #[arg(long)]
        yes: bool,
        #[arg(long = "tls-ca")]
        tls_ca: Vec<PathBuf>,
    },
    /// Delete a credential and its key from the wallet.
    #[command(after_help = "EXAMPLES:\n  esspass wallet delete c-1a2b3c4d")]
    Delete {
        #[command(flatten)]
        common: Common,
        id: String,
    },
}

fn passphrase(c: &Common) -> Result<String, Failure> {
    if let Some(p) = &c.passphrase_file {
        let s = std::fs::read_to_string(p).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", p.display())))?;
        return Ok(s.trim_end_matches(['\n', '\r']).to_owned());
    }
    if let Ok(s) = std::env::var("ESSPASS_WALLET_PASSPHRASE") {
        return Ok(s);
    }
    rpassword::prompt_password("wallet passphrase: ").map_err(|e| Failure::usage(ErrorCode::Usage, format!("no passphrase: give --passphrase-file or ESSPASS_WALLET_PASSPHRASE ({e})")))
}

fn wallet_err(e: WalletError) -> Failure {
    match e {
        WalletError::Passphrase => Failure::usage(ErrorCode::KeyInvalid, e.to_string()),
        WalletError::Store(_) => Failure::usage(ErrorCode::FileUnreadable, e.to_string()),
        WalletError::Issuer { status, body } => Failure::rejected(ErrorCode::FetchFailed, format!("the issuer answered {status}: {body}")),
        WalletError::Http(_) => Failure::usage(ErrorCode::FetchFailed, e.to_string()),
        WalletError::Protocol(_) => Failure::rejected(ErrorCode::FetchFailed, e.to_string()),
    }
}

fn open(c: &Common, create: bool) -> Result<WalletFile, Failure> {
    let pass = passphrase(c).map_err(|e| e.json(c.json))?;
    let w = if create && !c.wallet.exists() { WalletFile::create(&c.wallet, &pass) } else { WalletFile::open(&c.wallet, &pass) };
    w.map_err(|e| wallet_err(e).json(c.json))
}

fn client(tls_ca: &[PathBuf], j: bool) -> Result<Oid4vciClient, Failure> {
    let mut cas = Vec::new();
    for p in tls_ca {
        let text = std::fs::read_to_string(p).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", p.display())).json(j))?;
        cas.extend(Certificate::all_from_pem(&text).map_err(|e| Failure::usage(e.code, format!("{}: {}", p.display(), e.detail)).json(j))?.into_iter().map(|c| c.der));
    }
    Oid4vciClient::new(&cas).map_err(|e| wallet_err(e).json(j))
}

fn runtime(j: bool) -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()).json(j))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn holder_err(e: HolderError) -> Failure {
    match e {
        HolderError::Wallet(w) => wallet_err(w),
        HolderError::Refused(r) => Failure::rejected(r.code, r.reason),
        HolderError::Declined => Failure::rejected(ErrorCode::Usage, "declined: nothing was sent"),
    }
}

/// Ask for pending issuances until `deadline` (Unix seconds; once when it has passed).
fn collect(w: &mut WalletFile, c: &Oid4vciClient, rt: &tokio::runtime::Runtime, deadline: i64) -> Result<Vec<String>, Failure> {
    let mut got = Vec::new();
    loop {
        let (ids, wait) = rt.block_on(c.collect_pending(w, now())).map_err(holder_err)?;
        got.extend(ids);
        match wait {
            Some(wait) if now() + i64::try_from(wait).unwrap_or(i64::MAX) <= deadline => std::thread::sleep(std::time::Duration::from_secs(wait)),
            _ => return Ok(got),
        }
    }
}

fn document_number(sd: &str) -> Option<String> {
    let parsed = SdJwt::parse(sd).ok()?;
    let c = esspass_credential::sdjwt::present::contents(&parsed).ok()?;
    c.claims.get("document_number").and_then(|v| v.as_str()).map(str::to_owned)
}

/// The trust a presentation is checked against: the anchors and the Verifier Trusted List.
fn verifier_trust(trust_anchor: &std::path::Path, verifier_list: &std::path::Path, j: bool) -> Result<(ChainValidator, TrustedList), Failure> {
    let anchors = Certificate::all_from_pem(&std::fs::read_to_string(trust_anchor).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", trust_anchor.display())).json(j))?).map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
    let chains = ChainValidator::new(anchors);
    let vtl_text = std::fs::read_to_string(verifier_list).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", verifier_list.display())).json(j))?;
    let vtl = TrustedList::verify(vtl_text.trim(), &chains, now()).map_err(|e| Failure::usage(e.code, format!("{}: {}", verifier_list.display(), e.detail)).json(j))?;
    Ok((chains, vtl))
}

/// Show the holder what a presentation discloses (stderr) and, unless `yes`, ask.
fn ask_consent(c: &Consent, yes: bool, j: bool) -> bool {
    let req = &c.request;
    if !j || !yes {
        eprintln!("verifier   {} ({}, {}) — in the Verifier Trusted List as {}", req.verifier.name, req.verifier.country.iso(), req.client_id, req.verifier.verifier_id);
        if let Some(p) = &req.purpose {
            eprintln!("purpose    {p}");
        }
        eprintln!("credential {} ({})", c.credential_id, c.vct);
        eprintln!("discloses  {}", if c.plan.disclosed.is_empty() { "(nothing selectively disclosable)".to_owned() } else { c.plan.disclosed.join(", ") });
        eprintln!("visible    {} (always part of this credential)", c.plan.always_visible.join(", "));
    }
    if yes {
        return true;
    }
    eprint!("share this with {}? [y/N] ", req.verifier.name);
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
}

pub fn run(cmd: Command) -> CmdResult {
    match cmd {
        Command::Receive { common, offer, tx_code, tls_ca, wait, sign_in_with_pid, client_id, redirect_uri, trust_anchor, verifier_list, yes } => {
            let j = common.json;
            let link = if offer.starts_with("openid-credential-offer://") || offer.starts_with("https://") { offer.clone() } else { super::read_input(&offer).map_err(|e| e.json(j))?.trim().to_owned() };
            let mut cas = tls_ca.clone();
            cas.extend(trust_anchor.clone());
            let c = client(&cas, j)?;
            let rt = runtime(j)?;
            let mut w = open(&common, true)?;
            // An offer link, or (authorization-code flow only) an issuer URL with the configuration
            // as fragment: a wallet-initiated request.
            let resolved = match link.strip_prefix("https://").and_then(|_| link.split_once('#')) {
                Some((issuer, config)) if sign_in_with_pid => serde_json::json!({"credential_issuer": issuer, "credential_configuration_ids": [config]}),
                _ => rt.block_on(c.resolve_offer(&link)).map_err(|e| wallet_err(e).json(j))?,
            };
            let issuer = resolved.get("credential_issuer").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let trust = match (sign_in_with_pid, trust_anchor.as_ref(), verifier_list.as_ref(), client_id.as_deref(), redirect_uri.as_deref()) {
                (false, ..) => None,
                (true, Some(anchor), Some(vlist), Some(_), Some(_)) => Some(verifier_trust(anchor, vlist, j)?),
                (true, ..) => return Err(Failure::usage(ErrorCode::Usage, "--sign-in-with-pid needs --client-id, --redirect-uri, --trust-anchor and --verifier-list").json(j)),
            };
            let sign_in = trust.as_ref().map(|(chains, verifiers)| SignIn { client_id: client_id.as_deref().unwrap_or_default(), redirect_uri: redirect_uri.as_deref().unwrap_or_default(), chains, verifiers });
            if sign_in.is_some() && !j {
                eprintln!("sign-in    {issuer} asks for your PID to identify you");
            }
            let mut consent = |c: &Consent| ask_consent(c, yes, j);
            let mut received = match rt.block_on(c.receive_into(&mut w, &resolved, tx_code.as_deref(), sign_in, &mut consent, now())).map_err(|e| holder_err(e).json(j))? {
                Received::Issued(ids) => ids,
                Received::Pending(_) => Vec::new(),
            };
            if received.is_empty() && wait > 0 && !w.contents.pending.is_empty() {
                received = collect(&mut w, &c, &rt, now() + i64::try_from(wait).unwrap_or(0)).map_err(|e| e.json(j))?;
            }
            w.save().map_err(|e| wallet_err(e).json(j))?;
            let pending = w.contents.pending.len();
            if j {
                output::print_json(&serde_json::json!({"received": received, "pending": pending, "issuer": issuer}));
            } else {
                for id in &received {
                    if let Some(cr) = w.find(id) {
                        println!("received   {id}  {}  from {issuer}", cr.vct);
                    }
                }
                if received.is_empty() && pending > 0 {
                    println!("pending    the issuer decides later: `esspass wallet collect` asks again");
                }
            }
            Ok(Exit::Ok)
        }
        Command::Collect { common, tls_ca } => {
            let j = common.json;
            let c = client(&tls_ca, j)?;
            let rt = runtime(j)?;
            let mut w = open(&common, false)?;
            let got = collect(&mut w, &c, &rt, 0).map_err(|e| e.json(j))?;
            if j {
                output::print_json(&serde_json::json!({"received": got, "pending": w.contents.pending.len()}));
            } else {
                println!("received   {} credential(s); {} still pending", got.len(), w.contents.pending.len());
            }
            Ok(Exit::Ok)
        }
        Command::List { common } => {
            let j = common.json;
            let w = open(&common, false)?;
            let rows: Vec<serde_json::Value> = w
                .contents
                .credentials
                .iter()
                .map(|c| serde_json::json!({"id": c.id, "vct": c.vct, "issuer": c.issuer, "received_at": c.received_at, "document_number": document_number(&c.sd_jwt)}))
                .collect();
            let pending: Vec<serde_json::Value> = w.contents.pending.iter().map(|p| serde_json::json!({"id": p.id, "issuer": p.issuer, "created_at": p.created_at})).collect();
            if j {
                output::print_json(&serde_json::json!({"credentials": rows, "pending": pending}));
            } else {
                if rows.is_empty() {
                    println!("(no credentials)");
                }
                for r in &rows {
                    println!("{}  {}  {}  from {}", r["id"].as_str().unwrap_or(""), r["vct"].as_str().unwrap_or(""), r["document_number"].as_str().unwrap_or("-"), r["issuer"].as_str().unwrap_or(""));
                }
                for p in &pending {
                    println!("{}  pending  from {}", p["id"].as_str().unwrap_or(""), p["issuer"].as_str().unwrap_or(""));
                }
            }
            Ok(Exit::Ok)
        }
        Command::Show { common, id } => {
            let j = common.json;
            let w = open(&common, false)?;
            let c = w.find(&id).ok_or_else(|| Failure::usage(ErrorCode::Usage, format!("no credential {id} in {}", common.wallet.display())).json(j))?;
            let parsed = SdJwt::parse(&c.sd_jwt).map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
            let contents = esspass_credential::sdjwt::present::contents(&parsed).map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
            if j {
                output::print_json(&serde_json::json!({"id": c.id, "vct": c.vct, "issuer": c.issuer, "received_at": c.received_at, "claims": contents.claims, "disclosable": contents.disclosable}));
            } else {
                println!("id        {}", c.id);
                println!("type      {}", c.vct);
                println!("issuer    {}", c.issuer);
                println!("can be disclosed selectively:");
                for p in &contents.disclosable {
                    println!("  {p}");
                }
                println!("{}", serde_json::to_string_pretty(&contents.claims).unwrap_or_default());
            }
            Ok(Exit::Ok)
        }
        Command::Present { common, request, trust_anchor, verifier_list, credential, yes, tls_ca } => {
            let j = common.json;
            let link = if request.starts_with("openid4vp://") || request.starts_with("https://") { request.clone() } else { super::read_input(&request).map_err(|e| e.json(j))?.trim().to_owned() };
            let mut cas = tls_ca.clone();
            cas.push(trust_anchor.clone());
            let c = client(&cas, j)?;
            let rt = runtime(j)?;
            let w = open(&common, false)?;
            let (chains, vtl) = verifier_trust(&trust_anchor, &verifier_list, j)?;
            let consent = rt.block_on(c.prepare_presentation(&w, &link, &chains, &vtl, credential.as_deref(), now())).map_err(|e| holder_err(e).json(j))?;
            if !ask_consent(&consent, yes, j) {
                if j {
                    output::print_json(&serde_json::json!({"outcome": "declined"}));
                } else {
                    println!("declined   nothing was sent");
                }
                return Ok(Exit::Rejected);
            }
            let (verifier, credential_id, disclosed) = (consent.request.verifier.clone(), consent.credential_id.clone(), consent.plan.disclosed.clone());
            let answer = rt.block_on(c.send_presentation(consent, now())).map_err(|e| holder_err(e).json(j))?;
            if j {
                output::print_json(&serde_json::json!({"outcome": "sent", "verifier": verifier.verifier_id, "credential": credential_id, "disclosed": disclosed, "answer": answer}));
            } else {
                println!("sent       to {} ({})", verifier.name, verifier.verifier_id);
            }
            Ok(Exit::Ok)
        }
        Command::Delete { common, id } => {
            let j = common.json;
            let mut w = open(&common, false)?;
            let found = w.find(&id).map(|c| c.id.clone()).ok_or_else(|| Failure::usage(ErrorCode::Usage, format!("no credential {id} in {}", common.wallet.display())).json(j))?;
            w.contents.credentials.retain(|c| c.id != found);
            w.save().map_err(|e| wallet_err(e).json(j))?;
            if j {
                output::print_json(&serde_json::json!({"deleted": found}));
            } else {
                println!("deleted    {found} and its key");
            }
            Ok(Exit::Ok)
        }
    }
}
