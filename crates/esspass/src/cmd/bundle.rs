//! `esspass bundle build|fetch`: the offline trust bundle (docs/paper.md). The trust operator builds
//! and signs it from the Issuer Trusted List, the institutions' revocation exports and their status
//! lists; a verifier fetches it (only the parts that changed) and checks documents offline with
//! `esspass verify --offline DIR`.

use crate::fetch::Fetcher;
use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use esspass_credential::trust::{ListBody, TrustedList};
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_paper::bundle::{self, Bundle, BuildInput, MANIFEST_FILE, Manifest, PartRef, RevocationExport};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Build and sign the offline bundle (trust operator): issuers from the Issuer Trusted List,
    /// revocation partitions from the institutions' exports, their Token Status Lists.
    #[command(after_help = "EXAMPLES:\n  esspass bundle build --trust-anchor pki/root/ca.pem --trusted-list pki/trusted-lists/issuers.jwt \\\n      --key pki/trust-operator/signing.key --chain pki/trust-operator/chain.pem \\\n      --revocations https://127.0.0.1:8443/revocations --out bundle")]
    Build {
        /// The trust operator's root (PEM): verifies the trusted list and the institutions' exports.
        #[arg(long = "trust-anchor")]
        trust_anchor: PathBuf,
        /// The signed Issuer Trusted List (a file).
        #[arg(long = "trusted-list")]
        trusted_list: PathBuf,
        /// The trust operator's TSL-signing key (PEM).
        #[arg(long)]
        key: PathBuf,
        /// Its certificate chain (PEM, leaf first).
        #[arg(long)]
        chain: PathBuf,
        /// An institution's signed revocation export: a file or an https URL (`https://node/revocations`); repeatable.
        #[arg(long)]
        revocations: Vec<String>,
        /// Also carry this Token Status List (besides those the exports name); repeatable.
        #[arg(long = "status-list")]
        status_list: Vec<String>,
        /// Extra CA certificate (PEM) for HTTPS fetches.
        #[arg(long = "tls-ca")]
        tls_ca: Vec<PathBuf>,
        /// The bundle directory (created if missing; its parts are replaced, the manifest last).
        #[arg(long)]
        out: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Fetch a bundle into a local directory (verifier): the signed manifest, then only the parts
    /// whose digest differs from the copy held. SOURCE is an https base URL or a directory.
    #[command(after_help = "EXAMPLES:\n  esspass bundle fetch bundle --into /var/lib/verifier/bundle --trust-anchor pki/root/ca.pem")]
    Fetch {
        source: String,
        #[arg(long)]
        into: PathBuf,
        /// The trust operator's root (PEM).
        #[arg(long = "trust-anchor")]
        trust_anchor: PathBuf,
        /// Extra CA certificate (PEM) for HTTPS fetches.
        #[arg(long = "tls-ca")]
        tls_ca: Vec<PathBuf>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn certs(path: &Path, j: bool) -> Result<Vec<Certificate>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", path.display())).json(j))?;
    let c = Certificate::all_from_pem(&text).map_err(|e| Failure::usage(e.code, format!("{}: {}", path.display(), e.detail)).json(j))?;
    if c.is_empty() {
        return Err(Failure::usage(ErrorCode::CertificateUnparsable, format!("{}: no certificate", path.display())).json(j));
    }
    Ok(c)
}

fn fetcher(anchors: &[Certificate], tls_ca: &[PathBuf], j: bool) -> Result<Fetcher, Failure> {
    let mut cas: Vec<Vec<u8>> = anchors.iter().map(|c| c.der.clone()).collect();
    for p in tls_ca {
        cas.extend(certs(p, j)?.into_iter().map(|c| c.der));
    }
    Fetcher::new(&cas).map_err(|e| Failure::usage(ErrorCode::FetchFailed, e).json(j))
}

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Write `bytes` to `dir/rel` through a temporary file and a rename.
fn write_atomic(dir: &Path, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("part-tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &path)
}

/// Remove the part files under `dir` the manifest no longer names.
fn remove_stale(dir: &Path, m: &Manifest) -> usize {
    let keep: BTreeSet<PathBuf> = m.revocations.iter().chain(&m.status_lists).map(|p| dir.join(&p.path)).collect();
    let mut removed = 0;
    let mut stack = vec![dir.join("revocations"), dir.join("status")];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !keep.contains(&p) && std::fs::remove_file(&p).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

/// The operator and sequence of the manifest held in a bundle directory, if it verifies (a damaged
/// or forged copy is replaced, not trusted).
fn held_sequence(dir: &Path, chains: &ChainValidator, now: i64) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(dir.join(MANIFEST_FILE)).ok()?;
    let m = bundle::verify_manifest(text.trim(), chains, now).ok()?;
    Some((m.operator, m.sequence))
}

/// Load and verify a bundle directory for offline verification.
pub fn load(dir: &Path, anchors: Vec<Certificate>, now: i64, max_age: i64) -> Result<Bundle, esspass_credential::Error> {
    let manifest = std::fs::read_to_string(dir.join(MANIFEST_FILE)).map_err(|e| esspass_credential::Error::new(ErrorCode::BundleInvalid, format!("{}: {e}", dir.join(MANIFEST_FILE).display())))?;
    let read = |rel: &str| if bundle::safe_path(rel) { std::fs::read(dir.join(rel)).ok() } else { None };
    Bundle::load(&manifest, &read, &ChainValidator::new(anchors), now, max_age)
}

/// What `bundle build` reads: the anchor, the Issuer Trusted List, the operator's key and chain, the
/// institutions' revocation exports (files or https URLs), extra status lists, extra TLS roots, and
/// the output folder.
pub struct BuildArgs<'a> {
    pub trust_anchor: &'a Path,
    pub trusted_list: &'a Path,
    pub key: &'a Path,
    pub chain: &'a Path,
    pub revocations: &'a [String],
    pub status_lists: &'a [String],
    pub tls_ca: &'a [PathBuf],
    pub out: &'a Path,
}

/// What a build made.
pub struct BuildSummary {
    pub operator: String,
    pub sequence: u64,
    pub list_sequence: u64,
    pub issuers: usize,
    pub revoked: usize,
    pub suspended: usize,
    pub exports: usize,
    pub partitions: usize,
    pub status_lists: usize,
    pub removed: usize,
}

/// Build and sign the offline bundle into `out` (parts first, the manifest last; stale parts
/// removed). Blocking (the fetches are).
pub fn build(a: &BuildArgs<'_>, now: i64) -> Result<BuildSummary, Failure> {
    let j = false;
    let (trust_anchor, trusted_list, key, chain, out) = (a.trust_anchor, a.trusted_list, a.key, a.chain, a.out);
    let anchors = certs(trust_anchor, j)?;
    let chains = ChainValidator::new(anchors.clone());
    let fetch = fetcher(&anchors, a.tls_ca, j)?;
    let signer = esspass_keys::files::load_signer(key).map_err(|e| Failure::usage(ErrorCode::KeyInvalid, format!("{}: {e}", key.display())).json(j))?;
    let chain_der = esspass_keys::files::load_chain(chain).map_err(|e| Failure::usage(ErrorCode::CertificateUnparsable, format!("{}: {e}", chain.display())).json(j))?;
    let itl_text = std::fs::read_to_string(trusted_list).map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{}: {e}", trusted_list.display())).json(j))?;
    let itl = TrustedList::verify(itl_text.trim(), &chains, now).map_err(|e| Failure::usage(e.code, format!("{}: {}", trusted_list.display(), e.detail)).json(j))?;
    let ListBody::Issuers { issuers } = &itl.body else {
        return Err(Failure::usage(ErrorCode::TrustedListInvalid, format!("{}: not an Issuer Trusted List", trusted_list.display())).json(j));
    };
    let mut exports = Vec::new();
    let mut uris: Vec<String> = Vec::new();
    for src in a.revocations {
        let text = if is_url(src) {
            fetch.get(src, "application/revocation-list+jwt").map_err(|e| Failure::usage(ErrorCode::FetchFailed, e).json(j))?
        } else {
            super::read_input(src).map_err(|e| e.json(j))?
        };
        let export = RevocationExport::verify(&text, &chains, issuers, now).map_err(|e| Failure::usage(e.code, format!("{src}: {}", e.detail)).json(j))?;
        uris.extend(export.status_lists.iter().cloned());
        exports.push(export);
    }
    uris.extend(a.status_lists.iter().cloned());
    uris.sort();
    uris.dedup();
    let mut tokens = Vec::new();
    for uri in &uris {
        let token = fetch.get(uri, "application/statuslist+jwt").map_err(|e| Failure::usage(ErrorCode::FetchFailed, format!("status list: {e}")).json(j))?;
        tokens.push((uri.clone(), token));
    }
    let sequence = held_sequence(out, &chains, now).filter(|(op, _)| *op == itl.operator).map_or(1, |(_, s)| s + 1);
    let built = bundle::build(&BuildInput { operator: &itl.operator, sequence, now, issuers, exports: &exports, status_tokens: &tokens }).map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
    let manifest = built.sign(&signer, &chain_der).map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
    bundle::verify_manifest(&manifest, &chains, now).map_err(|e| Failure::usage(e.code, format!("the bundle would not verify with --trust-anchor: {}", e.detail)).json(j))?;
    let io = |e: std::io::Error| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", out.display())).json(j);
    for (rel, bytes) in &built.parts {
        write_atomic(out, rel, bytes).map_err(io)?;
    }
    write_atomic(out, MANIFEST_FILE, manifest.as_bytes()).map_err(io)?;
    let removed = remove_stale(out, &built.manifest);
    let (revoked, suspended) = exports.iter().fold((0, 0), |(r, s), e| (r + e.revoked.len(), s + e.suspended.len()));
    Ok(BuildSummary { operator: itl.operator.clone(), sequence, list_sequence: itl.sequence, issuers: issuers.len(), revoked, suspended, exports: exports.len(), partitions: built.manifest.revocations.len(), status_lists: tokens.len(), removed })
}

pub fn run(c: Command) -> CmdResult {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match c {
        Command::Build { trust_anchor, trusted_list, key, chain, revocations, status_list, tls_ca, out, json: j } => {
            let args = BuildArgs { trust_anchor: &trust_anchor, trusted_list: &trusted_list, key: &key, chain: &chain, revocations: &revocations, status_lists: &status_list, tls_ca: &tls_ca, out: &out };
            let b = build(&args, now).map_err(|e| e.json(j))?;
            if j {
                output::print_json(&serde_json::json!({"operator": b.operator, "sequence": b.sequence, "issuers": b.issuers, "revoked": b.revoked, "suspended": b.suspended, "partitions": b.partitions, "status_lists": b.status_lists, "removed": b.removed, "out": out}));
            } else {
                println!("bundle     {} sequence {} → {}", b.operator, b.sequence, out.display());
                println!("issuers    {} (from {}, sequence {})", b.issuers, trusted_list.display(), b.list_sequence);
                println!("revocation {} revoked, {} suspended documents from {} export(s), in {} partitions", b.revoked, b.suspended, b.exports, b.partitions);
                println!("status     {} status list(s)", b.status_lists);
            }
            Ok(Exit::Ok)
        }
        Command::Fetch { source, into, trust_anchor, tls_ca, json: j } => {
            let anchors = certs(&trust_anchor, j)?;
            let chains = ChainValidator::new(anchors.clone());
            let fetch = fetcher(&anchors, &tls_ca, j)?;
            let base = source.trim_end_matches('/').to_owned();
            let get = |rel: &str| -> Result<Vec<u8>, String> {
                if is_url(&base) {
                    fetch.get(&format!("{base}/{rel}"), "application/octet-stream").map(String::into_bytes)
                } else {
                    std::fs::read(Path::new(&base).join(rel)).map_err(|e| format!("{base}/{rel}: {e}"))
                }
            };
            let manifest_text = String::from_utf8(get(MANIFEST_FILE).map_err(|e| Failure::usage(ErrorCode::FetchFailed, e).json(j))?).map_err(|_| Failure::usage(ErrorCode::BundleInvalid, "the manifest is not text").json(j))?;
            let m = bundle::verify_manifest(&manifest_text, &chains, now).map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
            if let Some((op, held)) = held_sequence(&into, &chains, now)
                && op == m.operator
                && held > m.sequence
            {
                return Err(Failure::usage(ErrorCode::BundleInvalid, format!("the source offers sequence {} but {} already holds {held}: a rollback is refused", m.sequence, into.display())).json(j));
            }
            let io = |e: std::io::Error| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", into.display())).json(j);
            let parts: Vec<&PartRef> = m.revocations.iter().chain(&m.status_lists).collect();
            let (mut fetched, mut bytes_in) = (0usize, 0usize);
            for p in &parts {
                if std::fs::read(into.join(&p.path)).is_ok_and(|b| bundle::part_matches(p, &b)) {
                    continue;
                }
                let b = get(&p.path).map_err(|e| Failure::usage(ErrorCode::FetchFailed, e).json(j))?;
                if !bundle::part_matches(p, &b) {
                    return Err(Failure::usage(ErrorCode::BundleInvalid, format!("part {} does not match the manifest's digest", p.path)).json(j));
                }
                write_atomic(&into, &p.path, &b).map_err(io)?;
                fetched += 1;
                bytes_in += b.len();
            }
            write_atomic(&into, MANIFEST_FILE, manifest_text.trim().as_bytes()).map_err(io)?;
            let removed = remove_stale(&into, &m);
            if j {
                output::print_json(&serde_json::json!({"operator": m.operator, "sequence": m.sequence, "issued_at": m.issued_at, "parts": parts.len(), "fetched": fetched, "bytes": bytes_in, "removed": removed}));
            } else {
                println!("bundle     {} sequence {}, issued {} ago", m.operator, m.sequence, bundle::age_text(now - m.issued_at));
                println!("parts      {fetched} of {} fetched ({bytes_in} bytes), {} unchanged, {removed} removed", parts.len(), parts.len() - fetched);
            }
            Ok(Exit::Ok)
        }
    }
}
