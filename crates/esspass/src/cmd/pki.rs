//! `esspass pki init`: the demo PKI and signed trusted lists.

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create the demo PKI (root, intermediate, institution and verifier keys and certificates,
    /// TLS certificates for 127.0.0.1) and the signed Issuer and Verifier Trusted Lists.
    #[command(after_help = "EXAMPLES:\n  esspass pki init --out pki\n  esspass pki init --out pki --force   # replace an existing PKI (its keys are lost)")]
    Init {
        /// Output directory. It must not exist or be empty, unless --force; the PKI is made in a
        /// temporary folder beside it and moved into place, so a failure leaves nothing half made.
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing PKI in --out (its private keys and root CA are lost).
        #[arg(long)]
        force: bool,
        /// JSON output (the manifest).
        #[arg(long)]
        json: bool,
    },
    /// Create a P-256 key pair (a holder key, say): PKCS#8 PEM with mode 0600; prints the public JWK.
    /// Re-issue an institution's signing certificate (a new key) for another issuer URL — to run its
    /// node on another host or port — and re-sign the trusted lists with it.
    #[command(after_help = "EXAMPLES:\n  esspass pki reissue --dir pki --institution si-zzzs --issuer-url https://127.0.0.1:9442")]
    Reissue {
        /// The PKI folder made by `esspass pki init`.
        #[arg(long)]
        dir: PathBuf,
        /// The institution's slug (`si-zzzs`, `el-efka`, … as `pki init` lists them).
        #[arg(long)]
        institution: String,
        /// The credential issuer identifier the node will publish (`public_url`): https, no trailing slash.
        #[arg(long = "issuer-url")]
        issuer_url: String,
    },
    #[command(after_help = "EXAMPLES:\n  esspass pki new-key --out holder.key > holder.jwk")]
    NewKey {
        /// Where to write the private key (refused if it exists, unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing key file (the old key is lost).
        #[arg(long)]
        force: bool,
    },
}

pub fn run(c: Command) -> CmdResult {
    match c {
        Command::Reissue { dir, institution, issuer_url } => {
            if !issuer_url.starts_with("https://") || issuer_url.ends_with('/') || url::Url::parse(&issuer_url).is_err() {
                return Err(Failure::usage(ErrorCode::Usage, format!("--issuer-url {issuer_url}: an https URL without a trailing slash")));
            }
            if !dir.join("pki.json").is_file() {
                return Err(Failure::usage(ErrorCode::FileMissing, format!("{}: not a PKI made by `esspass pki init` (no pki.json)", dir.display())));
            }
            let m = esspass_keys::pki::reissue_institution(&dir, &institution, &issuer_url, time::OffsetDateTime::now_utc())?;
            let i = m.institutions.iter().find(|i| i.slug == institution).ok_or_else(|| Failure::usage(ErrorCode::Usage, format!("no institution {institution}")))?;
            println!("{} ({}) re-issued for {issuer_url}: key {}, chain {}; the trusted lists were re-signed", i.name, i.institution_id, dir.join(&i.signing_key).display(), dir.join(&i.chain).display());
            println!("set public_url = \"{issuer_url}\" (and listen) in the node's configuration");
            Ok(Exit::Ok)
        }
        Command::NewKey { out, force } => {
            use esspass_credential::Signer;
            if out.exists() && !force {
                return Err(Failure::usage(ErrorCode::FileUnwritable, format!("{} exists: a private key is never replaced without --force", out.display())));
            }
            let k = esspass_credential::EcdsaP256Signer::generate()?;
            // Written beside the target and renamed over it: the old key is replaced only by a whole new one.
            let tmp = sibling(&out, "tmp");
            esspass_keys::files::write_private_key(&tmp, &k.to_pkcs8_der()?)?;
            std::fs::rename(&tmp, &out).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", out.display()))
            })?;
            output::print_json(&k.public_jwk());
            Ok(Exit::Ok)
        }
        Command::Init { out, json, force } => {
            let non_empty = std::fs::read_dir(&out).map(|mut d| d.next().is_some()).unwrap_or(false);
            if non_empty && !force {
                return Err(Failure::usage(ErrorCode::FileUnwritable, format!("{} is not empty: a PKI (keys, root CA) is never replaced without --force", out.display())).json(json));
            }
            let tmp = sibling(&out, "tmp");
            let _ = std::fs::remove_dir_all(&tmp);
            let m = match esspass_keys::pki::init_demo(&tmp, time::OffsetDateTime::now_utc()) {
                Ok(m) => m,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&tmp);
                    return Err(Failure::from(e).json(json));
                }
            };
            // Into place: an old PKI (with --force) is moved aside first and removed last.
            let old = sibling(&out, "old");
            let moved_old = out.exists() && std::fs::rename(&out, &old).is_ok();
            if let Err(e) = std::fs::rename(&tmp, &out) {
                if moved_old {
                    let _ = std::fs::rename(&old, &out);
                }
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", out.display())).json(json));
            }
            if moved_old {
                let _ = std::fs::remove_dir_all(&old);
            }
            if json {
                output::print_json(&m);
            } else {
                println!("demo PKI written to {}", out.display());
                println!("  trust anchor          {}", out.join(&m.root).display());
                println!("  issuer trusted list   {}", out.join(&m.issuer_trusted_list).display());
                println!("  verifier trusted list {}", out.join(&m.verifier_trusted_list).display());
                for i in &m.institutions {
                    let types: Vec<&str> = i.credential_types.iter().map(|t| t.short_name()).collect();
                    println!("  institution {:<9} {} {} ({}) issues {}; key {}", i.slug, i.institution_id, i.name, i.country, types.join("+"), out.join(&i.signing_key).display());
                }
                for v in &m.verifiers {
                    println!("  verifier    {:<11} {} {} ({})", v.slug, v.verifier_id, v.name, v.country);
                }
            }
            Ok(Exit::Ok)
        }
    }
}

/// A sibling path of `p` for writing in place: `p.<what>-<pid>`.
fn sibling(p: &std::path::Path, what: &str) -> PathBuf {
    let mut name = p.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(format!(".{what}-{}", std::process::id()));
    p.with_file_name(name)
}
