//! `openai-conn validate`: diagnostics for one or more connections, for people (`human`),
//! programs (`json`), GitHub Actions (`github`) and code-scanning tools (`sarif`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use conn_load::{LoadError, Loaded};
use conn_schema::{Auth, Code, Severity};
use serde::Serialize;

use crate::finding::Finding;
use crate::output::Sink;
use crate::source::SourceArgs;
use crate::{EXIT_INVALID, EXIT_USAGE, load_error_exit};

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Human)]
    format: ValidateFormat,
    /// Print the findings only: no `ok` line per connection and no summary line.
    #[arg(short, long)]
    quiet: bool,
    /// Colour the human output: `auto` when standard output is a terminal and `NO_COLOR` is not
    /// set.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Exit 0 even when connections have errors (2 still means unreadable input).
    #[arg(long)]
    exit_zero: bool,
    /// Connection files (JSON, TOML or YAML) or directories, walked for those files; `-` reads
    /// standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// When the human output is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    /// When standard output is a terminal and `NO_COLOR` is unset or empty.
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour output that goes to standard output (`to_stdout`) or to a file.
    fn enabled(self, to_stdout: bool) -> bool {
        use std::io::IsTerminal as _;
        self.decide(
            to_stdout && std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    /// The rule: `auto` colours a terminal unless `NO_COLOR` is present and not empty
    /// (no-color.org).
    fn decide(self, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && no_color.is_none_or(std::ffi::OsStr::is_empty),
        }
    }
}

/// How `validate` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ValidateFormat {
    /// `FILE:LINE:COL: error[CODE]: message` with a snippet, for people.
    Human,
    /// An array of findings, for programs.
    Json,
    /// One GitHub Actions workflow command (`::error file=...::message`) per finding.
    Github,
    /// One SARIF 2.1.0 log, for code-scanning upload.
    Sarif,
}

/// One diagnostic in `--format json`: `line`, `column`, `end_line` and `end_column` are 0 for a
/// finding without a place in the file (the printed form keeps its fields); `end_line` and
/// `end_column` are the character after the key or value the finding is about.
#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    severity: Severity,
    code: Code,
    pointer: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
    suggestion: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'a str>,
}

impl<'a> From<&'a Finding<'a>> for JsonDiagnostic<'a> {
    fn from(finding: &'a Finding<'a>) -> Self {
        let location = finding.location;
        JsonDiagnostic {
            file: finding.label,
            severity: finding.severity,
            code: finding.code,
            pointer: finding.pointer,
            line: location.map_or(0, |at| at.line),
            column: location.map_or(0, |at| at.column),
            end_line: location.map_or(0, |at| at.end_line),
            end_column: location.map_or(0, |at| at.end_column),
            message: &finding.message,
            suggestion: finding.suggestion,
            origin: finding.origin,
        }
    }
}

/// One SOURCE argument and what came of it.
struct Checked {
    file: Option<PathBuf>,
    label: String,
    outcome: Result<Vec<Loaded>, LoadError>,
}

