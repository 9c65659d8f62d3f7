//! `openai-conn doctor`: runs the connection's whole path as steps and prints the diagnosis
//! (`openai-conn-doctor` holds every check and hint; this module only prints).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use openai_conn_doctor::{Options, diagnose, render_human};

use crate::source::SourceArgs;
use crate::{EXIT_INVALID, EXIT_USAGE, Format, load_error_exit};

/// Arguments of `doctor`.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Stop before the token exchange (and so before the API under workload identity).
    #[arg(long)]
    no_exchange: bool,
    /// Stop before `GET /models`.
    #[arg(long)]
    no_api: bool,
    /// The connection file (JSON, TOML or YAML); `-` reads standard input, in the format it is
    /// written in (or the one `--stdin-filename` names).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

pub(crate) fn run(args: &DoctorArgs) -> ExitCode {
    let spec = match args.source.single(args.file.as_ref()) {
        Ok(spec) => spec,
        Err(error) => {
            errln!("openai-conn: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let label = crate::source::Source::One(spec.clone()).label();
    let loaded = args.source.load(&spec);
    // Input that could not be read at all is a usage error; a document that was read but is not
    // a connection is the `load` step's failure.
    if let Err(error) = &loaded {
        if load_error_exit(error) == EXIT_USAGE {
            errln!("openai-conn: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    }
    let options = Options::default()
        .with_exchange(!args.no_exchange)
        .with_api(!args.no_api);
    let report = match crate::token::block_on(diagnose(loaded, &label, &options)) {
        Ok(report) => report,
        Err(code) => return code,
    };
    match args.format {
        Format::Human => out!("{}", render_human(&report)),
        Format::Json => match serde_json::to_string_pretty(&report.to_json()) {
            Ok(text) => outln!("{text}"),
            Err(error) => errln!("openai-conn: cannot encode the report: {error}"),
        },
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    }
}
