//! `esspass rules decide|explain`: the applicable-legislation engine on an application file.

use super::read_input;
use crate::{CmdResult, Exit, output};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Decide which state's legislation applies (Reg. 883/2004 Title II). Exit 0 for every outcome,
    /// 2 for invalid input (each problem with its JSON path).
    #[command(after_help = "EXAMPLES:\n  esspass rules decide examples/rules/georgios-gr-it-12-months.determined.json\n  esspass rules decide --json examples/rules/frontier-worker-fr-lu.determined.json")]
    Decide {
        /// The application (JSON, see docs/rules/); `-` for stdin.
        input: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// The same decision as readable text.
    #[command(after_help = "EXAMPLES:\n  esspass rules explain examples/rules/georgios-gr-it-12-months.determined.json")]
    Explain {
        /// The application (JSON); `-` for stdin.
        input: String,
    },
}

pub fn run(c: Command) -> CmdResult {
    let (input, json, explain) = match c {
        Command::Decide { input, json } => (input, json, false),
        Command::Explain { input } => (input, false, true),
    };
    let text = read_input(&input).map_err(|e| e.json(json))?;
    let app = match esspass_rules::parse_application(&text) {
        Ok(a) => a,
        Err(problems) => {
            if json {
                output::print_json(&serde_json::json!({"error": {"code": problems.0.first().map(|p| p.code.code()), "message": "the application is invalid", "problems": problems}}));
            } else {
                eprintln!("the application is invalid:");
                for p in &problems.0 {
                    eprintln!("  {} {}: {}", p.code, p.path, p.message);
                }
            }
            return Ok(Exit::Usage);
        }
    };
    let decision = esspass_rules::decide(&app);
    if json {
        output::print_json(&decision);
    } else if explain {
        print!("{}", esspass_rules::explain(&decision));
    } else {
        // A one-screen summary; `explain` gives the reasons in full.
        let v = serde_json::to_value(&decision).unwrap_or_default();
        let field = |k: &str| v.get(k).map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned)).unwrap_or_else(|| "-".into());
        println!("outcome             {}", field("outcome"));
        println!("legislation_country {}", field("legislation_country"));
        println!("article             {}", field("article"));
        println!("status_confirmation {}", field("status_confirmation"));
        println!("period              {}", field("period"));
        println!("buc / first SED     {} / {}", field("buc"), field("first_sed"));
        if let Some(reasons) = v.get("reasons").and_then(|r| r.as_array()) {
            for r in reasons {
                let g = |k: &str| r.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_owned();
                println!("reason              {} ({}): {}", g("code"), g("article"), g("text"));
            }
        }
    }
    Ok(Exit::Ok)
}
