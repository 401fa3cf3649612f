//! `esspass present`: choose disclosures and bind the presentation with a KB-JWT.

use crate::{CmdResult, Exit, Failure, output};
use esspass_core::ErrorCode;
use esspass_credential::sdjwt::SdJwt;
use esspass_credential::sdjwt::present::{Selection, bind, select_checked};
use esspass_keys::files;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(after_help = "EXAMPLES:\n  esspass show ehic.sd-jwt   # what can be disclosed\n  esspass present --credential ehic.sd-jwt --holder-key holder.key --disclose document_number --nonce N --aud https://verifier.example > p.txt")]
pub struct Args {
    /// The SD-JWT VC as issued (`-` for stdin).
    #[arg(long)]
    credential: String,
    /// The holder's private key (PKCS#8 PEM), matching the credential's cnf.jwk.
    #[arg(long = "holder-key")]
    holder_key: PathBuf,
    /// A claim to disclose, dotted (`document_number`, `*` for every array element); repeatable.
    /// `esspass show CREDENTIAL` lists the claims that can be disclosed.
    #[arg(long)]
    disclose: Vec<String>,
    /// Disclose everything.
    #[arg(long, conflicts_with = "disclose")]
    all: bool,
    /// The verifier's nonce (adds a KB-JWT together with --aud).
    #[arg(long, requires = "aud")]
    nonce: Option<String>,
    /// The verifier's identifier (KB-JWT aud).
    #[arg(long, requires = "nonce")]
    aud: Option<String>,
    /// Write the result to this file instead of standard output (refused if it exists).
    #[arg(long)]
    out: Option<PathBuf>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CmdResult {
    let j = a.json;
    let sd = super::read_credential(&a.credential, j)?;
    let holder = files::load_signer(&a.holder_key).map_err(|e| Failure::from(e).json(j))?;
    // The holder key must be the credential's cnf key, or every verifier refuses the KB-JWT.
    let cnf = esspass_credential::jose::CompactJws::parse(&sd.jwt).ok().and_then(|jws| jws.payload.get("cnf").and_then(|c| c.get("jwk")).cloned());
    {
        use esspass_credential::Signer;
        let mine = holder.public_jwk();
        match cnf.as_ref().map(esspass_credential::Jwk::from_value) {
            Some(Ok(k)) if k == mine => {}
            Some(_) => return Err(Failure::usage(ErrorCode::KeyInvalid, format!("{}: this is not the key the credential is bound to (its cnf.jwk); use the holder key the credential was issued to", a.holder_key.display())).json(j)),
            None => return Err(Failure::usage(ErrorCode::InvalidDocument, "the credential has no cnf.jwk to bind a presentation to").json(j)),
        }
    }
    let chosen = if a.all {
        SdJwt { kb_jwt: None, ..sd }
    } else {
        let sels = a.disclose.iter().map(|d| Selection::parse(d).map(|s| (d.clone(), s))).collect::<Result<Vec<_>, _>>().map_err(|e| Failure::usage(ErrorCode::Usage, e.detail).json(j))?;
        select_checked(&sd, &sels).map_err(|e| Failure::usage(e.code, e.detail).json(j))?
    };
    let out = match (&a.nonce, &a.aud) {
        (Some(n), Some(aud)) => bind(chosen, &holder, n, aud, time::OffsetDateTime::now_utc().unix_timestamp()).map_err(|e| Failure::usage(e.code, e.detail).json(j))?,
        _ => chosen,
    };
    if j {
        output::print_json(&serde_json::json!({"presentation": out.serialize(), "disclosures": out.disclosures.len(), "key_binding": out.kb_jwt.is_some()}));
    } else {
        super::write_out(a.out.as_deref(), &out.serialize()).map_err(|e| e.json(j))?;
    }
    Ok(Exit::Ok)
}
