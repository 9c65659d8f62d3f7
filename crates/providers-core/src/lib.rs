//! What every subject-token source shares: the [`SubjectTokenSource`] trait, the token and its
//! [`TokenType`], the [`SourceError`] that says which source failed, at which step and whether it is
//! worth retrying, an injectable [`Env`], and the runtime-agnostic [`retry`] loop with its
//! [`RetryPolicy`], [`read_regular_file`] / [`read_bounded`], the bounded reads of documents and
//! token files, [`is_loopback_host`], the one rule of which hosts are this machine, and the
//! [`calendar`] every date is read and written by.
//!
//! This crate has no async runtime and no HTTP stack: sources bring their own, and sleeping is
//! injected through [`Sleep`] so tests can run on paused time.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod calendar;
mod env;
mod error;
mod net;
mod read;
mod retry;
mod signals;
mod token;

pub use env::{Env, MapEnv, ProcessEnv};
pub use error::{BoxError, SourceError};
pub use net::is_loopback_host;
pub use read::{
    MAX_CREDENTIAL_FILE_BYTES, MAX_DOCUMENT_BYTES, MAX_TOKEN_FILE_BYTES, read_bounded,
    read_regular_file,
};
pub use retry::{
    Decision, MAX_SERVER_DELAY, RetryPolicy, SdkRetryPolicy, Sleep, retry, retry_after_seconds,
};
pub use signals::{Signal, SignalKind};
pub use token::{SubjectToken, TokenType};

use std::future::Future;
use std::pin::Pin;

/// Implements [`std::fmt::Display`] for a type whose text is one of its `&'static str` methods
/// (`display_via!(TokenType, as_str)`), so that the text is written in one place.
#[macro_export]
macro_rules! display_via {
    ($type:ty, $method:ident) => {
        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.$method())
            }
        }
    };
}

/// A boxed, sendable future, as returned by the object-safe traits of this crate.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A source of subject tokens (the identity the platform gives this workload).
///
/// Implementations fetch a fresh token on every call; caching belongs to the access-token cache
/// of `openai-conn-client`, which calls this only when it needs a new exchange.
pub trait SubjectTokenSource: Send + Sync + std::fmt::Debug {
    /// Fetches the current subject token.
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>>;

    /// Where a fetch would go, as people read it (`the token file /path`, `IMDS at
    /// http://169.254.169.254/...`), without a query, a credential or a secret header; `None`
    /// when the source does not say. Nothing is sent. Used by diagnoses such as `doctor`.
    fn endpoint(&self) -> Option<String> {
        None
    }
}

impl<T: SubjectTokenSource + ?Sized> SubjectTokenSource for std::sync::Arc<T> {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        (**self).fetch()
    }

    fn endpoint(&self) -> Option<String> {
        (**self).endpoint()
    }
}

impl<T: SubjectTokenSource + ?Sized> SubjectTokenSource for Box<T> {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        (**self).fetch()
    }

    fn endpoint(&self) -> Option<String> {
        (**self).endpoint()
    }
}
