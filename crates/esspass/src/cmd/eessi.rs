//! `esspass eessi send FILE --to CC:ID`: a back office hands a SED (its XML document) to the node's
//! EESSI access point; it is wrapped in its envelope, signed and queued in the node's database, and
//! the running node's outbox worker delivers it.

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use std::path::PathBuf;

/// The largest SED document read (the access point's own limit).
const MAX_SED_BYTES: usize = 1024 * 1024;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Queue a SED for another institution. Exit 0 queued (or queued before, under the same
    /// --message-id), 1 refused (invalid SED, receiver not in the Institution Repository), 2 usage.
    #[command(after_help = "EXAMPLES:\n  esspass eessi send a009.xml --to IT:INPS01 --config node/esspass.toml\n  esspass eessi send x001.xml --to IT:INPS01 --buc LA_BUC_04 --case 9000001 --message-id bo-4711 --json\n\nGive --message-id to make a retried hand-over harmless: the same id is queued once.")]
    Send {
        /// The SED as an XML document (the production shape: root namespace per SED and CDM version), `-` for standard input.
        file: String,
        /// The receiving institution (CC:ID as in the Institution Repository).
        #[arg(long)]
        to: String,
        /// The node's configuration (its database, key and `[eessi]` section).
        #[arg(long, env = "ESSPASS_CONFIG")]
        config: PathBuf,
        /// The BUC (default: the one this SED starts).
        #[arg(long)]
        buc: Option<String>,
        /// The case (default: a new case).
        #[arg(long)]
        case: Option<String>,
        /// The message id (default: a new one).
        #[arg(long = "message-id")]
        message_id: Option<String>,
        /// Who hands it over (recorded in the audit trail).
        #[arg(long, default_value = "cli-eessi")]
        actor: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(c: Command) -> CmdResult {
    let Command::Send { file, to, config, buc, case, message_id, actor, json } = c;
    let run = || -> Result<(String, bool), Failure> {
        let xml = crate::cmd::read_input_max(&file, MAX_SED_BYTES)?;
        let cfg = esspass_node::config::NodeConfig::load(&config).map_err(|e| Failure::usage(ErrorCode::Usage, e))?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
        rt.block_on(async {
            let clock = std::sync::Arc::new(esspass_core::SystemClock);
            let state = esspass_node::node::build_state(cfg, clock).await.map_err(|e| Failure::usage(ErrorCode::Internal, e))?;
            let ap = state.eessi.clone().ok_or_else(|| Failure::usage(ErrorCode::EessiNotConfigured, "the configuration has no [eessi] section"))?;
            let out = esspass_node::eessi::Outgoing { sed_xml: xml.as_bytes(), to: &to, buc: buc.as_deref(), case_id: case.as_deref(), message_id: message_id.as_deref() };
            let sent = ap.send_document(&out, &actor, time::OffsetDateTime::now_utc().unix_timestamp()).await;
            state.issuer.store.close().await;
            sent.map_err(|e| if e.status >= 500 { Failure::usage(e.code, e.detail) } else { Failure::rejected(e.code, e.detail) })
        })
    };
    let (id, queued) = run().map_err(|f| f.json(json))?;
    if json {
        output::print_json(&serde_json::json!({"message_id": id, "queued": queued}));
    } else if queued {
        println!("queued {id} for {to}");
    } else {
        println!("{id} was queued before; nothing new");
    }
    Ok(Exit::Ok)
}
