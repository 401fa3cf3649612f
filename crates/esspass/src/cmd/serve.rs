//! `esspass serve --config FILE`: run a node (the institution role).

use crate::{CmdResult, Exit, Failure};
use esspass_core::ErrorCode;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(after_help = "EXAMPLES:\n  esspass pki init --out node && cp docs/esspass.example.toml node/esspass.toml\n  esspass api-key new --name back-office --role back_office   # paste its lines into node/esspass.toml\n  esspass serve --config node/esspass.toml")]
pub struct Args {
    /// The node's configuration (see the README's example `esspass.toml`).
    #[arg(long, env = "ESSPASS_CONFIG")]
    config: PathBuf,
    /// Log format on stderr: `json` (one object per line) or `text`.
    #[arg(long, default_value = "json", value_parser = ["json", "text"])]
    log: String,
}

pub fn run(a: Args) -> CmdResult {
    let cfg = esspass_node::config::NodeConfig::load(&a.config).map_err(|e| Failure::usage(ErrorCode::Usage, e))?;
    if let Some(path) = cfg.database.strip_prefix("sqlite:")
        && let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent() {
            std::fs::create_dir_all(dir).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("the database folder {}: {e}", dir.display())))?;
        }
    // Colours only on a terminal: a log file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_target(true).with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if a.log == "json" { builder.json().flatten_event(true).try_init() } else { builder.try_init() };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    rt.block_on(async {
        let node = esspass_node::node::start(cfg, None).await.map_err(|e| {
            // A check that failed names its code first ("ESP-9003 (…)"): that code, printed once.
            let code = ErrorCode::ALL.iter().copied().find(|c| e.starts_with(c.code())).unwrap_or(ErrorCode::Usage);
            let rest = e.strip_prefix(code.code()).unwrap_or(&e).trim_start();
            Failure::usage(code, format!("{}: the node cannot start: {rest}", a.config.display()))
        })?;
        // Logs carry no personal data and no key material.
        tracing::info!(target: "esspass::node", address = %node.addr, issuer = %node.state.cfg.public_url, "listening");
        tokio::signal::ctrl_c().await.map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
        tracing::info!(target: "esspass::node", "stopping");
        node.stop();
        Ok::<_, Failure>(())
    })?;
    Ok(Exit::Ok)
}