pub(crate) fn run(args: &ValidateArgs) -> ExitCode {
    let sources = match args.source.sources(&args.files) {
        Ok(sources) => sources,
        Err(error) => {
            errln!("openai-conn: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut sink = match &args.output_file {
        None => Sink::stdout(),
        Some(path) => match Sink::file(path) {
            Ok(sink) => sink,
            Err(error) => {
                errln!("openai-conn: cannot write to {}: {error}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        },
    };
    let checked: Vec<Checked> = sources
        .iter()
        .map(|source| Checked {
            file: source.file().map(std::path::Path::to_path_buf),
            label: source.label(),
            outcome: args.source.load_all(source).map(with_environment_findings),
        })
        .collect();
    // A source that was read but holds no usable connection (a YAML, TOML or URI syntax error,
    // say) is exit 1 like an invalid one; only a source that could not be read at all is 2.
    let unreadable = checked.iter().any(|one| {
        one.outcome
            .as_ref()
            .is_err_and(|error| load_error_exit(error) == EXIT_USAGE)
    });
    let invalid = checked.iter().any(|one| match &one.outcome {
        Ok(loaded) => loaded.iter().any(|one| one.report.has_errors()),
        Err(_) => true,
    });
    let loaded: Vec<&Loaded> = checked
        .iter()
        .filter_map(|one| one.outcome.as_ref().ok())
        .flatten()
        .collect();
    match args.format {
        ValidateFormat::Human => {
            print_load_errors(&checked);
            let color = args.color.enabled(args.output_file.is_none());
            print_human(&mut sink, &loaded, color, args.quiet);
            if !args.quiet {
                sink.lines(&format!("{}\n", summary(&checked)));
            }
        }
        ValidateFormat::Json => {
            print_load_errors(&checked);
            print_json(&mut sink, &checked);
        }
        ValidateFormat::Github => {
            for finding in findings(&checked) {
                sink.lines(&format!("{}\n", crate::github::command(&finding)));
            }
        }
        ValidateFormat::Sarif => {
            print_load_errors(&checked);
            sink.json(&crate::sarif::log(&findings(&checked)));
        }
    }
    sink.finish();
    if unreadable {
        ExitCode::from(EXIT_USAGE)
    } else if invalid && !args.exit_zero {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    }
}

/// The human output's last line: `2 errors, 1 warning in 2 of 84 files`, or
/// `no errors or warnings in 84 files`. A source that could not be loaded counts as one error in
/// its file; a connections file counts once, whatever number of connections it holds.
fn summary(checked: &[Checked]) -> String {
    let (mut errors, mut warnings, mut with_findings) = (0usize, 0usize, 0usize);
    for one in checked {
        let (source_errors, source_warnings) = match &one.outcome {
            Err(_) => (1, 0),
            Ok(loaded) => loaded.iter().flat_map(|one| one.report.diagnostics()).fold(
                (0, 0),
                |(errors, warnings), diagnostic| match diagnostic.severity {
                    Severity::Error => (errors + 1, warnings),
                    Severity::Warning => (errors, warnings + 1),
                },
            ),
        };
        errors += source_errors;
        warnings += source_warnings;
        if source_errors + source_warnings > 0 {
            with_findings += 1;
        }
    }
    let plural = |count: usize, one: &str| {
        if count == 1 {
            format!("{count} {one}")
        } else {
            format!("{count} {one}s")
        }
    };
    let files = plural(checked.len(), "file");
    if errors + warnings == 0 {
        format!("no errors or warnings in {files}")
    } else {
        format!(
            "{}, {} in {with_findings} of {files}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// Adds what the process environment does to each valid connection's API base
/// (`OPENAI_BASE_URL` with credentials, or plain http to another host), as findings that name
/// the variable.
fn with_environment_findings(mut loaded: Vec<Loaded>) -> Vec<Loaded> {
    for one in &mut loaded {
        if let Some(connection) = one.report.connection() {
            let found =
                openai_conn_client::environment_findings(connection, crate::source::environment());
            one.report.extend(found);
        }
    }
    loaded
}

fn print_load_errors(checked: &[Checked]) {
    for one in checked {
        if let Err(error) = &one.outcome {
            errln!("openai-conn: {error}");
        }
    }
}

/// Every finding, in the order of the sources: load errors first within a source (there is
/// nothing else for it), then each connection's diagnostics.
fn findings(checked: &[Checked]) -> Vec<Finding<'_>> {
    let mut out = Vec::new();
    for one in checked {
        let file = one.file.as_deref();
        match &one.outcome {
            Err(error) => {
                let (location, message) = load_error_position(error);
                out.push(Finding {
                    file,
                    label: &one.label,
                    severity: Severity::Error,
                    code: error.code(),
                    pointer: "",
                    location,
                    message,
                    suggestion: None,
                    origin: None,
                });
            }
            Ok(loaded) => {
                for connection in loaded {
                    for diagnostic in connection.report.diagnostics() {
                        out.push(Finding {
                            file,
                            label: &connection.label,
                            severity: diagnostic.severity,
                            code: diagnostic.code,
                            pointer: &diagnostic.pointer,
                            location: diagnostic.location,
                            message: diagnostic.message.clone(),
                            suggestion: diagnostic.suggestion.as_deref(),
                            origin: diagnostic.origin.as_deref(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// Where a load error is and what it says: a syntax error (YAML, TOML, or a connections file)
/// has its line and column, any other error none.
fn load_error_position(error: &LoadError) -> (Option<conn_schema::Location>, String) {
    match error {
        LoadError::Syntax {
            location,
            format,
            message,
            ..
        } => (*location, format!("invalid {format}: {message}")),
        other => (None, other.to_string()),
    }
}

fn print_human(sink: &mut Sink, loaded: &[&Loaded], color: bool, quiet: bool) {
    for one in loaded {
        // Escaped first: the colours are added after, so theirs are the only control sequences.
        let report = one.report.render(&one.label);
        let report = crate::escape::lines(&report);
        if color {
            sink.raw(&crate::color::report(&report));
        } else {
            sink.raw(&report);
        }
        if quiet {
            continue;
        }
        if let Some(connection) = one.report.connection() {
            let summary = match &connection.extra.auth {
                Auth::ApiKey => "api_key".to_owned(),
                Auth::WorkloadIdentity(identity) => format!(
                    "workload_identity, provider {}",
                    identity.provider.kind().as_str()
                ),
            };
            let label = crate::escape::line(&one.label);
            let ok = if color { crate::color::OK } else { "ok" };
            sink.raw(&format!("{label}: {ok} ({summary})\n"));
        }
    }
}

fn print_json(sink: &mut Sink, checked: &[Checked]) {
    let findings = findings(checked);
    let diagnostics: Vec<JsonDiagnostic<'_>> = findings.iter().map(JsonDiagnostic::from).collect();
    sink.json(&diagnostics);
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::ColorChoice;

    #[test]
    fn auto_colours_a_terminal_unless_no_color_is_set() {
        assert!(ColorChoice::Auto.decide(true, None));
        assert!(ColorChoice::Auto.decide(true, Some(OsStr::new(""))));
        assert!(!ColorChoice::Auto.decide(true, Some(OsStr::new("1"))));
        assert!(!ColorChoice::Auto.decide(false, None));
        assert!(ColorChoice::Always.decide(false, Some(OsStr::new("1"))));
        assert!(!ColorChoice::Never.decide(true, None));
    }
}
