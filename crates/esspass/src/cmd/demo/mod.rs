//! `esspass demo`: a small Europe in one process — the trust operator, a gateway, a PID provider,
//! institutions of SI, GR, IT and ES, a Spanish hospital and an Italian labour inspectorate, each a
//! real node over HTTPS on 127.0.0.1 on its own SQLite database in a fresh data directory — and the
//! Communication's two journeys run through their interfaces (`journeys`), printed as a timeline.

mod journeys;
mod network;

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(after_help = "EXAMPLES:\n  esspass demo\n  esspass demo --exit --json --any-ports --data-dir /tmp/esspass-demo\n  esspass demo --serve          # keep the network running; see esspass-data/demo/network.json")]
pub struct Args {
    /// Data directory, created afresh. An existing one is emptied only if an earlier demo made it
    /// (it holds the demo's marker file) or with --force; any other non-empty folder is refused.
    #[arg(long = "data-dir", default_value = "esspass-data/demo")]
    data_dir: PathBuf,
    /// Empty a non-empty --data-dir that an earlier demo did not make (everything in it is lost).
    #[arg(long)]
    force: bool,
    /// Print every step as JSON (one document at the end) instead of the timeline.
    #[arg(long)]
    json: bool,
    /// Exit after the journeys (the default without --serve): status 0 only if every step succeeded.
    #[arg(long)]
    exit: bool,
    /// Keep the network running after the journeys (until Ctrl-C), for a person to use; every
    /// node's URL, role, institution id and demo API keys are in DATA/network.json.
    #[arg(long)]
    serve: bool,
    /// Let the system choose free ports instead of the demo's fixed ones (8400 gateway, 8430 trust,
    /// 8440–8444 PID provider and institutions, 8451–8452 verifiers).
    #[arg(long = "any-ports")]
    any_ports: bool,
}

/// The file that marks a folder as the demo's own (the next run may empty it).
const DEMO_MARKER: &str = ".esspass-demo";

fn prepare(a: &Args) -> Result<(), Failure> {
    let dir = &a.data_dir;
    let io = |e: std::io::Error| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", dir.display()));
    let non_empty = std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(false);
    if non_empty {
        if !dir.join(DEMO_MARKER).is_file() && !a.force {
            return Err(Failure::usage(
                ErrorCode::FileUnwritable,
                format!("{} is not empty and was not made by `esspass demo` (no {DEMO_MARKER}): choose another --data-dir, or add --force to empty it", dir.display()),
            ));
        }
        std::fs::remove_dir_all(dir).map_err(io)?;
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(dir.join(DEMO_MARKER), "made by `esspass demo`; the next demo run empties this folder\n").map_err(io)?;
    Ok(())
}

pub fn run(a: Args) -> CmdResult {
    prepare(&a)?;
    let j = a.json;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()).json(j))?;
    rt.block_on(async {
        let started = std::time::Instant::now();
        if !j {
            println!("esspass demo — Živa's EHIC (Slovenia → Spain) and Georgios's PDA1 (Greece → Italy), through the nodes' real interfaces");
            println!("data directory: {}", a.data_dir.display());
        }
        let net = network::Network::start(&a.data_dir, a.any_ports).await.map_err(|e| e.json(j))?;
        let description = net.write_description().map_err(|e| e.json(j))?;
        if !j {
            println!("\nThe network (HTTPS on 127.0.0.1, SQLite; configurations in {}):", a.data_dir.join("nodes").display());
            for n in &net.nodes {
                println!("  {:<12} {:<13} {:<3} {}", n.name, n.role, n.country, n.url);
            }
        }
        let georgios = journeys::seed(&net).await.map_err(|e| e.json(j))?;
        net.build_bundle().await.map_err(|e| e.json(j))?;
        let world = journeys::World::new(&net).await.map_err(|e| e.json(j))?;
        let mut tl = journeys::Timeline { steps: Vec::new(), print: !j };
        if !j {
            println!("\nŽiva, insured in Slovenia, on holiday in Spain: her European Health Insurance Card");
        }
        journeys::ziva(&world, &mut tl).await;
        if !j {
            println!("\nGeorgios, employed in Greece, posted to Milan: his Portable Document A1");
        }
        journeys::georgios(&world, &mut tl, &georgios).await;
        // Both journeys end with a known number of steps: a journey cut short is a failure too.
        let expected = [("ziva", 5), ("georgios", 9)];
        let complete = expected.iter().all(|(jn, n)| tl.steps.iter().filter(|s| s.journey == *jn && s.ok).count() == *n);
        let ok = complete && tl.steps.iter().all(|s| s.ok);
        let total_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if j {
            output::print_json(&serde_json::json!({"ok": ok, "millis": total_ms, "steps": tl.steps, "network": description, "nodes": net.nodes}));
        } else {
            println!("\n{} — {} steps in {:.1} s; the network is described in {}", if ok { "Both journeys succeeded" } else { "A step FAILED" }, tl.steps.len(), total_ms as f64 / 1000.0, description.display());
        }
        if a.serve && !a.exit {
            let gw = net.node("gateway").map(|n| n.url.clone()).unwrap_or_default();
            eprintln!("\nThe network keeps running. Start here: {gw}/ (the gateway). Ctrl-C stops it.");
            tokio::signal::ctrl_c().await.map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
        }
        net.stop();
        Ok(if ok { Exit::Ok } else { Exit::Rejected })
    })
}
