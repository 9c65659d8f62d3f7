//! `openai-conn validate`: diagnostics for one or more connection documents.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use conn_schema::{Auth, DocumentKind, Report, Severity, validate_bytes};
use serde::Serialize;

use crate::{EXIT_INVALID, EXIT_USAGE, Format};

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// What the documents hold; `auto` treats an object with `conn_type` or `extra` as a whole
    /// connection.
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    kind: KindArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Files to validate; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KindArg {
    Auto,
    Extra,
    Connection,
}

impl From<KindArg> for DocumentKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Auto => DocumentKind::Auto,
            KindArg::Extra => DocumentKind::Extra,
            KindArg::Connection => DocumentKind::Connection,
        }
    }
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
    let mut reports: Vec<(String, Report)> = Vec::new();
    let mut unreadable = false;
    for path in &args.files {
        let name = path.display().to_string();
        let bytes = if name == "-" {
            let mut buffer = Vec::new();
            std::io::stdin().read_to_end(&mut buffer).map(|_| buffer)
        } else {
            std::fs::read(path)
        };
        match bytes {
            Ok(bytes) => {
                let report = validate_bytes(&bytes, args.kind.into());
                let label = if name == "-" {
                    "<stdin>".to_owned()
                } else {
                    name
                };
                reports.push((label, report));
            }
            Err(error) => {
                eprintln!("openai-conn: cannot read {name}: {error}");
                unreadable = true;
            }
        }
    }
    match args.format {
        Format::Human => print_human(&reports),
        Format::Json => print_json(&reports),
    }
    if unreadable {
        ExitCode::from(EXIT_USAGE)
    } else if reports.iter().any(|(_, report)| report.has_errors()) {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_human(reports: &[(String, Report)]) {
    for (file, report) in reports {
        print!("{}", report.render(file));
        if let Some(connection) = &report.connection {
            let summary = match &connection.extra.auth {
                Auth::ApiKey => "api_key".to_owned(),
                Auth::WorkloadIdentity(identity) => {
                    format!(
                        "workload_identity, provider {}",
                        identity.provider.kind().as_str()
                    )
                }
            };
            println!("{file}: ok ({summary})");
        }
    }
}

fn print_json(reports: &[(String, Report)]) {
    let diagnostics: Vec<JsonDiagnostic<'_>> = reports
        .iter()
        .flat_map(|(file, report)| {
            report
                .diagnostics
                .iter()
                .map(move |diagnostic| JsonDiagnostic {
                    file,
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
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("openai-conn: cannot encode the report: {error}"),
    }
}
