//! `openai-conn`: check OpenAI connections from the shell.
//!
//! Exit codes everywhere: 0 ok, 1 the connection (or the remote side) is wrong, 2 usage or
//! unreadable input.

// First, so that its `out!` and `outln!` are in scope in the modules below.
#[macro_use]
mod output;
mod color;
mod deferred_log;
mod doctor;
mod escape;
mod finding;
mod github;
mod interrupt;
mod plan;
mod proxy;
mod sarif;
mod source;
mod token;
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
    /// Show what a connection will do (base URL, auth, provider parameters with defaults); no
    /// network.
    Plan(plan::PlanArgs),
    /// Fetch the subject token and exchange it; prints the access token's type and lifetime.
    Token(token::TokenArgs),
    /// List models with the authenticated client.
    Test(token::TestArgs),
    /// Say why a connection fails, step by step (load, resolve, environment, subject token,
    /// claims, exchange, api), with a hint for each problem.
    Doctor(doctor::DoctorArgs),
    /// Serve the connection on a local port: any OpenAI client with `base_url` set to the proxy
    /// gets the connection's credential (one shared workload-identity token).
    Proxy(proxy::ProxyArgs),
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

/// Logs go to standard error, filtered by `RUST_LOG` (nothing by default; `proxy` logs its
/// requests and token refreshes). No log line of this project carries a secret, at any level.
/// The proxy's lines are written when it idles (`deferred_log`), not on a request's path.
fn logging(default: &str, deferred: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only on a terminal: the proxy's logs go to journald or a container log.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if deferred {
        builder.with_writer(deferred_log::DeferredStderr).try_init()
    } else {
        builder.with_writer(std::io::stderr).try_init()
    };
}

/// Exit code: the connection or the remote side is wrong.
pub(crate) const EXIT_INVALID: u8 = 1;
/// Exit code: usage error or unreadable input.
pub(crate) const EXIT_USAGE: u8 = 2;

/// The exit code of a connection that could not be loaded: 1 when it was read but is not a
/// usable connection (a YAML, TOML or URI syntax error, like a JSON one), 2 when it could not be
/// read at all.
pub(crate) fn load_error_exit(error: &conn_load::LoadError) -> u8 {
    if error.is_invalid_connection() {
        EXIT_INVALID
    } else {
        EXIT_USAGE
    }
}

/// A connection that loaded and validated, ready for `plan`, `token` and `test`.
pub(crate) struct Usable {
    pub(crate) connection: conn_schema::Connection,
    pub(crate) conn_id: String,
    /// Names of the `OPENAI_CONN_*` variables that were applied.
    pub(crate) overrides: Vec<String>,
}

impl Usable {
    /// The client options with the applied `OPENAI_CONN_*` overrides named.
    pub(crate) fn options(&self) -> openai_conn_client::ClientOptions {
        openai_conn_client::ClientOptions::new().with_applied_overrides(self.overrides.clone())
    }
}

/// Loads one connection and checks it. On failure the problem is already printed and the error
/// is the exit code: 2 for usage or unreadable input, 1 for an invalid connection.
pub(crate) fn load_connection(
    source: &source::SourceArgs,
    file: Option<&std::path::PathBuf>,
) -> Result<Usable, ExitCode> {
    let spec = source.single(file).map_err(|error| {
        errln!("openai-conn: {error}");
        ExitCode::from(EXIT_USAGE)
    })?;
    let loaded = source.load(&spec).map_err(|error| {
        errln!("openai-conn: {error}");
        ExitCode::from(load_error_exit(&error))
    })?;
    let conn_id = loaded.conn_id.clone().unwrap_or_else(|| "stdin".to_owned());
    if loaded.report.has_errors() {
        err!("{}", loaded.report.render(&loaded.label));
    }
    match loaded.report.into_connection() {
        Some(connection) => Ok(Usable {
            connection,
            conn_id,
            overrides: loaded.overrides,
        }),
        None => Err(ExitCode::from(EXIT_INVALID)),
    }
}

/// [`load_connection`], then the warning for an API key written in the file (`plan`, `token`
/// and `test` print it; `proxy` does not).
pub(crate) fn load_warned(
    source: &source::SourceArgs,
    file: Option<&std::path::PathBuf>,
) -> Result<Usable, ExitCode> {
    let usable = load_connection(source, file)?;
    if let Some(warning) = openai_conn_client::exposed_key_warning(&usable.connection) {
        errln!("openai-conn: warning: {warning}");
    }
    Ok(usable)
}

fn main() -> ExitCode {
    // clap's own messages go through the escaping writers too: they quote the arguments given.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let text = error.to_string();
            if error.use_stderr() {
                err!("{text}");
            } else {
                out!("{text}");
            }
            output::flush();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(EXIT_USAGE));
        }
    };
    match cli.command {
        Command::Proxy(_) => logging("openai_conn_proxy=info,openai_conn_client=info", true),
        _ => logging("off", false),
    }
    let code = run(cli);
    output::flush();
    code
}

fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Token(args) => token::token(&args),
        Command::Test(args) => token::test(&args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Proxy(args) => proxy::run(&args),
        Command::Schema { kind } => {
            // Generated from the types, as `schema/` is (its freshness test keeps the two equal),
            // so the package needs no file from outside itself.
            let schema = match kind {
                SchemaKind::Extra => conn_schema::schema::extra_schema(),
                SchemaKind::Connection => conn_schema::schema::connection_schema(),
            };
            out!("{}", conn_schema::schema::to_pretty(&schema));
            ExitCode::SUCCESS
        }
    }
}
