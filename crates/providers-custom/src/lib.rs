//! The `custom` subject-token source, in the two forms Rust can offer safely.
//!
//! The reference imports a callable from a dotted path named by configuration. Rust cannot, and
//! configuration should never reach arbitrary code anyway, so a `custom` connection selects one of:
//!
//! - a [`Registry`] entry: a [`SubjectTokenSource`] the host program compiled in and registered
//!   under the name `token_provider` gives; its tokens get the configured `token_type`;
//! - a [`CommandSource`]: the external command `token_command` (an argument vector, no shell),
//!   run on every fetch with a timeout, whose trimmed standard output is the token.
//!
//! [`source_from_config`] builds either from a parsed connection. Every failure is a
//! [`CustomError`], which converts into a [`providers_core::SourceError`] with the provider
//! `custom`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod command;
mod error;
mod registry;

use std::sync::Arc;

use conn_schema::{CustomConfig, CustomSource};
use providers_core::{SubjectTokenSource, TokenType};

pub use command::{CommandSource, STDOUT_LIMIT};
pub use error::{CustomError, STDERR_LIMIT, StderrHead};
pub use registry::Registry;

/// Builds the source a parsed `custom` connection describes: the registered source named by
/// `token_provider`, or a [`CommandSource`] for `token_command`, either yielding tokens of the
/// configured `token_type`.
///
/// An unknown name is an error listing the registered ones; an empty command or a timeout that is
/// not a positive, finite number of seconds is an error too.
pub fn source_from_config(
    config: &CustomConfig,
    registry: &Registry,
) -> Result<Arc<dyn SubjectTokenSource>, CustomError> {
    let token_type = token_type(config.token_type);
    match config.source() {
        CustomSource::Registered(name) => Ok(Arc::new(registry.typed_source(name, token_type)?)),
        CustomSource::Command {
            argv,
            timeout_seconds,
        } => {
            let timeout = command::timeout_from_seconds(timeout_seconds)?;
            Ok(Arc::new(CommandSource::new(
                argv.to_vec(),
                timeout,
                token_type,
            )?))
        }
    }
}

/// The schema's token type as the exchange's; the two enums mirror each other but live in crates
/// that do not depend on one another.
fn token_type(configured: conn_schema::TokenType) -> TokenType {
    match configured {
        conn_schema::TokenType::Jwt => TokenType::Jwt,
        conn_schema::TokenType::Id => TokenType::Id,
    }
}
