//! `openai-conn token` and `openai-conn test`: the only subcommands that use the network.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use openai_conn_client::{ClientOptions, Connected, from_connection, test_connection};
use openai_conn_doctor::one_line;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::source::SourceArgs;
use crate::{EXIT_INVALID, Usable, load_warned};

/// Arguments of `token`.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Print the access token itself instead of `[redacted]`.
    #[arg(long)]
    show_token: bool,
    /// The connection file (JSON, TOML or YAML); `-` reads standard input, in the format it is
    /// written in (or the one `--stdin-filename` names).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Arguments of `test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The connection file (JSON, TOML or YAML); `-` reads standard input, in the format it is
    /// written in (or the one `--stdin-filename` names).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            errln!("openai-conn: cannot start the async runtime: {error}");
            None
        }
    }
}

/// Loads the connection and builds its client, printing the warnings `plan` prints too. On
/// failure the problem is already printed and the error is the exit code.
fn connect(source: &SourceArgs, file: Option<&PathBuf>) -> Result<(Connected, String), ExitCode> {
    let Usable {
        connection,
        conn_id,
        ..
    } = load_warned(source, file)?;
    let connected =
        from_connection(&connection, &conn_id, ClientOptions::new()).map_err(|error| {
            errln!("{error}");
            ExitCode::from(EXIT_INVALID)
        })?;
    if let Some(warning) = connected.plan.cleartext_warning() {
        errln!("openai-conn: warning: {warning}");
    }
    Ok((connected, conn_id))
}

/// Runs `future` on a new runtime until it finishes or the user interrupts it (`token`, `test`
/// and `doctor`, which may start a token command). The error is the exit code: 1 when the runtime
/// cannot start (said on standard error), 128 + the signal on an interrupt.
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> Result<T, ExitCode> {
    let runtime = runtime().ok_or(ExitCode::from(EXIT_INVALID))?;
    crate::interrupt::block_on(runtime, future)
}

/// Fetches the subject token, exchanges it and prints the result.
pub(crate) fn token(args: &TokenArgs) -> ExitCode {
    run_token(args).unwrap_or_else(|code| code)
}

fn run_token(args: &TokenArgs) -> Result<ExitCode, ExitCode> {
    let (connected, conn_id) = connect(&args.source, args.file.as_ref())?;
    let Some(cache) = connected.token_cache else {
        errln!(
            "connection {conn_id:?} uses auth_type \"api_key\"; `token` needs \"workload_identity\""
        );
        return Err(ExitCode::from(EXIT_INVALID));
    };
    match block_on(cache.token())? {
        Ok(token) => {
            let expires_in = token
                .expires_at()
                .saturating_duration_since(tokio::time::Instant::now())
                .as_secs();
            let access_token = if args.show_token {
                token.secret().expose_secret().to_owned()
            } else {
                "[redacted]".to_owned()
            };
            let reply = json!({"token_type": "Bearer", "expires_in": expires_in, "access_token": access_token});
            outln!("{}", crate::escape::json(&reply.to_string()));
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            errln!("{error}");
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}

/// Lists models with the authenticated client.
pub(crate) fn test(args: &TestArgs) -> ExitCode {
    run_test(args).unwrap_or_else(|code| code)
}

fn run_test(args: &TestArgs) -> Result<ExitCode, ExitCode> {
    let (connected, _) = connect(&args.source, args.file.as_ref())?;
    match block_on(test_connection(&connected.client))? {
        Ok(message) => {
            outln!("{}", crate::escape::line(message));
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            errln!("{}", one_line(&error));
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}
