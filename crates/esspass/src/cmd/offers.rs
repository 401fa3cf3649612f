//! `esspass offers --config FILE --all-insured`: new credential offers for every insured person
//! entitled to the credential (e.g. re-issuance of every EHIC), written as CSV for the mailing.

use crate::{CmdResult, Exit, Failure};
use esspass_core::ErrorCode;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The node's configuration.
    #[arg(long, env = "ESSPASS_CONFIG")]
    config: PathBuf,
    /// Offer to every person in the records (those not entitled are counted and skipped).
    #[arg(long = "all-insured", required = true)]
    all_insured: bool,
    /// The credential configuration to offer.
    #[arg(long, default_value = "ehic")]
    configuration: String,
    /// CSV output: person_id, credential_offer_uri, tx_code (mode 0600: it holds transaction codes).
    #[arg(long)]
    out: PathBuf,
    /// Who asks (recorded in the audit trail).
    #[arg(long, default_value = "cli-offers")]
    actor: String,
}

pub fn run(a: Args) -> CmdResult {
    let cfg = esspass_node::config::NodeConfig::load(&a.config).map_err(|e| Failure::usage(ErrorCode::Usage, e))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(&a.out).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", a.out.display())))?;
    let mut out = std::io::BufWriter::new(file);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    let started = std::time::Instant::now();
    let (made, skipped) = rt.block_on(async {
        let state = esspass_node::node::build_state(cfg, std::sync::Arc::new(esspass_core::SystemClock)).await.map_err(|e| Failure::usage(ErrorCode::Internal, e))?;
        let store = &state.issuer.store;
        let total = store.count_persons().await.map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
        let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0));
        bar.set_style(indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} persons  {per_sec}  eta {eta}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
        writeln!(out, "person_id,credential_offer_uri,tx_code").map_err(|e| Failure::usage(ErrorCode::FileUnreadable, e.to_string()))?;
        let (mut made, mut skipped) = (0u64, 0u64);
        let mut after = String::new();
        loop {
            let page = store.persons_after(&after, 500).await.map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
            let Some(last) = page.last() else { break };
            after = last.person_id.clone();
            for p in page {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                match state.issuer.create_offer(&a.configuration, &p.person_id, None, &a.actor, false, now).await {
                    Ok(o) => {
                        made += 1;
                        writeln!(out, "{},{},{}", p.person_id, o.credential_offer_uri, o.tx_code.as_deref().unwrap_or_default()).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, e.to_string()))?;
                    }
                    Err(e) if e.code == ErrorCode::NotEntitled => skipped += 1,
                    Err(e) => return Err(Failure::usage(e.code, e.detail)),
                }
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        out.flush().map_err(|e| Failure::usage(ErrorCode::FileUnreadable, e.to_string()))?;
        state.issuer.store.close().await;
        Ok::<_, Failure>((made, skipped))
    })?;
    let secs = started.elapsed().as_secs_f64();
    println!("{made} offers written to {} ({skipped} persons not entitled, skipped) in {secs:.1} s ({:.0} offers/s)", a.out.display(), made as f64 / secs.max(1e-9));
    Ok(Exit::Ok)
}
