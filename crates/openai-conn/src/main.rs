//! `openai-conn`: check OpenAI connections from the shell.
//!
//! Exit codes everywhere: 0 ok, 1 the connection (or the remote side) is wrong, 2 usage or
//! unreadable input.

mod source;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Check OpenAI connections (Apache Airflow form) before a pipeline depends on them.
#[derive(Debug, Parser)]
#[command(name = "openai-conn", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate connection documents; prints FILE:LINE:COL diagnostics.
    Validate(validate::ValidateArgs),
    /// Print a published JSON Schema, byte for byte as checked in.
    Schema {
        /// Which schema: a bare `extra` object or a whole connection.
        #[arg(long, value_enum, default_value_t = SchemaKind::Extra)]
        kind: SchemaKind,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SchemaKind {
    Extra,
    Connection,
}

/// How a subcommand reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Lines for people.
    #[default]
    Human,
    /// JSON for programs.
    Json,
}

/// Exit code: the connection or the remote side is wrong.
pub(crate) const EXIT_INVALID: u8 = 1;
/// Exit code: usage error or unreadable input.
pub(crate) const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Schema { kind } => {
            let text = match kind {
                SchemaKind::Extra => {
                    include_str!("../../../schema/openai-connection-extra.schema.json")
                }
                SchemaKind::Connection => {
                    include_str!("../../../schema/openai-connection.schema.json")
                }
            };
            print!("{text}");
            ExitCode::SUCCESS
        }
    }
}
