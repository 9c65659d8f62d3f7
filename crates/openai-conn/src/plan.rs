//! `openai-conn plan`: what a connection will do, resolved without any network access.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use crate::escape::line;
use crate::source::SourceArgs;
use crate::{EXIT_INVALID, Format, load_warned};

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// The connection file (JSON, TOML or YAML); `-` reads standard input, in the format it is
    /// written in (or the one `--stdin-filename` names).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

pub(crate) fn run(args: &PlanArgs) -> ExitCode {
    let usable = match load_warned(&args.source, args.file.as_ref()) {
        Ok(usable) => usable,
        Err(code) => return code,
    };
    let options = usable.options();
    let (connection, conn_id) = (&usable.connection, &usable.conn_id);
    match openai_conn_client::plan(connection, conn_id, &options) {
        Ok(plan) => {
            if let Some(warning) = plan.cleartext_warning() {
                errln!("openai-conn: warning: {warning}");
            }
            let value = serde_json::to_value(&plan).unwrap_or_default();
            match args.format {
                Format::Json => crate::output::json(&value),
                Format::Human => print_human(&value, ""),
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            errln!("{error}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

fn print_human(value: &Value, indent: &str) {
    if let Value::Object(map) = value {
        for (key, item) in map {
            match item {
                Value::Object(_) => {
                    outln!("{indent}{}:", line(key));
                    print_human(item, &format!("{indent}  "));
                }
                Value::String(text) => outln!("{indent}{}: {}", line(key), line(text)),
                other => outln!("{indent}{}: {}", line(key), line(&other.to_string())),
            }
        }
    }
}
