//! `esspass issue`: a PDA1 or EHIC as an SD-JWT VC.

use super::parse_instant;
use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use esspass_credential::vc::{IssueError, IssueRequest, issue};
use esspass_keys::files;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(after_help = "EXAMPLES:\n  esspass pki init --out pki && esspass pki new-key --out holder.key\n  esspass issue --type ehic --claims examples/ehic-claims.json --key pki/institutions/si-zzzs/signing.key \\\n      --chain pki/institutions/si-zzzs/chain.pem --holder-key holder.key --iss https://127.0.0.1:8442 > ehic.sd-jwt")]
pub struct Args {
    #[command(flatten)]
    doc: super::DocumentInput,
    /// The holder's key the credential is bound to (cnf): a public JWK JSON file, or a PKCS#8 PEM
    /// private key from which the public key is derived. (`--holder-jwk` is the old name.)
    #[arg(long = "holder-key", alias = "holder-jwk")]
    holder_jwk: PathBuf,
    /// The credential issuer identifier (https URL; must be a SAN URI of the signing certificate).
    #[arg(long)]
    iss: String,
    /// Start of technical validity (nbf), RFC 3339.
    #[arg(long = "valid-from")]
    valid_from: Option<String>,
    /// End of technical validity (exp), RFC 3339.
    #[arg(long = "valid-until")]
    valid_until: Option<String>,
    /// Status list URI.
    #[arg(long = "status-uri", requires = "status_idx")]
    status_uri: Option<String>,
    /// Index in the status list.
    #[arg(long = "status-idx", requires = "status_uri")]
    status_idx: Option<u64>,
    /// Leave out decoy digests.
    #[arg(long = "no-decoys")]
    no_decoys: bool,
    /// Check the credential with the verifier's own checks before writing it, against this trust
    /// anchor (PEM; repeatable): chain, signature, Type Metadata, claims, `iss`, validity (the status
    /// list is not fetched). Without it the signing setup is still checked.
    #[arg(long = "trust-anchor")]
    trust_anchor: Vec<PathBuf>,
    /// With --trust-anchor: the signed Issuer Trusted List the credential must satisfy (file).
    #[arg(long = "trusted-list", requires = "trust_anchor")]
    trusted_list: Option<PathBuf>,
    /// Write the result to this file instead of standard output (refused if it exists).
    #[arg(long)]
    out: Option<PathBuf>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CmdResult {
    let j = a.json;
    let super::Document { credential_type: t, claims, signer, chain } = a.doc.load(j)?;
    let holder = files::load_jwk(&a.holder_jwk).map_err(|e| Failure::from(e).json(j))?;
    if let Some(u) = &a.status_uri {
        crate::fetch::check_url(u).map_err(|e| Failure::usage(ErrorCode::Usage, e).json(j))?;
    }
    if !a.iss.starts_with("https://") {
        return Err(Failure::usage(ErrorCode::Usage, "--iss must be an https URL").json(j));
    }
    // What every verifier checks of the signing setup is checked before anything is signed.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let setup = esspass_credential::producer::check_signing_setup(&signer, &chain, Some(&a.iss), true, now).map_err(|e| Failure::usage(e.code, format!("{} / {}: {}", a.doc.key.display(), a.doc.chain.display(), e.detail)).json(j))?;
    if let (Some(leaf), Some(claimed)) = (setup.leaf(), claims.pointer("/issuing_authority/country").and_then(|c| c.as_str()))
        && let Some(cert_country) = esspass_credential::producer::subject_country(leaf)
        && let Some(claimed_country) = esspass_core::Country::parse(claimed).filter(|c| c.area().is_some())
        && Some(claimed_country.iso().to_owned()) != esspass_core::Country::parse(&cert_country).map(|c| c.iso().to_owned())
    {
        return Err(Failure::usage(ErrorCode::IssuingAuthorityMismatch, format!("issuing_authority.country {claimed} is not the signing certificate's country {cert_country} ({})", leaf.subject_text)).json(j));
    }
    let nbf = a.valid_from.as_deref().map(parse_instant).transpose().map_err(|e| e.json(j))?.map(|t| t.unix_timestamp());
    let exp = a.valid_until.as_deref().map(parse_instant).transpose().map_err(|e| e.json(j))?.map(|t| t.unix_timestamp());
    let iat = now;
    if let (Some(n), Some(e)) = (nbf.or(Some(iat)), exp)
        && e <= n
    {
        return Err(Failure::usage(ErrorCode::Usage, "--valid-until must be after --valid-from (and after now)").json(j));
    }
    let req = IssueRequest {
        credential_type: t,
        claims: &claims,
        signer: &signer,
        x5c: &chain,
        holder_jwk: &holder,
        iss: Some(&a.iss),
        iat,
        nbf: nbf.or(Some(iat)),
        exp,
        status: a.status_uri.as_deref().zip(a.status_idx),
        decoys: !a.no_decoys,
    };
    match issue(&req) {
        Ok(sd) => {
            let out = sd.serialize();
            if !a.trust_anchor.is_empty() {
                self_verify(&a, &out, now).map_err(|e| e.json(j))?;
            }
            if out.len() > super::MAX_CREDENTIAL_BYTES {
                return Err(Failure::usage(ErrorCode::InputTooLarge, format!("the credential would have {} bytes; verifiers read at most {}", out.len(), super::MAX_CREDENTIAL_BYTES)).json(j));
            }
            if j {
                output::print_json(&serde_json::json!({"credential": sd.serialize(), "vct": t.vct(), "disclosures": sd.disclosures.len()}));
            } else {
                super::write_out(a.out.as_deref(), &sd.serialize()).map_err(|e| e.json(j))?;
            }
            Ok(Exit::Ok)
        }
        Err(IssueError::Claims(problems)) => {
            if j {
                output::print_json(&serde_json::json!({"error": {"code": problems.0.first().map(|p| p.code.code()), "message": "the claims are invalid", "problems": problems}}));
            } else {
                eprintln!("the claims are invalid:");
                for p in &problems.0 {
                    eprintln!("  {} {}: {}", p.code, p.path, p.message);
                }
            }
            Ok(Exit::Usage)
        }
        Err(IssueError::Other(e)) => Err(Failure::usage(e.code, e.detail).json(j)),
    }
}

/// Run the verifier on what was just issued (the credential alone: no holder binding, no status
/// fetch) and refuse to write it if any check fails.
fn self_verify(a: &Args, credential: &str, now: i64) -> Result<(), Failure> {
    use esspass_credential::verify::{CheckResult, Expectation, Verifier};
    use esspass_credential::x509::{Certificate, ChainValidator};
    let mut anchors = Vec::new();
    for p in &a.trust_anchor {
        let text = std::fs::read_to_string(p).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", p.display())))?;
        anchors.extend(Certificate::all_from_pem(&text).map_err(|e| Failure::usage(e.code, format!("{}: {}", p.display(), e.detail)))?);
    }
    let chains = ChainValidator::new(anchors);
    let list = match &a.trusted_list {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", p.display())))?;
            Some(esspass_credential::trust::TrustedList::verify(text.trim(), &chains, now).map_err(|e| Failure::usage(e.code, format!("{}: {}", p.display(), e.detail)))?)
        }
        None => None,
    };
    let at = time::OffsetDateTime::from_unix_timestamp(now).map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
    let report = Verifier::new(chains, list, None).for_credential_only().verify(credential, &Expectation::default(), at);
    // The status list is not fetched here: its "could not check" is expected; everything else must pass.
    if let Some(c) = report.checks.iter().find(|c| matches!(c.result, CheckResult::Fail | CheckResult::Error) && c.id != "status") {
        let code = c.code.unwrap_or(ErrorCode::InvalidDocument);
        return Err(Failure::usage(code, format!("the credential would fail a verifier's {} check: {} (nothing was written)", c.id, c.detail)));
    }
    Ok(())
}
