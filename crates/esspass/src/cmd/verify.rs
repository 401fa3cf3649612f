//! `esspass verify`: the verification report of a presentation.

use super::{parse_instant, read_input};
use crate::fetch::Fetcher;
use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use esspass_credential::status::{CachePolicy, StatusCache};
use esspass_credential::trust::{ListHistory, TrustedList};
use esspass_credential::verify::{Expectation, Outcome, Verifier};
use esspass_credential::x509::{Certificate, ChainValidator};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
#[command(after_help = "EXAMPLES:\n  esspass verify --trust-anchor pki/root/ca.pem --trusted-list pki/trusted-lists/issuers.jwt --nonce N --aud https://verifier.example p.txt\n  esspass verify --offline bundle --trust-anchor pki/root/ca.pem ehic.paper.txt   # or a PNG/JPEG photo of the QR code\n  esspass verify --trust-anchor pki/root/ca.pem --credential-only ehic.sd-jwt   # the credential alone, holder binding NOT checked")]
pub struct Args {
    /// The presentation (SD-JWT or SD-JWT+KB), a file or `-` for stdin.
    input: String,
    /// A trust anchor certificate (PEM); repeatable. Without a trusted list, a chain to it is accepted
    /// only if its leaf carries the credential-signing key purpose (docs/pki.md).
    #[arg(long = "trust-anchor")]
    trust_anchor: Vec<PathBuf>,
    /// The signed Issuer Trusted List: a file, or an https URL.
    #[arg(long = "trusted-list")]
    trusted_list: Option<String>,
    /// Extra CA certificate (PEM) for HTTPS fetches; the trust anchors are trusted for HTTPS too.
    #[arg(long = "tls-ca")]
    tls_ca: Vec<PathBuf>,
    /// Verify as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// A file remembering the highest sequence number seen per trusted list (created if missing,
    /// updated after each run): a list older than one seen before is refused (ESP-3020).
    #[arg(long = "trust-state")]
    trust_state: Option<PathBuf>,
    /// The nonce the KB-JWT must carry.
    #[arg(long)]
    nonce: Option<String>,
    /// The audience the KB-JWT must carry.
    #[arg(long)]
    aud: Option<String>,
    /// Check the credential alone: holder binding (the KB-JWT) is NOT checked, and the report says so.
    /// Without it a credential with a holder key (cnf) must come with a KB-JWT (else ESP-5001).
    #[arg(long = "credential-only", conflicts_with_all = ["nonce", "aud"])]
    credential_only: bool,
    /// Accepted distance of the KB-JWT iat from the verification time, in seconds.
    #[arg(long = "kb-window", default_value_t = 300)]
    kb_window: i64,
    /// Longest age (seconds) of a cached status list accepted when it cannot be refetched.
    #[arg(long = "status-max-age", default_value_t = 86_400)]
    status_max_age: i64,
    /// Run the whole verification N times (status from cache after the first) and report the time per verification.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Verify offline against a trust bundle directory (`esspass bundle fetch`): signers, their
    /// authorisations, revocation data and status lists all come from the bundle, nothing from the
    /// network. INPUT may then also be a paper credential (`PA1:`/`EH1:` text) or a PNG/JPEG photo of
    /// its QR code. Give the trust operator's root with --trust-anchor.
    #[arg(long, value_name = "BUNDLE_DIR", conflicts_with_all = ["trusted_list", "trust_state", "tls_ca"])]
    offline: Option<PathBuf>,
    /// With --offline: the oldest bundle accepted, in hours since it was issued (refused beyond: ESP-8016).
    #[arg(long = "max-bundle-age", value_name = "HOURS", default_value_t = 48)]
    max_bundle_age: u32,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Status list tokens from the offline bundle: nothing is fetched.
struct BundleStatus(esspass_paper::bundle::Bundle);

impl esspass_credential::status::StatusListSource for BundleStatus {
    fn fetch(&self, uri: &str) -> Result<String, String> {
        self.0.status_token(uri).map(str::to_owned).ok_or_else(|| "the offline bundle does not carry this status list".to_owned())
    }
}

/// The largest photo or scan `--offline` reads.
const MAX_IMAGE_BYTES: usize = 25 * 1024 * 1024;

fn is_image(b: &[u8]) -> bool {
    b.starts_with(b"\x89PNG\r\n\x1a\n") || b.starts_with(&[0xFF, 0xD8, 0xFF])
}

fn read_bytes(path: &str, max: usize) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    let name = if path == "-" { "stdin" } else { path };
    let mut buf = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let read = if path == "-" { std::io::stdin().lock().take(limit).read_to_end(&mut buf) } else { std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut buf)) };
    read.map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{name}: {e}")))?;
    if buf.len() > max {
        return Err(Failure::usage(ErrorCode::InputTooLarge, format!("{name}: more than {max} bytes")));
    }
    Ok(buf)
}

