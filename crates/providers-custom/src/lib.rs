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
//! [`CustomSource`] says which, as plain values (a name, or an argument vector and a
//! [`Duration`]); [`CustomSource::build`] makes the source, with the token type the caller
//! configured. The crate knows no connection format. Every failure is a [`CustomError`], which
//! converts into a [`providers_core::SourceError`] with the provider `custom`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod command;
mod error;
mod registry;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use providers_core::{SubjectTokenSource, TokenType};

pub use command::{CommandSource, STDOUT_LIMIT};
pub use error::{CustomError, STDERR_LIMIT, StderrHead};
pub use registry::Registry;

/// Where a custom subject token comes from: one of two sources, never both, never neither.
///
/// Debug shows a command's program and the number of its arguments, not the arguments, which may
/// hold secrets.
#[derive(Clone, PartialEq, Eq)]
pub enum CustomSource {
    /// The source the host program registered under this name in a [`Registry`].
    Registered(String),
    /// An external command, run without a shell on every fetch.
    Command {
        /// The program and its arguments.
        argv: Vec<String>,
        /// How long the command may run before it is killed.
        timeout: Duration,
    },
}

impl CustomSource {
    /// Builds the source, yielding tokens of `token_type`: the one `registry` holds under the
    /// name (an unknown name is an error listing the registered ones), or a [`CommandSource`].
    pub fn build(
        &self,
        token_type: TokenType,
        registry: &Registry,
    ) -> Result<Arc<dyn SubjectTokenSource>, CustomError> {
        match self {
            CustomSource::Registered(name) => {
                Ok(Arc::new(registry.typed_source(name, token_type)?))
            }
            CustomSource::Command { argv, timeout } => Ok(Arc::new(CommandSource::new(
                argv.clone(),
                *timeout,
                token_type,
            ))),
        }
    }
}

impl fmt::Debug for CustomSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomSource::Registered(name) => f.debug_tuple("Registered").field(name).finish(),
            // The arguments may hold secrets, so only their number is shown.
            CustomSource::Command { argv, timeout } => f
                .debug_struct("Command")
                .field("program", &argv.first())
                .field("arguments", &argv.len().saturating_sub(1))
                .field("timeout", timeout)
                .finish(),
        }
    }
}
