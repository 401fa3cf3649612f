//! `esspass show`: what a credential holds, and what its holder can choose to disclose.

use crate::{CmdResult, Exit, Failure, output};
use esspass_credential::sdjwt::present::contents;

#[derive(clap::Args)]
#[command(after_help = "EXAMPLES:\n  esspass show pda1.sd-jwt\n  esspass present --credential pda1.sd-jwt --holder-key holder.key --disclose document_number --nonce N --aud A")]
pub struct Args {
    /// The SD-JWT VC as issued (`-` for stdin).
    credential: String,
    /// JSON output: `{claims, disclosable}`.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CmdResult {
    let j = a.json;
    let sd = super::read_credential(&a.credential, j)?;
    let c = contents(&sd).map_err(|e| Failure::usage(e.code, e.detail).json(j))?;
    if j {
        output::print_json(&c);
        return Ok(Exit::Ok);
    }
    println!("type      {}", c.claims.get("vct").and_then(|v| v.as_str()).unwrap_or("?"));
    println!("issuer    {}", c.claims.get("iss").and_then(|v| v.as_str()).unwrap_or("?"));
    println!("can be disclosed (--disclose PATH); everything else is always visible to a verifier:");
    if c.disclosable.is_empty() {
        println!("  (nothing: every claim is always visible)");
    }
    for p in &c.disclosable {
        println!("  {p}");
    }
    println!("claims (not checked: `esspass verify` checks a credential):");
    println!("{}", serde_json::to_string_pretty(&c.claims).unwrap_or_default());
    Ok(Exit::Ok)
}
