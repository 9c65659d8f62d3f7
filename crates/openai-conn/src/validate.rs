//! `openai-conn validate`: diagnostics for one or more connections.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use conn_load::Loaded;
use conn_schema::{Auth, Severity};
use serde::Serialize;

use crate::source::SourceArgs;
use crate::{EXIT_INVALID, EXIT_USAGE, Format, load_error_exit};

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Connection files (JSON, TOML or YAML); `-` reads JSON from standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// One diagnostic in `--format json`.
#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    severity: Severity,
    pointer: &'a str,
    line: usize,
    column: usize,
    message: &'a str,
    suggestion: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'a str>,
}

pub(crate) fn run(args: &ValidateArgs) -> ExitCode {
    let specs = match args.source.specs(&args.files) {
        Ok(specs) => specs,
        Err(error) => {
            eprintln!("openai-conn: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut unreadable = false;
    let mut invalid = false;
    for spec in &specs {
        match args.source.load(spec) {
            Ok(one) => loaded.push(one),
            Err(error) => {
                eprintln!("openai-conn: {error}");
                if load_error_exit(&error) == EXIT_USAGE {
                    unreadable = true;
                } else {
                    invalid = true;
                }
            }
        }
    }
    match args.format {
        Format::Human => print_human(&loaded),
        Format::Json => print_json(&loaded),
    }
    if unreadable {
        ExitCode::from(EXIT_USAGE)
    } else if invalid || loaded.iter().any(|one| one.report.has_errors()) {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_human(loaded: &[Loaded]) {
    for one in loaded {
        out!("{}", one.report.render(&one.label));
        if let Some(connection) = &one.report.connection {
            let summary = match &connection.extra.auth {
                Auth::ApiKey => "api_key".to_owned(),
                Auth::WorkloadIdentity(identity) => format!(
                    "workload_identity, provider {}",
                    identity.provider.kind().as_str()
                ),
            };
            outln!("{}: ok ({summary})", one.label);
        }
    }
}

fn print_json(loaded: &[Loaded]) {
    let diagnostics: Vec<JsonDiagnostic<'_>> = loaded
        .iter()
        .flat_map(|one| {
            one.report
                .diagnostics
                .iter()
                .map(move |diagnostic| JsonDiagnostic {
                    file: &one.label,
                    severity: diagnostic.severity,
                    pointer: &diagnostic.pointer,
                    line: diagnostic.line,
                    column: diagnostic.column,
                    message: &diagnostic.message,
                    suggestion: diagnostic.suggestion.as_deref(),
                    origin: diagnostic.origin.as_deref(),
                })
        })
        .collect();
    match serde_json::to_string_pretty(&diagnostics) {
        Ok(text) => outln!("{text}"),
        Err(error) => eprintln!("openai-conn: cannot encode the report: {error}"),
    }
}
