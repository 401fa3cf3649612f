//! `esspass eessi send FILE --to CC:ID`: a back office hands a SED (its XML document) to the node's
//! EESSI access point; it is wrapped in its envelope, signed and queued in the node's database, and
//! the running node's outbox worker delivers it. `esspass eessi cases`, `case ID`, `reply CASE FILE`
//! and `close CASE` are the case worker's view and steps, the same service functions as the API
//! (reads and steps audited under `--actor`).

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
        /// The BUC (default: the one this SED starts).
        #[arg(long)]
        buc: Option<String>,
        /// The case (default: a new case).
        #[arg(long)]
        case: Option<String>,
        /// The message id (default: a new one).
        #[arg(long = "message-id")]
        message_id: Option<String>,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// The cases most recently moved (newest first): BUC, owner, status, documents and history.
    #[command(after_help = "EXAMPLES:\n  esspass eessi cases --config node/esspass.toml\n  esspass eessi cases --limit 20 --json")]
    Cases {
        /// How many cases at most.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// One case: participants, documents and their states, history, and every message with its SED.
    #[command(after_help = "EXAMPLES:\n  esspass eessi case 12345678 --config node/esspass.toml --json")]
    Case {
        /// The case id.
        case: String,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Send a SED in a case (an answer, a request for information …); the BUC decides whether it
    /// may be sent now. Exit 0 queued, 1 refused (the BUC, an invalid SED, no such case), 2 usage.
    #[command(after_help = "EXAMPLES:\n  esspass eessi reply 12345678 a011.xml --config node/esspass.toml\n  esspass eessi reply 12345678 a005.xml --to FR:CLEISS --json")]
    Reply {
        /// The case id.
        case: String,
        /// The SED as an XML document, `-` for standard input.
        file: String,
        /// The participant to send to, when the case has more than one other.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Close a case this institution owns: an X001 to every counterparty.
    #[command(after_help = "EXAMPLES:\n  esspass eessi close 12345678 --reason case_handled --config node/esspass.toml\n  esspass eessi close 12345678 --reason other --explanation \"merged with 87654321\"")]
    Close {
        /// The case id.
        case: String,
        /// `case_handled`, `sent_in_error`, `duplicate` or `other` (with --explanation).
        #[arg(long)]
        reason: String,
        #[arg(long)]
        explanation: Option<String>,
        #[command(flatten)]
        node: NodeArgs,
    },
}

/// What every `esspass eessi` command takes: the node, who acts, the output form.
#[derive(clap::Args)]
pub struct NodeArgs {
    /// The node's configuration (its database, key and `[eessi]` section).
    #[arg(long, env = "ESSPASS_CONFIG")]
    config: PathBuf,
    /// Who acts (recorded in the audit trail).
    #[arg(long, default_value = "cli-eessi")]
    actor: String,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Run `f` against the node's access point (its database, keys and repository), then close the
/// database. An error of the service maps to exit 1 (refused) or 2 (internal).
fn with_access_point<T>(config: &std::path::Path, f: impl AsyncFnOnce(&esspass_node::eessi::AccessPoint, i64) -> Result<T, esspass_node::services::issuance::ApiError>) -> Result<T, Failure> {
    let cfg = esspass_node::config::NodeConfig::load(config).map_err(|e| Failure::usage(ErrorCode::Usage, e))?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    rt.block_on(async {
        let clock = std::sync::Arc::new(esspass_core::SystemClock);
        let state = esspass_node::node::build_state(cfg, clock).await.map_err(|e| Failure::usage(ErrorCode::Internal, e))?;
        let ap = state.eessi.clone().ok_or_else(|| Failure::usage(ErrorCode::EessiNotConfigured, "the configuration has no [eessi] section"))?;
        let out = f(&ap, time::OffsetDateTime::now_utc().unix_timestamp()).await;
        state.issuer.store.close().await;
        out.map_err(|e| if e.status >= 500 { Failure::usage(e.code, e.detail) } else { Failure::rejected(e.code, e.detail) })
    })
}

pub fn run(c: Command) -> CmdResult {
    match c {
        Command::Send { .. } => send(c),
        Command::Cases { limit, node: NodeArgs { config, actor, json } } => {
            let rows = with_access_point(&config, async |ap, now| ap.list_cases(limit.clamp(1, 1000), &actor, now).await).map_err(|f| f.json(json))?;
            if json {
                output::print_json(&serde_json::json!(rows));
            } else if rows.is_empty() {
                println!("no cases");
            } else {
                for r in rows {
                    let field = |d: &serde_json::Value, k: &str| d.get(k).and_then(serde_json::Value::as_str).unwrap_or("?").to_owned();
                    let docs: Vec<String> = r.body.get("documents").and_then(serde_json::Value::as_array).into_iter().flatten().map(|d| format!("{} {}", field(d, "sed_type"), field(d, "state"))).collect();
                    println!("{}  {}  owner {}  {}  [{}]", r.case_id, r.buc, r.owner, r.status, docs.join(", "));
                }
            }
            Ok(Exit::Ok)
        }
        Command::Case { case, node: NodeArgs { config, actor, json } } => {
            let view = with_access_point(&config, async |ap, now| ap.show_case(&case, &actor, now).await).map_err(|f| f.json(json))?;
            if json {
                output::print_json(&view);
            } else {
                let text = |k: &str| view.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
                println!("case {}  {}  owner {}  {}", text("case_id"), text("buc"), text("owner"), text("status"));
                for m in view.get("messages").and_then(serde_json::Value::as_array).into_iter().flatten() {
                    let who = m.get("from").or_else(|| m.get("to")).and_then(serde_json::Value::as_str).unwrap_or("?");
                    let delivery = m.pointer("/delivery/state").and_then(serde_json::Value::as_str).map(|s| format!(" ({s})")).unwrap_or_default();
                    let direction = m.get("direction").and_then(serde_json::Value::as_str).unwrap_or("");
                    println!("  {direction} {} {} {who}{delivery}", m.pointer("/sed/sed_type").and_then(serde_json::Value::as_str).unwrap_or("?"), if direction == "sent" { "to" } else { "from" });
                }
            }
            Ok(Exit::Ok)
        }
        Command::Reply { case, file, to, node: NodeArgs { config, actor, json } } => {
            let xml = crate::cmd::read_input_max(&file, MAX_SED_BYTES).map_err(|f| f.json(json))?;
            let id = with_access_point(&config, async |ap, now| ap.reply(&case, xml.as_bytes(), to.as_deref(), &actor, now).await).map_err(|f| f.json(json))?;
            if json {
                output::print_json(&serde_json::json!({"message_id": id, "case_id": case}));
            } else {
                println!("queued {id} in case {case}");
            }
            Ok(Exit::Ok)
        }
        Command::Close { case, reason, explanation, node: NodeArgs { config, actor, json } } => {
            let why = esspass_eessi::sed::ClosureReason::parse(&reason).ok_or_else(|| Failure::usage(ErrorCode::Usage, "--reason is case_handled, sent_in_error, duplicate or other").json(json))?;
            let explanation = explanation.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
            let row = with_access_point(&config, async |ap, now| ap.close_case(&case, why, explanation, &actor, now).await).map_err(|f| f.json(json))?;
            if json {
                output::print_json(&serde_json::json!(row));
            } else {
                println!("case {} closed: X001 queued to every counterparty", row.case_id);
            }
            Ok(Exit::Ok)
        }
    }
}

fn send(c: Command) -> CmdResult {
    let Command::Send { file, to, buc, case, message_id, node: NodeArgs { config, actor, json } } = c else { return Ok(Exit::Ok) };
    let run = || -> Result<(String, bool), Failure> {
        let xml = crate::cmd::read_input_max(&file, MAX_SED_BYTES)?;
        let out = esspass_node::eessi::Outgoing { sed_xml: xml.as_bytes(), to: &to, buc: buc.as_deref(), case_id: case.as_deref(), message_id: message_id.as_deref() };
        with_access_point(&config, async |ap, now| ap.send_document(&out, &actor, now).await)
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
