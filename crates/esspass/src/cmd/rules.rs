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
        /// Bulk: one application per line in, one decision per line out (JSON Lines), streaming, in
        /// input order; an invalid line gives `{"error": …}` on its line. Exit 2 if any line was invalid.
        #[arg(long, conflicts_with = "json")]
        jsonl: bool,
    },
    /// The same decision as readable text.
    #[command(after_help = "EXAMPLES:\n  esspass rules explain examples/rules/georgios-gr-it-12-months.determined.json")]
    Explain {
        /// The application (JSON); `-` for stdin.
        input: String,
    },
}

/// `--jsonl`: read line by line, write each decision as it is made.
fn jsonl(input: &str) -> CmdResult {
    use std::io::{BufRead, BufReader, BufWriter, Write};
    let name = if input == "-" { "stdin" } else { input };
    let reader: Box<dyn BufRead> = if input == "-" {
        Box::new(BufReader::with_capacity(1 << 16, std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(input).map_err(|e| crate::Failure::usage(esspass_core::ErrorCode::FileUnreadable, format!("{name}: {e}")))?;
        Box::new(BufReader::with_capacity(1 << 16, f))
    };
    let stdout = std::io::stdout();
    let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 14);
    let mut invalid = 0usize;
    let max = esspass_rules::parse::MAX_BYTES;
    for (n, line) in reader.split(b'\n').enumerate() {
        let line = line.map_err(|e| crate::Failure::usage(esspass_core::ErrorCode::FileUnreadable, format!("{name}: {e}")))?;
        buf.clear();
        let text = std::str::from_utf8(&line).ok().filter(|_| line.len() <= max);
        let result = match text {
            Some(t) => esspass_rules::jsonl::decide_line(t.trim_end_matches('\r'), &mut buf),
            None => {
                let msg = if line.len() > max { format!("line {}: more than {max} bytes", n + 1) } else { format!("line {}: not UTF-8 text", n + 1) };
                let code = if line.len() > max { esspass_core::ErrorCode::RulesTooLarge } else { esspass_core::ErrorCode::RulesInvalidInput };
                serde_json::to_writer(&mut buf, &serde_json::json!({"error": {"code": code.code(), "message": msg}})).unwrap_or_default();
                buf.push(b'\n');
                esspass_rules::jsonl::LineResult::Invalid
            }
        };
        if result == esspass_rules::jsonl::LineResult::Invalid {
            invalid += 1;
        }
        w.write_all(&buf).map_err(|e| crate::Failure::usage(esspass_core::ErrorCode::Internal, format!("stdout: {e}")))?;
    }
    w.flush().map_err(|e| crate::Failure::usage(esspass_core::ErrorCode::Internal, format!("stdout: {e}")))?;
    Ok(if invalid > 0 { Exit::Usage } else { Exit::Ok })
}

pub fn run(c: Command) -> CmdResult {
    if let Command::Decide { input, jsonl: true, .. } = &c {
        return jsonl(input);
    }
    let (input, json, explain) = match c {
        Command::Decide { input, json, .. } => (input, json, false),
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
        println!("states concerned    {}", field("states_concerned"));
        if decision.contestable {
            println!("contestable         yes: an automatic decision that does not give what was applied for; ask for a human review (GDPR Art 22(3)): POST /api/v1/applications/{{id}}/contest");
        }
        if let Some(reasons) = v.get("reasons").and_then(|r| r.as_array()) {
            for r in reasons {
                let g = |k: &str| r.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_owned();
                println!("reason              {} ({}): {}", g("code"), g("article"), g("text"));
            }
        }
    }
    Ok(Exit::Ok)
}
