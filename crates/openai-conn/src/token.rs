//! `openai-conn token` and `openai-conn test`: the only subcommands that use the network.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use openai_conn_client::{ClientOptions, from_connection, test_connection};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::source::SourceArgs;
use crate::{EXIT_INVALID, Usable, load_connection};

/// Arguments of `token`.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Print the access token itself instead of `[redacted]`.
    #[arg(long)]
    show_token: bool,
    /// The connection file (JSON, TOML or YAML); `-` reads JSON from standard input.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Arguments of `test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The connection file (JSON, TOML or YAML); `-` reads JSON from standard input.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
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

/// Fetches the subject token, exchanges it and prints the result.
pub(crate) fn token(args: &TokenArgs) -> ExitCode {
    let Usable {
        connection,
        conn_id,
        ..
    } = match load_connection(&args.source, args.file.as_ref()) {
        Ok(usable) => usable,
        Err(code) => return code,
    };
    if let Some(warning) = openai_conn_client::exposed_key_warning(&connection) {
        errln!("openai-conn: warning: {warning}");
    }
    let connected = match from_connection(&connection, &conn_id, ClientOptions::new()) {
        Ok(connected) => connected,
        Err(error) => {
            errln!("{error}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    if let Some(warning) = connected.plan.cleartext_warning() {
        errln!("openai-conn: warning: {warning}");
    }
    let Some(cache) = connected.token_cache else {
        errln!(
            "connection {conn_id:?} uses auth_type \"api_key\"; `token` needs \"workload_identity\""
        );
        return ExitCode::from(EXIT_INVALID);
    };
    let Some(runtime) = runtime() else {
        return ExitCode::from(EXIT_INVALID);
    };
    let outcome = match crate::interrupt::block_on(runtime, cache.token()) {
        Ok(outcome) => outcome,
        Err(code) => return code,
    };
    match outcome {
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
            ExitCode::SUCCESS
        }
        Err(error) => {
            errln!("{error}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

/// Lists models with the authenticated client.
pub(crate) fn test(args: &TestArgs) -> ExitCode {
    let Usable {
        connection,
        conn_id,
        ..
    } = match load_connection(&args.source, args.file.as_ref()) {
        Ok(usable) => usable,
        Err(code) => return code,
    };
    if let Some(warning) = openai_conn_client::exposed_key_warning(&connection) {
        errln!("openai-conn: warning: {warning}");
    }
    let connected = match from_connection(&connection, &conn_id, ClientOptions::new()) {
        Ok(connected) => connected,
        Err(error) => {
            errln!("{error}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    if let Some(warning) = connected.plan.cleartext_warning() {
        errln!("openai-conn: warning: {warning}");
    }
    let Some(runtime) = runtime() else {
        return ExitCode::from(EXIT_INVALID);
    };
    let outcome = match crate::interrupt::block_on(runtime, test_connection(&connected.client)) {
        Ok(outcome) => outcome,
        Err(code) => return code,
    };
    match outcome {
        Ok(message) => {
            outln!("{}", crate::escape::line(message));
            ExitCode::SUCCESS
        }
        Err(error) => {
            errln!("{}", one_line(&error));
            ExitCode::from(EXIT_INVALID)
        }
    }
}

/// An error and its causes on one line, without repeating a cause the message already holds.
fn one_line(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line.replace('\n', " ")
}
