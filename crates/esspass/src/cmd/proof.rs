//! `esspass proof verify`: an institution checks a verification proof a hospital or inspector hands
//! it (docs/domain.md §2.5): the signature and chain, the verifier in the Verifier Trusted List, and
//! that the salted reference is to a document number the institution issued.

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use esspass_credential::proof::VerificationProof;
use esspass_credential::trust::{ListBody, TrustedList};
use esspass_credential::x509::{Certificate, ChainValidator};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check a verification proof against a document number. Exit 0 it is a proof of a check of
    /// that document by a listed verifier, 1 it is not, 2 could not check.
    #[command(after_help = "EXAMPLES:\n  esspass proof verify proof.jwt --document-number SI00ZZZS0000004711 --institution-id SI:ZZZS \\\n      --trust-anchor pki/root/ca.pem --verifier-list pki/trusted-lists/verifiers.jwt")]
    Verify {
        /// The proof (a compact JWS) in a file, `-` for standard input.
        proof: String,
        /// The document number the proof is said to be about.
        #[arg(long = "document-number")]
        document_number: String,
        /// The issuing institution the proof must name (your own id, e.g. `SI:ZZZS`).
        #[arg(long = "institution-id")]
        institution_id: Option<String>,
        /// The trust operator's root (PEM).
        #[arg(long = "trust-anchor")]
        trust_anchor: PathBuf,
        /// The signed Verifier Trusted List (a file).
        #[arg(long = "verifier-list")]
        verifier_list: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(c: Command) -> CmdResult {
    let Command::Verify { proof, document_number, institution_id, trust_anchor, verifier_list, json: j } = c;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let anchors = Certificate::all_from_pem(&std::fs::read_to_string(&trust_anchor).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", trust_anchor.display())).json(j))?)
        .map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
    let chains = ChainValidator::new(anchors);
    let list_text = std::fs::read_to_string(&verifier_list).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", verifier_list.display())).json(j))?;
    let list = TrustedList::verify(list_text.trim(), &chains, now).map_err(|e| Failure::usage(e.code, format!("{}: {}", verifier_list.display(), e.detail)).json(j))?;
    if !matches!(list.body, ListBody::Verifiers { .. }) {
        return Err(Failure::usage(ErrorCode::TrustedListInvalid, format!("{}: not a Verifier Trusted List", verifier_list.display())).json(j));
    }
    let text = super::read_input(&proof).map_err(|e| e.json(j))?;
    let checked = VerificationProof::verify_for(text.trim(), &chains, &list, &document_number, institution_id.as_deref());
    match checked {
        Ok((p, entry)) => {
            if j {
                output::print_json(&serde_json::json!({"outcome": "valid", "proof": p, "verifier": {"verifier_id": entry.verifier_id, "name": entry.name, "country": entry.country}}));
            } else {
                let at = time::OffsetDateTime::from_unix_timestamp(p.iat).ok().and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default();
                println!("outcome    VALID proof of a check of {document_number}");
                println!("verifier   {} ({}, {}) at {at}", entry.name, entry.verifier_id, entry.country.iso());
                println!("check      {} (profile {}, policy {}){}", p.outcome, p.profile, p.policy_version, p.checked_for_date.as_deref().map(|d| format!(" for {d}")).unwrap_or_default());
                if let Some(s) = &p.status {
                    println!("status     {} ({}{})", s.value, s.source, s.age_seconds.map(|a| format!(", {a} s old")).unwrap_or_default());
                }
            }
            Ok(Exit::Ok)
        }
        Err(e) => {
            if j {
                output::print_json(&serde_json::json!({"outcome": "invalid", "code": e.code.code(), "detail": e.detail}));
            } else {
                println!("outcome    INVALID ({} {})", e.code.code(), e.detail);
            }
            Ok(Exit::Rejected)
        }
    }
}
