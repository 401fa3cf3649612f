//! One module per subcommand.

pub mod api_key;
pub mod audit;
pub mod bundle;
pub mod demo;
pub mod eessi;
pub mod import;
pub mod offers;
pub mod paper;
pub mod issue;
pub mod pki;
pub mod present;
pub mod proof;
pub mod rules;
pub mod show;
pub mod serve;
pub mod status_list;
pub mod verify;
pub mod wallet;

use crate::Failure;
use esspass_core::ErrorCode;
use std::path::Path;

/// The largest credential or presentation a command reads (the verifier's own limit).
pub const MAX_CREDENTIAL_BYTES: usize = esspass_credential::sdjwt::MAX_INPUT_BYTES;
/// The largest claims file `issue` reads: what fits a credential within [`MAX_CREDENTIAL_BYTES`].
pub const MAX_CLAIMS_BYTES: usize = 128 * 1024;

/// Read a file, or standard input for `-`.
pub fn read_input(path: &str) -> Result<String, Failure> {
    read_input_max(path, MAX_CREDENTIAL_BYTES)
}

/// Read at most `max` bytes of a file (or standard input for `-`); a larger input is refused
/// before it is held in memory.
pub fn read_input_max(path: &str, max: usize) -> Result<String, Failure> {
    use std::io::Read;
    let name = if path == "-" { "stdin" } else { path };
    let mut buf = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let read = if path == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut buf)
    } else {
        std::fs::File::open(Path::new(path)).and_then(|f| f.take(limit).read_to_end(&mut buf))
    };
    read.map_err(|e| Failure::usage(ErrorCode::FileUnreadable, format!("{name}: {e}")))?;
    if buf.len() > max {
        return Err(Failure::usage(ErrorCode::InputTooLarge, format!("{name}: more than {max} bytes")));
    }
    String::from_utf8(buf).map_err(|_| Failure::usage(ErrorCode::FileUnreadable, format!("{name}: not UTF-8 text")))
}

/// What a producer signs and with what: the document type, its business claims and the
/// institution's key and certificate chain (shared by `issue` and `paper issue`).
#[derive(clap::Args)]
pub struct DocumentInput {
    /// pda1 or ehic.
    #[arg(long = "type", value_parser = ["pda1", "ehic"])]
    pub kind: String,
    /// The business claims (docs/domain.md §2) as JSON; `-` for stdin. No JWT claims.
    #[arg(long)]
    pub claims: String,
    /// The institution's signing key (PKCS#8 PEM).
    #[arg(long)]
    pub key: std::path::PathBuf,
    /// Its certificate chain (PEM, leaf first, the trust anchor left out).
    #[arg(long)]
    pub chain: std::path::PathBuf,
}

/// A loaded [`DocumentInput`].
pub struct Document {
    pub credential_type: esspass_core::CredentialType,
    pub claims: serde_json::Value,
    pub signer: esspass_credential::EcdsaP256Signer,
    pub chain: Vec<Vec<u8>>,
}

impl DocumentInput {
    /// Read the claims (bounded) and load the key and chain, naming the file at fault.
    pub fn load(&self, json: bool) -> Result<Document, Failure> {
        let credential_type = esspass_core::CredentialType::from_short_name(&self.kind).ok_or_else(|| Failure::usage(ErrorCode::Usage, "unknown type").json(json))?;
        let text = read_input_max(&self.claims, MAX_CLAIMS_BYTES).map_err(|e| e.json(json))?;
        let claims = serde_json::from_str(&text).map_err(|e| Failure::usage(ErrorCode::InvalidJson, format!("{}: {e}", self.claims)).json(json))?;
        let signer = esspass_keys::files::load_signer(&self.key).map_err(|e| Failure::from(e).json(json))?;
        let chain = esspass_keys::files::load_chain(&self.chain).map_err(|e| Failure::from(e).json(json))?;
        Ok(Document { credential_type, claims, signer, chain })
    }
}

/// Read and parse an SD-JWT (VC or presentation) from a file or standard input (`-`).
pub fn read_credential(path: &str, json: bool) -> Result<esspass_credential::sdjwt::SdJwt, Failure> {
    let text = read_input(path).map_err(|e| e.json(json))?;
    esspass_credential::sdjwt::SdJwt::parse(text.trim()).map_err(|e| Failure::usage(e.code, format!("{path}: {}", e.detail)).json(json))
}

/// Print a result, or write it to `out` (created new: an existing file is never replaced).
pub fn write_out(out: Option<&Path>, text: &str) -> Result<(), Failure> {
    let Some(path) = out else {
        println!("{text}");
        return Ok(());
    };
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", path.display())))?;
    std::io::Write::write_all(&mut f, format!("{text}\n").as_bytes()).map_err(|e| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", path.display())))
}

/// Parse an RFC 3339 instant.
pub fn parse_instant(s: &str) -> Result<time::OffsetDateTime, Failure> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|e| Failure::usage(ErrorCode::Usage, format!("{s:?} is not an RFC 3339 time: {e}")))
}
