//! `esspass pki init`: the demo PKI and signed trusted lists.

use crate::{CmdResult, Exit, Failure, output};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create the demo PKI (root, intermediate, institution and verifier keys and certificates,
    /// TLS certificates for 127.0.0.1) and the signed Issuer and Verifier Trusted Lists.
    Init {
        /// Output directory (created; files in it are replaced).
        #[arg(long)]
        out: PathBuf,
        /// JSON output (the manifest).
        #[arg(long)]
        json: bool,
    },
    /// Create a P-256 key pair (a holder key, say): PKCS#8 PEM with mode 0600; prints the public JWK.
    NewKey {
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(c: Command) -> CmdResult {
    match c {
        Command::NewKey { out } => {
            use esspass_credential::Signer;
            let k = esspass_credential::EcdsaP256Signer::generate()?;
            esspass_keys::files::write_private_key(&out, &k.to_pkcs8_der()?)?;
            output::print_json(&k.public_jwk());
            Ok(Exit::Ok)
        }
        Command::Init { out, json } => {
            let m = esspass_keys::pki::init_demo(&out, time::OffsetDateTime::now_utc()).map_err(|e| Failure::from(e).json(json))?;
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
