//! `esspass api-key new`: a fresh API key for a node's back-office API, printed once, with the
//! configuration lines that admit it (only its hash goes into the configuration).

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a new API key: prints the key (give it to its client once; it is not kept anywhere)
    /// and the `[[api_keys]]` lines to paste into the node's configuration.
    #[command(after_help = "EXAMPLES:\n  esspass api-key new --name back-office --role back_office\n  esspass api-key new --name yiannis-payroll --role employer --employer EL094019245")]
    New {
        /// A name for the key (it appears in the audit trail as `api:NAME`).
        #[arg(long)]
        name: String,
        /// back_office, employer, case_worker or auditor.
        #[arg(long, value_parser = ["back_office", "employer", "case_worker", "auditor"])]
        role: String,
        /// For the employer role: the employer's id as used in A1 applications and employment records.
        #[arg(long)]
        employer: Option<String>,
        /// JSON output: `{key, name, role, employer_id, sha256, config}`.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(c: Command) -> CmdResult {
    let Command::New { name, role, employer, json } = c;
    if (role == "employer") != employer.is_some() {
        return Err(Failure::usage(ErrorCode::Usage, "--employer is required for, and only for, --role employer").json(json));
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
        return Err(Failure::usage(ErrorCode::Usage, "--name: letters, digits, '-', '_' and '.' only").json(json));
    }
    let key = format!("esk_{}", esspass_credential::b64::encode(esspass_credential::random_bytes::<32>()));
    let hash = esspass_store::hash_secret(&key);
    let mut config = format!("[[api_keys]]\nname = \"{name}\"\nrole = \"{role}\"\n");
    if let Some(e) = &employer {
        config.push_str(&format!("employer_id = \"{e}\"\n"));
    }
    config.push_str(&format!("sha256 = \"{hash}\"\n"));
    if json {
        output::print_json(&serde_json::json!({"key": key, "name": name, "role": role, "employer_id": employer, "sha256": hash, "config": config}));
    } else {
        println!("API key (shown once; the node keeps only its hash): {key}");
        println!("Clients send it as: Authorization: Bearer {key}");
        println!();
        println!("Add to the node's configuration and restart it:");
        print!("{config}");
    }
    Ok(Exit::Ok)
}
