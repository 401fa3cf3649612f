//! `esspass audit verify|checkpoint`: check a node's audit trail; sign its head.

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use esspass_credential::x509::{Certificate, ChainValidator};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify the hash chain and every signed checkpoint; exit 1 if a record was edited, deleted,
    /// reordered or truncated.
    #[command(after_help = "EXAMPLES:\n  esspass audit verify --database sqlite:node/data/si-zzzs.db --checkpoints node/data/audit-checkpoints.jsonl \\\n      --pin node/institutions/si-zzzs/chain.pem --trust-anchor node/root/ca.pem --max-age 120")]
    Verify {
        /// The node's database (sqlite:PATH or postgres://…); never created if missing.
        #[arg(long, env = "ESSPASS_DATABASE_URL")]
        database: String,
        /// Checkpoint signers must chain to this trust anchor (PEM).
        #[arg(long = "trust-anchor")]
        trust_anchor: Option<PathBuf>,
        /// The institution's signing certificate (PEM): every checkpoint must be signed by it.
        #[arg(long)]
        pin: Option<PathBuf>,
        /// The node's checkpoint file (`audit.checkpoint_file`), kept outside the database.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// Fail when the newest valid checkpoint is older than this many seconds.
        #[arg(long = "max-age")]
        max_age: Option<i64>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Sign the current chain head with the institution's key (the node does this every 30 s).
    #[command(after_help = "EXAMPLES:\n  esspass audit checkpoint --database sqlite:node/data/si-zzzs.db --key node/institutions/si-zzzs/signing.key \\\n      --chain node/institutions/si-zzzs/chain.pem --institution-id SI:ZZZS --checkpoints node/data/audit-checkpoints.jsonl")]
    Checkpoint {
        /// The node's database (sqlite:PATH or postgres://…); never created if missing.
        #[arg(long, env = "ESSPASS_DATABASE_URL")]
        database: String,
        /// The institution's signing key (PKCS#8 PEM).
        #[arg(long)]
        key: PathBuf,
        /// The institution's certificate chain (PEM, leaf first).
        #[arg(long)]
        chain: PathBuf,
        /// The institution's EESSI id (`SI:ZZZS`), the checkpoint's `iss`.
        #[arg(long = "institution-id")]
        institution_id: String,
        /// Also append the checkpoint to this file, kept outside the database (the node's
        /// `audit.checkpoint_file`).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
}

/// A database failure as the operator should read it: a missing database says so, other errors
/// name the database and their kind, never raw SQL.
fn db_failure(database: &str, e: &esspass_store::StoreError) -> Failure {
    match e {
        esspass_store::StoreError::NotFound(what) => Failure::usage(ErrorCode::NoSuchDatabase, format!("{what} (check --database; nothing was created)")),
        esspass_store::StoreError::Url(what) => Failure::usage(ErrorCode::Usage, format!("--database {database}: {what}")),
        _ => Failure::usage(ErrorCode::Internal, format!("{database}: the database could not be read ({})", esspass_node::http::store_error_kind(e))),
    }
}

pub fn run(c: Command) -> CmdResult {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match c {
        Command::Verify { database, trust_anchor, pin, checkpoints, max_age, json } => {
            let anchors = match trust_anchor {
                Some(p) => {
                    let text = std::fs::read_to_string(&p).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", p.display())).json(json))?;
                    Some(ChainValidator::new(Certificate::all_from_pem(&text).map_err(|e| Failure::usage(e.code, e.detail).json(json))?))
                }
                None => None,
            };
            let pinned = match pin {
                Some(p) => {
                    let text = std::fs::read_to_string(&p).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", p.display())).json(json))?;
                    Some(Certificate::from_pem(&text).map_err(|e| Failure::usage(e.code, e.detail).json(json))?)
                }
                None => None,
            };
            let mut unreadable = Vec::new();
            let outside = match checkpoints {
                Some(p) => {
                    let (c, bad) = esspass_node::services::audit::read_checkpoint_file(&p).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, e).json(json))?;
                    unreadable = bad;
                    c
                }
                None => Vec::new(),
            };
            let opts = esspass_node::services::audit::VerifyOptions { anchors: anchors.as_ref(), pinned: pinned.as_ref(), outside, max_age };
            let v = rt
                .block_on(async {
                    let store = esspass_store::Store::connect_existing(&database).await?;
                    let v = esspass_node::services::audit::verify(&store, &opts, now).await;
                    store.close().await;
                    v
                })
                .map_err(|e| db_failure(&database, &e).json(json))?;
            let mut v = v;
            if !unreadable.is_empty() {
                v.ok = false;
                v.problems.extend(unreadable);
            }
            if json {
                output::print_json(&v);
            } else {
                println!("{} records, head {}, {} signed checkpoint(s): {}", v.records, v.head_seq, v.checkpoints, if v.ok { "intact" } else { "BROKEN" });
                for p in &v.problems {
                    println!("  {p}");
                }
            }
            Ok(if v.ok { Exit::Ok } else { Exit::Rejected })
        }
        Command::Checkpoint { database, key, chain, institution_id, checkpoints } => {
            let signer = esspass_keys::files::load_signer(&key)?;
            let chain = esspass_keys::files::load_chain(&chain)?;
            let signed = rt
                .block_on(async {
                    let store = esspass_store::Store::connect_existing(&database).await?;
                    let r = esspass_node::services::audit::checkpoint(&store, &signer, &chain, &institution_id, checkpoints.as_deref(), now).await;
                    store.close().await;
                    r
                })
                .map_err(|e| db_failure(&database, &e))?;
            match signed {
                Some(seq) => println!("signed checkpoint at record {seq}"),
                None => println!("the head is already signed"),
            }
            Ok(Exit::Ok)
        }
    }
}
