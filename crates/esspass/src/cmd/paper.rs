//! `esspass paper issue|verify`: the paper PDA1 and EHIC — a signed QR code (docs/paper.md) checked
//! without a network, against a signed Issuer Trusted List kept locally.

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_paper::IssueRequest;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a paper credential: the QR text (`PA1:`/`EH1:` …) and the QR code as SVG.
    #[command(after_help = "EXAMPLES:\n  esspass paper issue --type ehic --claims examples/ehic-claims.json --key pki/institutions/si-zzzs/signing.key \\\n      --chain pki/institutions/si-zzzs/chain.pem --out ehic.paper.txt --svg ehic.qr.svg --pdf ehic.pdf --png ehic.qr.png")]
    Issue {
        #[command(flatten)]
        doc: super::DocumentInput,
        /// Days the paper credential stays valid (its `exp`).
        #[arg(long = "valid-days", default_value_t = 365)]
        valid_days: u32,
        /// Write the QR text here (a new file) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the QR code as SVG (a new file).
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Also write the printable A4 document as PDF (a new file): the holder's data, the QR code
        /// at 60 mm, the issuing institution and how to check it, in the issuing state's language and English.
        #[arg(long)]
        pdf: Option<PathBuf>,
        /// Also write the QR code as PNG (a new file).
        #[arg(long)]
        png: Option<PathBuf>,
        /// JSON output: `{text, qr_version, minimal}`.
        #[arg(long)]
        json: bool,
    },
    /// Check a paper credential offline: signature, signer and its authorisation from the signed
    /// Issuer Trusted List, validity, the document. Exit 0 valid, 1 rejected, 2 could not check.
    #[command(after_help = "EXAMPLES:\n  esspass paper verify --trust-anchor pki/root/ca.pem --trusted-list pki/trusted-lists/issuers.jwt ehic.paper.txt")]
    Verify {
        /// The QR text in a file (`-` for standard input).
        text: String,
        /// The trust operator's root (PEM) that signed the trusted list.
        #[arg(long = "trust-anchor")]
        trust_anchor: PathBuf,
        /// The signed Issuer Trusted List (a local copy: no network is used).
        #[arg(long = "trusted-list")]
        trusted_list: PathBuf,
        /// JSON output (the report).
        #[arg(long)]
        json: bool,
    },
}

pub fn run(c: Command) -> CmdResult {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match c {
        Command::Issue { doc, valid_days, out, svg, pdf, png, json } => {
            let j = json;
            let super::Document { credential_type: t, claims, signer, chain: chain_der } = doc.load(j)?;
            let (key, chain) = (&doc.key, &doc.chain);
            // What a verifier will check of the signer is checked first.
            let setup = esspass_credential::producer::check_signing_setup(&signer, &chain_der, None, true, now).map_err(|e| Failure::usage(e.code, format!("{} / {}: {}", key.display(), chain.display(), e.detail)).json(j))?;
            let iss = claims.pointer("/issuing_authority/id").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let leaf = setup.leaf().map(|c| c.der.clone()).unwrap_or_default();
            let p = esspass_paper::issue(&IssueRequest { credential_type: t, claims: &claims, signer: &signer, cert_der: &leaf, iss: &iss, iat: now, exp: now + i64::from(valid_days.max(1)) * 86_400 })
                .map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
            if let Some(path) = &pdf {
                let bytes = esspass_paper::pdf(&esspass_paper::PrintRequest { paper: &p, credential_type: t, claims: &claims, online_check: None }).map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
                write_new(path, &bytes).map_err(|e| e.json(j))?;
            }
            if let Some(path) = &png {
                write_new(path, &esspass_paper::png(&p, 8).map_err(|e| Failure::usage(e.code, e.detail).json(j))?).map_err(|e| e.json(j))?;
            }
            if let Some(path) = &svg {
                super::write_out(Some(path), &p.svg().map_err(|e| Failure::usage(e.code, e.detail).json(j))?).map_err(|e| e.json(j))?;
            }
            if j {
                output::print_json(&serde_json::json!({"text": p.text, "qr_version": p.qr_version, "minimal": p.minimal}));
            } else {
                super::write_out(out.as_deref(), &p.text).map_err(|e| e.json(j))?;
                if p.minimal {
                    eprintln!("note: the whole document does not fit a QR code of version {}: the paper carries its identifiers only; a verifier checks the rest online by document number", esspass_paper::MAX_QR_VERSION);
                }
            }
            Ok(Exit::Ok)
        }
        Command::Verify { text, trust_anchor, trusted_list, json } => {
            let j = json;
            let qr = super::read_input_max(&text, 64 * 1024).map_err(|e| e.json(j))?;
            let anchors = Certificate::all_from_pem(&std::fs::read_to_string(&trust_anchor).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", trust_anchor.display())).json(j))?)
                .map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
            let list_text = std::fs::read_to_string(&trusted_list).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", trusted_list.display())).json(j))?;
            let list = esspass_credential::trust::TrustedList::verify(list_text.trim(), &ChainValidator::new(anchors), now).map_err(|e| Failure::usage(e.code, format!("{}: {}", trusted_list.display(), e.detail)).json(j))?;
            let today = esspass_core::Date::of_instant(time::OffsetDateTime::now_utc());
            let signers = match &list.body {
                esspass_credential::trust::ListBody::Issuers { issuers } => esspass_paper::bundle::signers(issuers, today),
                esspass_credential::trust::ListBody::Verifiers { .. } | esspass_credential::trust::ListBody::Institutions { .. } => Vec::new(),
            };
            let find = |k: &[u8]| signers.iter().find(|(kid, _)| kid.as_slice() == k).map(|(_, s)| s.clone());
            outcome(esspass_paper::verify(&qr, &find, now), j, &format!("offline, against {} (sequence {})", trusted_list.display(), list.sequence), None)
        }
    }
}

/// Write bytes to a new file (an existing one is not replaced).
fn write_new(path: &std::path::Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", path.display())))?;
    std::io::Write::write_all(&mut f, bytes).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", path.display())))
}

/// Print a paper verification's outcome (exit 0 valid, 1 rejected).
pub fn outcome(result: esspass_credential::Result<esspass_paper::PaperReport>, j: bool, checked: &str, extra: Option<serde_json::Value>) -> CmdResult {
    match result {
        Ok(r) => {
            if j {
                let mut v = serde_json::json!({"outcome": "valid", "report": r});
                if let (Some(x), Some(o)) = (extra, v.as_object_mut()) {
                    o.insert("offline".into(), x);
                }
                output::print_json(&v);
            } else {
                println!("outcome    VALID ({} paper credential{})", r.credential_type, if r.minimal { ", identifiers only: check the rest online" } else { "" });
                println!("signer     {} (kid {})", r.signer, r.kid);
                println!("document   {}", r.claims.get("document_number").and_then(|v| v.as_str()).unwrap_or("?"));
                println!("checked    {checked}");
            }
            Ok(Exit::Ok)
        }
        Err(e) => {
            if j {
                let mut v = serde_json::json!({"outcome": "invalid", "code": e.code.code(), "detail": e.detail});
                if let (Some(x), Some(o)) = (extra, v.as_object_mut()) {
                    o.insert("offline".into(), x);
                }
                output::print_json(&v);
            } else {
                println!("outcome    INVALID ({} {})", e.code.code(), e.detail);
                println!("checked    {checked}");
            }
            Ok(Exit::Rejected)
        }
    }
}
