//! `esspass status-list new|set|sign|show`: Token Status Lists from files.
//! A list file is JSON `{"bits": N, "lst": "<zlib base64url>"}` (the `status_list` claim).

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use esspass_credential::status::{StatusList, TokenClaims, sign_token};
use esspass_keys::files;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a list of SIZE entries, all VALID.
    #[command(after_help = "EXAMPLES:\n  esspass status-list new --bits 2 --size 1048576 --out list.json")]
    New {
        /// Bits per entry: 1, 2, 4 or 8.
        #[arg(long, default_value_t = 2)]
        bits: u8,
        /// Number of entries (a positive multiple of 8).
        #[arg(long, default_value_t = 1_048_576)]
        size: usize,
        /// Where to write the list (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Set the status at an index (0 VALID, 1 INVALID, 2 SUSPENDED, 3 application-specific).
    #[command(after_help = "EXAMPLES:\n  esspass status-list set --list list.json --status-idx 42 --value 1   # revoke entry 42")]
    Set {
        /// The list file (JSON), changed in place.
        #[arg(long)]
        list: PathBuf,
        /// The index (the credential's `status.status_list.idx`; `--idx` is the old name).
        #[arg(long = "status-idx", alias = "idx")]
        idx: usize,
        /// 0 VALID, 1 INVALID (revoked), 2 SUSPENDED, 3 application-specific.
        #[arg(long)]
        value: u8,
    },
    /// Sign a list as a statuslist+jwt.
    #[command(after_help = "EXAMPLES:\n  esspass status-list sign --list list.json --key pki/institutions/si-zzzs/signing.key \\\n      --chain pki/institutions/si-zzzs/chain.pem --uri https://127.0.0.1:8442/status/1 --out list.jwt")]
    Sign {
        /// The list file (JSON).
        #[arg(long)]
        list: PathBuf,
        /// The signing key (PKCS#8 PEM): the issuer's, or its status issuer's.
        #[arg(long)]
        key: PathBuf,
        /// The signing key's certificate chain (PEM, leaf first, the trust anchor left out).
        #[arg(long)]
        chain: PathBuf,
        /// The URI the token is published at (its `sub`).
        #[arg(long)]
        uri: String,
        /// Seconds a verifier may cache the token.
        #[arg(long, default_value_t = 300)]
        ttl: i64,
        /// Seconds until the token expires.
        #[arg(long = "expires-in", default_value_t = 86_400)]
        expires_in: i64,
        /// Where to write the token.
        #[arg(long)]
        out: PathBuf,
    },
    /// Show the status at an index of a list file, and what it means.
    #[command(after_help = "EXAMPLES:\n  esspass status-list get --list list.json --status-idx 42")]
    Get {
        /// The list file (JSON).
        #[arg(long)]
        list: PathBuf,
        /// The index (`--idx` is the old name).
        #[arg(long = "status-idx", alias = "idx")]
        idx: usize,
        /// JSON output: `{idx, value, meaning}`.
        #[arg(long)]
        json: bool,
    },
}

fn load(path: &std::path::Path) -> Result<StatusList, Failure> {
    let text = super::read_input_max(&path.display().to_string(), 64 * 1024 * 1024)?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Failure::usage(ErrorCode::InvalidJson, format!("{}: {e}", path.display())))?;
    Ok(StatusList::from_json(&v)?)
}

fn save(path: &std::path::Path, l: &StatusList) -> Result<(), Failure> {
    let text = serde_json::to_string(&l.to_json()?).map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    std::fs::write(path, text).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", path.display())))
}

pub fn run(c: Command) -> CmdResult {
    match c {
        Command::New { bits, size, out } => {
            if size == 0 || !size.is_multiple_of(8) {
                return Err(Failure::usage(ErrorCode::Usage, format!("--size {size}: a list needs a positive number of entries, a multiple of 8")));
            }
            save(&out, &StatusList::new(bits, size)?)?;
            println!("{}: {size} entries of {bits} bit(s)", out.display());
        }
        Command::Set { list, idx, value } => {
            let mut l = load(&list)?;
            if idx >= l.len() {
                return Err(Failure::usage(ErrorCode::StatusIndexOutOfRange, format!("index {idx} outside a list of {} entries (0–{})", l.len(), l.len().saturating_sub(1))));
            }
            l.set(idx, value)?;
            save(&list, &l)?;
            println!("{}: [{idx}] = {value}", list.display());
        }
        Command::Sign { list, key, chain, uri, ttl, expires_in, out } => {
            crate::fetch::check_url(&uri).map_err(|e| Failure::usage(ErrorCode::Usage, e))?;
            if expires_in < 1 || ttl < 0 {
                return Err(Failure::usage(ErrorCode::Usage, "--expires-in must be at least 1 second and --ttl not negative: a token that is already expired is refused by every verifier"));
            }
            let l = load(&list)?;
            let signer = files::load_signer(&key)?;
            let chain_path = chain.clone();
            let chain = files::load_chain(&chain)?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            esspass_credential::producer::check_signing_setup(&signer, &chain, None, false, now).map_err(|e| Failure::usage(e.code, format!("{} / {}: {}", key.display(), chain_path.display(), e.detail)))?;
            let token = sign_token(&signer, &chain, &l, &TokenClaims { sub: uri, iat: now, exp: Some(now + expires_in), ttl: Some(ttl) })?;
            std::fs::write(&out, &token).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", out.display())))?;
            println!("{}: statuslist+jwt, {} bytes", out.display(), token.len());
        }
        Command::Get { list, idx, json } => {
            let l = load(&list).map_err(|e| e.json(json))?;
            let v = l.get(idx).ok_or_else(|| Failure::usage(ErrorCode::StatusIndexOutOfRange, format!("index {idx} outside a list of {} entries (0–{})", l.len(), l.len().saturating_sub(1))).json(json))?;
            let meaning = match v {
                0 => "VALID",
                1 => "INVALID (revoked)",
                2 => "SUSPENDED",
                _ => "application-specific",
            };
            if json {
                output::print_json(&serde_json::json!({"idx": idx, "value": v, "meaning": meaning}));
            } else {
                println!("[{idx}] = {v} ({meaning})");
            }
        }
    }
    Ok(Exit::Ok)
}
