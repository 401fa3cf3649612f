//! `esspass serve --config FILE`: run a node in the role its configuration names (institution,
//! pid_provider, verifier, trust, gateway or wallet).

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

/// The `role` a configuration file names.
fn role_of(path: &std::path::Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", path.display())))?;
    let v: toml::Table = toml::from_str(&text).map_err(|e| Failure::usage(ErrorCode::Usage, format!("{}: {e}", path.display())))?;
    Ok(v.get("role").and_then(|r| r.as_str()).unwrap_or("institution").to_owned())
}

fn start_error(config: &std::path::Path, e: &str) -> Failure {
    // A check that failed names its code first ("ESP-9003 (…)"): that code, printed once.
    let code = ErrorCode::ALL.iter().copied().find(|c| e.starts_with(c.code())).unwrap_or(ErrorCode::Usage);
    let rest = e.strip_prefix(code.code()).unwrap_or(e).trim_start();
    Failure::usage(code, format!("{}: the node cannot start: {rest}", config.display()))
}

fn init_logs(format: &str) {
    // Colours only on a terminal: a log file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_target(true).with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if format == "json" { builder.json().flatten_event(true).try_init() } else { builder.try_init() };
}

/// The verifier role: OpenID4VP transactions and verification proofs.
fn run_verifier(a: &Args) -> CmdResult {
    let cfg = esspass_node::verifier::config::VerifierConfig::load(&a.config).map_err(|e| Failure::usage(ErrorCode::Usage, e))?;
    if let Some(path) = cfg.database.strip_prefix("sqlite:")
        && let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent()
    {
        std::fs::create_dir_all(dir).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("the database folder {}: {e}", dir.display())))?;
    }
    init_logs(&a.log);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    rt.block_on(async {
        let node = esspass_node::verifier::start(cfg, None).await.map_err(|e| start_error(&a.config, &e))?;
        tracing::info!(target: "esspass::verifier", address = %node.addr, verifier = %node.state.cfg.verifier.id, "listening");
        tokio::signal::ctrl_c().await.map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
        tracing::info!(target: "esspass::verifier", "stopping");
        node.stop();
        Ok::<_, Failure>(())
    })?;
    Ok(Exit::Ok)
}

/// The trust and gateway roles: serve until Ctrl-C.
fn run_service<N, F>(a: &Args, target: &'static str, start: F) -> CmdResult
where
    F: FnOnce() -> Result<std::pin::Pin<Box<dyn std::future::Future<Output = Result<(std::net::SocketAddr, N), String>>>>, String>,
    N: Send,
{
    init_logs(&a.log);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    let fut = start().map_err(|e| start_error(&a.config, &e))?;
    rt.block_on(async {
        let (addr, node) = fut.await.map_err(|e| start_error(&a.config, &e))?;
        tracing::info!(target: "esspass::node", address = %addr, role = target, "listening");
        tokio::signal::ctrl_c().await.map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
        tracing::info!(target: "esspass::node", "stopping");
        drop(node);
        Ok::<_, Failure>(())
    })?;
    Ok(Exit::Ok)
}

pub fn run(a: Args) -> CmdResult {
    match role_of(&a.config)?.as_str() {
        "verifier" => return run_verifier(&a),
        "trust" => {
            return run_service(&a, "trust", || {
                let cfg = esspass_node::trust::TrustNodeConfig::load(&a.config)?;
                Ok(Box::pin(async move { esspass_node::trust::start(cfg, None).await.map(|n| (n.addr, n)) }))
            });
        }
        "wallet" => {
            return run_service(&a, "wallet", || {
                let cfg = esspass_node::webwallet::WebWalletConfig::load(&a.config)?;
                Ok(Box::pin(async move { esspass_node::webwallet::start(cfg, None).await.map(|n| (n.addr, n)) }))
            });
        }
        "gateway" => {
            return run_service(&a, "gateway", || {
                let cfg = esspass_node::gateway::GatewayConfig::load(&a.config)?;
                Ok(Box::pin(async move { esspass_node::gateway::start(cfg, None).await.map(|n| (n.addr, n)) }))
            });
        }
        _ => {}
    }
    let cfg = esspass_node::config::NodeConfig::load(&a.config).map_err(|e| Failure::usage(ErrorCode::Usage, e))?;
    if let Some(path) = cfg.database.strip_prefix("sqlite:")
        && let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent() {
            std::fs::create_dir_all(dir).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("the database folder {}: {e}", dir.display())))?;
        }
    init_logs(&a.log);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    rt.block_on(async {
        let node = esspass_node::node::start(cfg, None).await.map_err(|e| start_error(&a.config, &e))?;
        // Logs carry no personal data and no key material.
        tracing::info!(target: "esspass::node", address = %node.addr, issuer = %node.state.cfg.public_url, "listening");
        tokio::signal::ctrl_c().await.map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
        tracing::info!(target: "esspass::node", "stopping");
        node.stop();
        Ok::<_, Failure>(())
    })?;
    Ok(Exit::Ok)
}