fn run_offline(a: &Args, dir: &std::path::Path, now: time::OffsetDateTime) -> CmdResult {
    let j = a.json;
    if a.trust_anchor.is_empty() {
        return Err(Failure::usage(ErrorCode::NoTrustInput, "the bundle is verified with the trust operator's root: give --trust-anchor").json(j));
    }
    let anchors = load_certs(&a.trust_anchor, j)?;
    let t = now.unix_timestamp();
    let max_age = i64::from(a.max_bundle_age) * 3600;
    let b = super::bundle::load(dir, anchors.clone(), t, max_age).map_err(|e| Failure::usage(e.code, format!("{}: {}", dir.display(), e.detail)).json(j))?;
    let age = b.age(t);
    let about = serde_json::json!({"bundle": dir, "operator": b.manifest.operator, "sequence": b.manifest.sequence, "issued_at": b.manifest.issued_at, "age_seconds": age});
    let checked = format!("offline, against bundle {} of {} ({}), issued {} ago", b.manifest.sequence, b.manifest.operator, dir.display(), esspass_paper::bundle::age_text(age));
    let bytes = read_bytes(&a.input, MAX_IMAGE_BYTES).map_err(|e| e.json(j))?;
    let text = if is_image(&bytes) {
        esspass_paper::scan(&bytes).map_err(|e| Failure::usage(e.code, format!("{}: {}", a.input, e.detail)).json(j))?
    } else {
        if bytes.len() > super::MAX_CREDENTIAL_BYTES {
            return Err(Failure::usage(ErrorCode::InputTooLarge, format!("{}: more than {} bytes", a.input, super::MAX_CREDENTIAL_BYTES)).json(j));
        }
        String::from_utf8(bytes).map_err(|_| Failure::usage(ErrorCode::FileUnreadable, format!("{}: neither text nor a PNG/JPEG image", a.input)).json(j))?
    };
    let text = text.trim();
    if text.starts_with("PA1:") || text.starts_with("EH1:") {
        return super::paper::outcome(esspass_paper::verify_with_bundle(text, &b, t), j, &checked, Some(about));
    }
    let status = StatusCache::new(Box::new(BundleStatus(b.clone())), CachePolicy { default_ttl: max_age, max_age });
    let mut verifier = Verifier::new(ChainValidator::new(anchors), Some(b.trusted_list()), Some(status));
    verifier.kb_window = a.kb_window;
    verifier.credential_only = a.credential_only;
    let report = verifier.verify(text, &Expectation { nonce: a.nonce.as_deref(), aud: a.aud.as_deref() }, now);
    if j {
        let mut v = serde_json::to_value(&report).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("offline".into(), about);
        }
        output::print_json(&v);
    } else {
        print!("{}", output::render_report(&report));
        println!("  checked    {checked}");
    }
    Ok(match report.outcome {
        Outcome::Valid => Exit::Ok,
        Outcome::Invalid => Exit::Rejected,
        Outcome::Error => Exit::Usage,
    })
}

fn load_certs(paths: &[PathBuf], j: bool) -> Result<Vec<Certificate>, Failure> {
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(p).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", p.display())).json(j))?;
        let certs = Certificate::all_from_pem(&text).map_err(|e| Failure::usage(e.code, format!("{}: {}", p.display(), e.detail)).json(j))?;
        if certs.is_empty() {
            return Err(Failure::usage(ErrorCode::CertificateUnparsable, format!("{}: no certificate", p.display())).json(j));
        }
        out.extend(certs);
    }
    Ok(out)
}

