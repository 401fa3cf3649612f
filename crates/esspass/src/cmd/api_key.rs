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
        /// back_office, employer, case_worker or auditor (institution nodes); verifier (verifier nodes).
        #[arg(long, value_parser = ["back_office", "employer", "case_worker", "auditor", "verifier"])]
        role: String,
        /// For the employer role: the employer's id as used in A1 applications and employment records.
        #[arg(long)]
        employer: Option<String>,
        /// Write the key's hash into this node configuration: the `[[api_keys]]` entry of the same name
        /// gets it (its role and employer must match), or a new entry is appended. The key itself is
        /// still only printed.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// JSON output: `{key, name, role, employer_id, sha256, config}`.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(c: Command) -> CmdResult {
    let Command::New { name, role, employer, config: config_file, json } = c;
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
    if let Some(path) = &config_file {
        set_in_config(path, &name, &role, employer.as_deref(), &hash, &config).map_err(|e| e.json(json))?;
    }
    if json {
        output::print_json(&serde_json::json!({"key": key, "name": name, "role": role, "employer_id": employer, "sha256": hash, "config": config}));
    } else {
        println!("API key (shown once; the node keeps only its hash): {key}");
        println!("Clients send it as: Authorization: Bearer {key}");
        println!();
        match &config_file {
            Some(p) => println!("Written into {} (entry {name}); restart the node.", p.display()),
            None => {
                println!("Add to the node's configuration and restart it:");
                print!("{config}");
            }
        }
    }
    Ok(Exit::Ok)
}

/// Put the key's hash into the configuration: into the `[[api_keys]]` entry named `name` (whose role
/// and employer must be the ones asked for), or a new entry at the end. The file is replaced whole
/// (written beside it and renamed), and it must still load afterwards.
fn set_in_config(path: &std::path::Path, name: &str, role: &str, employer: Option<&str>, hash: &str, entry: &str) -> Result<(), Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::usage(if e.kind() == std::io::ErrorKind::NotFound { ErrorCode::FileMissing } else { ErrorCode::FileUnreadable }, format!("{}: {e}", path.display())))?;
    let mut out: Vec<String> = Vec::new();
    let mut found = false;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        out.push(line.to_owned());
        if line.trim() != "[[api_keys]]" {
            continue;
        }
        // The entry's lines up to the next table or a blank line.
        let mut body: Vec<String> = Vec::new();
        while let Some(next) = lines.peek() {
            if next.trim().starts_with('[') || next.trim().is_empty() {
                break;
            }
            body.push((*next).to_owned());
            lines.next();
        }
        let value = |k: &str| body.iter().find_map(|l| l.split_once('=').filter(|(key, _)| key.trim() == k).map(|(_, v)| v.trim().trim_matches('"').to_owned()));
        if value("name").as_deref() == Some(name) {
            if value("role").as_deref() != Some(role) || value("employer_id").as_deref() != employer {
                return Err(Failure::usage(ErrorCode::Usage, format!("{}: the entry {name} has another role or employer; choose another --name", path.display())));
            }
            found = true;
            for l in &mut body {
                if l.split_once('=').is_some_and(|(k, _)| k.trim() == "sha256") {
                    *l = format!("sha256 = \"{hash}\"");
                }
            }
        }
        out.extend(body);
    }
    let mut new_text = out.join("\n");
    new_text.push('\n');
    if !found {
        new_text.push('\n');
        new_text.push_str(entry);
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, &new_text).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", tmp.display())))?;
    let loads = if role == "verifier" { esspass_node::verifier::config::VerifierConfig::load(&tmp).map(|_| ()) } else { esspass_node::config::NodeConfig::load(&tmp).map(|_| ()) };
    if let Err(e) = loads {
        let _ = std::fs::remove_file(&tmp);
        return Err(Failure::usage(ErrorCode::Usage, format!("{}: the configuration would not load afterwards: {e}", path.display())));
    }
    std::fs::rename(&tmp, path).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", path.display())))
}
