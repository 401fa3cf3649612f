//! `esspass audit verify|checkpoint`: check a node's audit trail; sign its head.

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use esspass_credential::x509::{Certificate, ChainValidator};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify the hash chain and every signed checkpoint; exit 1 if a record was edited, deleted,
    /// reordered or truncated.
    Verify {
        #[arg(long, env = "ESSPASS_DATABASE_URL")]
        database: String,
        /// Checkpoint signers must chain to this trust anchor (PEM).
        #[arg(long = "trust-anchor")]
        trust_anchor: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Sign the current chain head with the institution's key (the node does this every 30 s).
    Checkpoint {
        #[arg(long, env = "ESSPASS_DATABASE_URL")]
        database: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        chain: PathBuf,
        #[arg(long = "institution-id")]
        institution_id: String,
    },
}

pub fn run(c: Command) -> CmdResult {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match c {
        Command::Verify { database, trust_anchor, json } => {
            let anchors = match trust_anchor {
                Some(p) => {
                    let text = std::fs::read_to_string(&p).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", p.display())).json(json))?;
                    Some(ChainValidator::new(Certificate::all_from_pem(&text).map_err(|e| Failure::usage(e.code, e.detail).json(json))?))
                }
                None => None,
            };
            let v = rt
                .block_on(async {
                    let store = esspass_store::Store::connect(&database).await?;
                    let v = esspass_node::services::audit::verify(&store, anchors.as_ref(), now).await;
                    store.close().await;
                    v
                })
                .map_err(|e| Failure::usage(ErrorCode::Internal, format!("database: {e}")).json(json))?;
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
        Command::Checkpoint { database, key, chain, institution_id } => {
            let signer = esspass_keys::files::load_signer(&key)?;
            let chain = esspass_keys::files::load_chain(&chain)?;
            let signed = rt
                .block_on(async {
                    let store = esspass_store::Store::connect(&database).await?;
                    let r = esspass_node::services::audit::checkpoint(&store, &signer, &chain, &institution_id, now).await;
                    store.close().await;
                    r
                })
                .map_err(|e| Failure::usage(ErrorCode::Internal, format!("database: {e}")))?;
            match signed {
                Some(seq) => println!("signed checkpoint at record {seq}"),
                None => println!("the head is already signed"),
            }
            Ok(Exit::Ok)
        }
    }
}