pub fn run(a: Args) -> CmdResult {
    let j = a.json;
    let now = match &a.at {
        Some(s) => parse_instant(s).map_err(|e| e.json(j))?,
        None => time::OffsetDateTime::now_utc(),
    };
    if let Some(dir) = &a.offline {
        return run_offline(&a, dir, now);
    }
    let anchors = load_certs(&a.trust_anchor, j)?;
    let mut tls_cas: Vec<Vec<u8>> = anchors.iter().map(|c| c.der.clone()).collect();
    tls_cas.extend(load_certs(&a.tls_ca, j)?.into_iter().map(|c| c.der));
    let fetcher = Fetcher::new(&tls_cas).map_err(|e| Failure::usage(ErrorCode::FetchFailed, e).json(j))?;
    let chains = ChainValidator::new(anchors);
    let trusted_list = match &a.trusted_list {
        None => None,
        Some(src) => {
            if !chains.has_anchors() {
                return Err(Failure::usage(ErrorCode::NoTrustInput, "a trusted list is verified with the trust operator's root: give --trust-anchor").json(j));
            }
            let jws = if src.starts_with("https://") || src.starts_with("http://") {
                fetcher.get(src, "application/jwt").map_err(|e| Failure::usage(ErrorCode::FetchFailed, e).json(j))?
            } else {
                read_input(src).map_err(|e| e.json(j))?
            };
            let mut history = match &a.trust_state {
                Some(p) if p.exists() => {
                    let text = std::fs::read_to_string(p).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", p.display())).json(j))?;
                    serde_json::from_str::<ListHistory>(&text).map_err(|e| Failure::usage(ErrorCode::InvalidJson, format!("{}: {e}", p.display())).json(j))?
                }
                _ => ListHistory::default(),
            };
            let list = TrustedList::verify_with_history(&jws, &chains, now.unix_timestamp(), &mut history).map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
            if let Some(p) = &a.trust_state {
                let text = serde_json::to_string_pretty(&history).map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()).json(j))?;
                std::fs::write(p, text).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", p.display())).json(j))?;
            }
            Some(list)
        }
    };
    let input = read_input(&a.input).map_err(|e| e.json(j))?;
    let status = StatusCache::new(Box::new(fetcher), CachePolicy { max_age: a.status_max_age, ..CachePolicy::default() });
    let mut verifier = Verifier::new(chains, trusted_list, Some(status));
    verifier.kb_window = a.kb_window;
    verifier.credential_only = a.credential_only;
    let expect = Expectation { nonce: a.nonce.as_deref(), aud: a.aud.as_deref() };
    let presentation = input.trim();
    let started = Instant::now();
    let mut report = verifier.verify(presentation, &expect, now);
    let first = started.elapsed();
    let repeat = a.repeat.max(1);
    let mut per_verification = None;
    if repeat > 1 {
        let t0 = Instant::now();
        for _ in 1..repeat {
            report = verifier.verify(presentation, &expect, now);
        }
        per_verification = Some(t0.elapsed().as_secs_f64() / f64::from(repeat - 1));
    }
    if j {
        let mut v = serde_json::to_value(&report).unwrap_or_default();
        if let (Some(p), Some(obj)) = (per_verification, v.as_object_mut()) {
            obj.insert("timing".into(), serde_json::json!({"repeat": repeat, "first_seconds": first.as_secs_f64(), "seconds_per_verification": p, "verifications_per_second": 1.0 / p}));
        }
        output::print_json(&v);
    } else {
        print!("{}", output::render_report(&report));
        if let Some(p) = per_verification {
            println!("  timing     first {:.1} µs (fetches included); then {:.1} µs per verification over {} runs ({:.0}/s on one core)", first.as_secs_f64() * 1e6, p * 1e6, repeat - 1, 1.0 / p);
        }
    }
    Ok(match report.outcome {
        Outcome::Valid => Exit::Ok,
        Outcome::Invalid => Exit::Rejected,
        Outcome::Error => Exit::Usage,
    })
}
