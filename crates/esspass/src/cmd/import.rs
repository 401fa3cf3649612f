//! `esspass import`: load insured persons and their coverage into a node's database.

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use esspass_node::services::import::{Format, import_persons, read_rows};

#[derive(clap::Args)]
#[command(after_help = "EXAMPLES:\n  esspass import --database sqlite:node/data/si-zzzs.db persons.csv --report errors.json\n\nCSV header: personal_number,family_name,given_name,birth_date,nationality,residence,birth_country,birth_place,coverage_kind,coverage_start,coverage_end,employer_id,employment_start,employment_end")]
pub struct Args {
    /// The file: .csv (header row), .json (array of objects) or .jsonl (one object per line).
    /// Fields: personal_number, family_name, given_name, birth_date, nationality, residence, birth_country, birth_place,
    /// coverage_kind (health | social_security), coverage_start, coverage_end.
    file: String,
    /// The node's database: sqlite:PATH (created if missing) or postgres://…
    #[arg(long, default_value = "sqlite:esspass-data/node.db", env = "ESSPASS_DATABASE_URL")]
    database: String,
    /// Override the format the extension implies.
    #[arg(long, value_parser = ["csv", "json", "jsonl"])]
    format: Option<String>,
    /// Who imports (recorded in the audit trail).
    #[arg(long, default_value = "cli-import")]
    actor: String,
    /// Write the per-row error report (JSON) to this file.
    #[arg(long)]
    report: Option<std::path::PathBuf>,
    /// JSON output (the report) instead of a summary and a progress bar.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CmdResult {
    let j = a.json;
    let format = match a.format.as_deref() {
        Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        Some("jsonl") => Format::JsonLines,
        _ => Format::from_path(&a.file).ok_or_else(|| Failure::usage(ErrorCode::Usage, format!("{}: give --format (csv, json or jsonl)", a.file)).json(j))?,
    };
    let file = std::fs::File::open(&a.file).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound { ErrorCode::FileMissing } else { ErrorCode::FileUnreadable };
        Failure::usage(code, format!("{}: {e}", a.file)).json(j)
    })?;
    let rows = read_rows(file, format).map_err(|e| Failure::usage(ErrorCode::InvalidJson, format!("{}: {e}", a.file)).json(j))?;
    // Nothing to import, or nothing importable: say so before any database is created.
    if rows.is_empty() {
        return Err(Failure::usage(ErrorCode::Usage, format!("{}: no rows to import (nothing was written, no database was created)", a.file)).json(j));
    }
    let nothing_valid = esspass_node::services::import::valid_rows(&rows) == 0;
    if !nothing_valid
        && let Some(path) = a.database.strip_prefix("sqlite:")
        && let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", dir.display())).json(j))?;
    }
    let total = rows.len() as u64;
    let rows_for_report = if nothing_valid { rows.clone() } else { Vec::new() };
    let bar = if j { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(total) };
    bar.set_style(indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {rate}  eta {eta}").map(|s| s.with_key("rate", |st: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| { let _ = write!(w, "{:.0}/s", st.per_sec()); })).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()).json(j))?;
    let started = std::time::Instant::now();
    let report = rt
        .block_on(async {
            let store = if nothing_valid { esspass_store::Store::connect_existing(&a.database).await? } else { esspass_store::Store::connect(&a.database).await? };
            let r = import_persons(&store, rows, &a.actor, time::OffsetDateTime::now_utc().unix_timestamp(), |n| bar.set_position(n as u64)).await;
            store.close().await;
            r
        })
        .or_else(|e| match e {
            // No importable row and no database: the report alone, nothing created.
            esspass_store::StoreError::NotFound(_) if nothing_valid => Ok(esspass_node::services::import::rejected_only(rows_for_report)),
            esspass_store::StoreError::Url(what) => Err(Failure::usage(ErrorCode::FileUnwritable, format!("--database {}: {what}", a.database)).json(j)),
            e if a.database.starts_with("sqlite:") => Err(Failure::usage(ErrorCode::FileUnwritable, format!("--database {}: the database cannot be opened or written ({}): check that its folder exists and is writable and the file is not read-only", a.database.split('?').next().unwrap_or_default(), esspass_node::http::store_error_kind(&e))).json(j)),
            e => Err(Failure::usage(ErrorCode::Internal, format!("--database {}: the database could not be written ({})", a.database.split('?').next().unwrap_or_default(), esspass_node::http::store_error_kind(&e))).json(j)),
        })?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = &a.report {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        std::fs::write(path, text).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", path.display())).json(j))?;
    }
    if j {
        output::print_json(&report);
    } else {
        println!("{} rows: {} imported, {} rejected in {:.1} s ({:.0} rows/s) into {}", report.rows, report.imported, report.rejected, secs, report.rows as f64 / secs.max(1e-9), a.database.split('?').next().unwrap_or_default());
        if report.imported > 0 {
            println!("  created person ids: {}", if a.report.is_some() { "in the report file (persons)" } else { "--json or --report FILE lists them (persons)" });
        }
        let unit = if format == Format::Json { "element" } else { "line" };
        for e in report.errors.iter().take(20) {
            for p in &e.problems {
                let who = e.personal_number.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
                println!("  {unit} {}{who}: {} {} {}", e.row, p.code, p.path, p.message);
            }
        }
        if report.errors.len() > 20 {
            println!("  … {} more rejected rows{}", report.errors.len() - 20, if a.report.is_some() { " (see the report file)" } else { "; --report FILE writes them all" });
        }
    }
    Ok(if report.rejected == 0 && report.imported > 0 { Exit::Ok } else { Exit::Rejected })
}
