//! `esspass offers --config FILE --all-insured`: new credential offers for every insured person
//! entitled to the credential (e.g. re-issuance of every EHIC), written as CSV for the mailing.

use crate::{CmdResult, Exit, Failure};
use esspass_core::ErrorCode;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(after_help = "EXAMPLES:\n  esspass offers --config node/esspass.toml --all-insured --valid-days 28 --out offers.csv\n\nEach row is written as soon as its offer is committed; Ctrl-C stops after the current offer and says how many were made.")]
pub struct Args {
    /// The node's configuration.
    #[arg(long, env = "ESSPASS_CONFIG")]
    config: PathBuf,
    /// Offer to every person in the records (those not entitled are counted and skipped). The only
    /// selection so far; it must be given, so that nobody mails every insured person by accident.
    #[arg(long = "all-insured")]
    all_insured: bool,
    /// How long the offers stay redeemable, in days (a letter takes weeks; default: the node's
    /// `issuance.offer_lifetime`).
    #[arg(long = "valid-days")]
    valid_days: Option<u32>,
    /// The credential configuration to offer.
    #[arg(long, default_value = "ehic")]
    configuration: String,
    /// CSV output: person_id, personal_number, credential_offer_uri, tx_code (mode 0600: it holds
    /// transaction codes). Refused if it exists.
    #[arg(long)]
    out: PathBuf,
    /// Who asks (recorded in the audit trail).
    #[arg(long, default_value = "cli-offers")]
    actor: String,
}

pub fn run(a: Args) -> CmdResult {
    if !a.all_insured {
        return Err(Failure::usage(ErrorCode::Usage, "say whom to offer to: --all-insured (the only selection so far)"));
    }
    let mut cfg = esspass_node::config::NodeConfig::load(&a.config).map_err(|e| Failure::usage(ErrorCode::Usage, e))?;
    if let Some(d) = a.valid_days {
        if d == 0 || d > 366 {
            return Err(Failure::usage(ErrorCode::Usage, "--valid-days must be 1 to 366"));
        }
        cfg.issuance.offer_lifetime = i64::from(d) * 86_400;
    }
    let mut opts = std::fs::OpenOptions::new();
    // Never over an earlier mailing's file: its codes would be lost.
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(&a.out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::usage(ErrorCode::FileUnwritable, format!("{} exists: choose another --out (an earlier file holds codes people may still need)", a.out.display()))
        } else {
            Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", a.out.display()))
        }
    })?;
    let mut out = std::io::BufWriter::new(file);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    let started = std::time::Instant::now();
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (made, skipped) = rt.block_on(async {
        {
            let flag = interrupted.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
        let state = esspass_node::node::build_state(cfg, std::sync::Arc::new(esspass_core::SystemClock)).await.map_err(|e| Failure::usage(ErrorCode::Internal, e))?;
        let store = &state.issuer.store;
        let total = store.count_persons().await.map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
        let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0));
        bar.set_style(indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} persons  {rate}  eta {eta}").map(|s| s.with_key("rate", |st: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| { let _ = write!(w, "{:.0}/s", st.per_sec()); })).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
        let write_err = |e: std::io::Error| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", a.out.display()));
        writeln!(out, "person_id,personal_number,credential_offer_uri,tx_code").map_err(write_err)?;
        out.flush().map_err(write_err)?;
        let (mut made, mut skipped) = (0u64, 0u64);
        let mut after = String::new();
        loop {
            let page = store.persons_after(&after, 500).await.map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
            let Some(last) = page.last() else { break };
            after = last.person_id.clone();
            for p in page {
                if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                match state.issuer.create_offer(&a.configuration, &p.person_id, None, &a.actor, false, now).await {
                    Ok(o) => {
                        made += 1;
                        // Written and flushed as soon as the offer is committed: an interruption
                        // never leaves an offer in the database that is not in the file.
                        writeln!(out, "{},{},{},{}", p.person_id, p.personal_number, o.credential_offer_uri, o.tx_code.as_deref().unwrap_or_default()).map_err(write_err)?;
                        out.flush().map_err(write_err)?;
                    }
                    Err(e) if e.code == ErrorCode::NotEntitled => skipped += 1,
                    Err(e) => return Err(Failure::usage(e.code, e.detail)),
                }
                bar.inc(1);
            }
            if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
        }
        bar.finish_and_clear();
        out.flush().map_err(write_err)?;
        state.issuer.store.close().await;
        Ok::<_, Failure>((made, skipped))
    })?;
    let secs = started.elapsed().as_secs_f64();
    if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
        println!("interrupted: {made} offers were made and are all in {} ({skipped} persons not entitled, skipped); the rest were not offered", a.out.display());
        return Ok(Exit::Rejected);
    }
    println!("{made} offers written to {} ({skipped} persons not entitled, skipped) in {secs:.1} s ({:.0} offers/s)", a.out.display(), made as f64 / secs.max(1e-9));
    Ok(Exit::Ok)
}
