//! The [`Registry`] of named token sources the host program compiles in, and the wrapper that
//! gives a registered source's tokens the type the connection configures.
//!
//! This is the Rust stand-in for the reference's dotted import path: configuration can only
//! choose among sources the program itself registered, so it never reaches untrusted code.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use providers_core::{BoxFuture, SourceError, SubjectToken, SubjectTokenSource, TokenType};

use crate::error::CustomError;

/// Token sources the host program registered under names that `token_provider` may select.
///
/// Cloning is cheap (the sources are shared). Debug lists the names only.
#[derive(Clone, Default)]
pub struct Registry {
    // A BTreeMap keeps the names sorted, so listings and error messages are stable.
    sources: BTreeMap<String, Arc<dyn SubjectTokenSource>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers `source` under `name`, returning the source it replaces, if any.
    pub fn register(
        &mut self,
        name: impl Into<String>,
        source: Arc<dyn SubjectTokenSource>,
    ) -> Option<Arc<dyn SubjectTokenSource>> {
        self.sources.insert(name.into(), source)
    }

    /// Registers `source` under `name`, replacing any earlier one, and returns the registry.
    pub fn with(mut self, name: impl Into<String>, source: Arc<dyn SubjectTokenSource>) -> Self {
        self.register(name, source);
        self
    }

    /// The source registered under `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn SubjectTokenSource>> {
        self.sources.get(name).cloned()
    }

    /// The registered names, sorted.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.sources.keys().map(String::as_str)
    }

    /// The source registered under `name`, yielding tokens of `token_type` (the connection's
    /// `token_type`, whatever the registered source reports); an unknown name is an error that
    /// lists the registered ones.
    pub fn source(
        &self,
        name: &str,
        token_type: TokenType,
    ) -> Result<Arc<dyn SubjectTokenSource>, CustomError> {
        let inner = self.get(name).ok_or_else(|| CustomError::NotRegistered {
            name: name.to_owned(),
            registered: self.names().map(str::to_owned).collect(),
        })?;
        Ok(Arc::new(RegisteredSource {
            name: name.to_owned(),
            inner,
            token_type,
        }))
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The sources' own Debug is theirs to get right; the names are all a reader needs here.
        f.debug_struct("Registry")
            .field("names", &self.names().collect::<Vec<_>>())
            .finish()
    }
}

/// A registered source whose tokens carry the configured token type, whatever type the source
/// itself reports: the connection's `token_type` is what tells the exchange what it receives.
struct RegisteredSource {
    name: String,
    inner: Arc<dyn SubjectTokenSource>,
    token_type: TokenType,
}

impl fmt::Debug for RegisteredSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredSource")
            .field("name", &self.name)
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

impl SubjectTokenSource for RegisteredSource {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        Box::pin(async move {
            // The registered source's own error passes through unchanged: it already names its
            // step and knows best whether it is transient.
            let token = self.inner.fetch().await?;
            if token.is_empty() {
                return Err(CustomError::EmptyToken {
                    name: self.name.clone(),
                }
                .into());
            }
            Ok(SubjectToken::new(token.secret().clone(), self.token_type))
        })
    }
}
