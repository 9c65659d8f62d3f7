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
//! Both are built from plain values ([`Registry::source`] from a name, [`CommandSource::new`]
//! from an argument vector and a `Duration`), each with the token type the caller configured;
//! the crate knows no connection format (the caller's own model says which of the two a
//! connection chose). Every failure is a [`CustomError`], which converts into a
//! [`providers_core::SourceError`] with the provider `custom`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod command;
mod error;
mod registry;

pub use command::{CommandSource, STDOUT_LIMIT};
pub use error::{CustomError, STDERR_LIMIT, StderrHead};
pub use registry::Registry;
