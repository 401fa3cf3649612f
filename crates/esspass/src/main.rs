//! The `esspass` command. Exit codes: 0 ok / valid, 1 checked and rejected, 2 usage error or could
//! not check.

mod cmd;
mod fetch;

mod output;

use clap::{Parser, Subcommand};

/// mimalloc: parsing credentials allocates many small objects; glibc malloc costs ~10 % of a verification.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

/// esspass — digital social security coordination: PDA1 and EHIC as SD-JWT VCs.
#[derive(Parser)]
#[command(
    name = "esspass",
    version,
    about,
    long_about = "esspass — digital social security coordination: the Portable Document A1 and the European Health Insurance Card as SD-JWT verifiable credentials.\n\nCredentials: issue, present, show, verify, status-list, paper (signed QR, checked offline). Trust: pki (demo PKI, trusted lists). A node: serve, import, offers, api-key, audit. Law: rules (which state's legislation applies). Everything at once: demo.\n\nExit codes: 0 ok / valid, 1 checked and rejected, 2 usage error or could not check.",
    after_help = "EXAMPLES:\n  esspass demo\n  esspass verify --trust-anchor pki/root/ca.pem --trusted-list pki/trusted-lists/issuers.jwt --nonce N --aud A p.txt\n  esspass rules explain examples/rules/georgios-gr-it-12-months.determined.json",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the end-to-end demo: PKI, trusted lists, issue, present, verify, revoke, verify again.
    Demo(cmd::demo::Args),
    /// Issue a PDA1 or EHIC as an SD-JWT VC and print it.
    Issue(cmd::issue::Args),
    /// Present a credential: choose disclosures and add a KB-JWT.
    Present(cmd::present::Args),
    /// Verify a presentation and print the verification report.
    Verify(cmd::verify::Args),
    /// Show what a credential holds and which claims its holder can choose to disclose.
    Show(cmd::show::Args),
    /// Paper PDA1 and EHIC: a signed QR code, checked offline.
    Paper {
        #[command(subcommand)]
        command: cmd::paper::Command,
    },
    /// The offline trust bundle: build it (trust operator), fetch what changed (verifier).
    Bundle {
        #[command(subcommand)]
        command: cmd::bundle::Command,
    },
    /// A holder wallet: receive credentials over OpenID4VCI, keep them encrypted, list, show, delete.
    Wallet {
        #[command(subcommand)]
        command: cmd::wallet::Command,
    },
    /// Verification proofs: an institution checks one a verifier handed it.
    Proof {
        #[command(subcommand)]
        command: cmd::proof::Command,
    },
    /// The demo PKI.
    Pki {
        #[command(subcommand)]
        command: cmd::pki::Command,
    },
    /// Create, change and sign Token Status Lists.
    #[command(name = "status-list")]
    StatusList {
        #[command(subcommand)]
        command: cmd::status_list::Command,
    },
    /// Run a node (institution role): OpenID4VCI issuer, status lists, back-office API, over HTTPS.
    Serve(cmd::serve::Args),
    /// The audit trail: verify the chain and its signed checkpoints; sign the head.
    Audit {
        #[command(subcommand)]
        command: cmd::audit::Command,
    },
    /// EESSI: hand a SED to the node's access point for another institution.
    Eessi {
        #[command(subcommand)]
        command: cmd::eessi::Command,
    },
    /// New credential offers for every insured person (e.g. re-issuance of every EHIC), as CSV.
    Offers(cmd::offers::Args),
    /// Load insured persons and their coverage (CSV, JSON, JSON Lines) into a node's database.
    Import(cmd::import::Args),
    /// API keys for a node's back-office API.
    #[command(name = "api-key")]
    ApiKey {
        #[command(subcommand)]
        command: cmd::api_key::Command,
    },
    /// The applicable-legislation engine (Reg. 883/2004 Title II).
    Rules {
        #[command(subcommand)]
        command: cmd::rules::Command,
    },
}

/// How a command ended.
pub enum Exit {
    Ok,
    Rejected,
    Usage,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a),
        Command::Issue(a) => cmd::issue::run(a),
        Command::Present(a) => cmd::present::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Show(a) => cmd::show::run(a),
        Command::Pki { command } => cmd::pki::run(command),
        Command::Paper { command } => cmd::paper::run(command),
        Command::Bundle { command } => cmd::bundle::run(command),
        Command::Wallet { command } => cmd::wallet::run(command),
        Command::Proof { command } => cmd::proof::run(command),
        Command::StatusList { command } => cmd::status_list::run(command),
        Command::Rules { command } => cmd::rules::run(command),
        Command::Import(a) => cmd::import::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Offers(a) => cmd::offers::run(a),
        Command::Eessi { command } => cmd::eessi::run(command),
        Command::Audit { command } => cmd::audit::run(command),
        Command::ApiKey { command } => cmd::api_key::run(command),
    };
    match result {
        Ok(Exit::Ok) => ExitCode::SUCCESS,
        Ok(Exit::Rejected) => ExitCode::from(1),
        Ok(Exit::Usage) => ExitCode::from(2),
        Err(e) => {
            output::print_error(&e, e.json);
            ExitCode::from(e.exit)
        }
    }
}

/// A command failure with a stable code.
#[derive(Debug)]
pub struct Failure {
    pub code: esspass_core::ErrorCode,
    pub message: String,
    pub exit: u8,
    pub json: bool,
}

impl Failure {
    pub fn usage(code: esspass_core::ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), exit: 2, json: false }
    }
    /// The input was checked and rejected (exit 1).
    pub fn rejected(code: esspass_core::ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), exit: 1, json: false }
    }
    pub fn json(mut self, json: bool) -> Self {
        self.json = json;
        self
    }
}

impl From<esspass_keys::KeyError> for Failure {
    fn from(e: esspass_keys::KeyError) -> Self {
        match e {
            // The detail alone: the code is printed once, by the error line.
            esspass_keys::KeyError::Credential(c) => Failure::usage(c.code, c.detail),
            other => Failure::usage(other.code(), other.to_string()),
        }
    }
}

impl From<esspass_credential::Error> for Failure {
    fn from(e: esspass_credential::Error) -> Self {
        Failure::usage(e.code, e.detail)
    }
}

pub type CmdResult = Result<Exit, Failure>;
