//! [`ClientOptions`]: the environment, custom sources and test overrides that
//! [`crate::from_connection`] and [`crate::plan`] take.

use std::sync::Arc;

use providers_core::{Env, ProcessEnv, RetryPolicy, Sleep, SubjectTokenSource};

use crate::resolve::UrlText;

/// Options of [`from_connection`] and [`plan`]: the environment, custom sources, and overrides
/// for tests. Debug shows the exchange URL without credentials or query values.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub(crate) env: Arc<dyn Env>,
    pub(crate) registry: providers_custom::Registry,
    pub(crate) exchange_url: Option<UrlText>,
    pub(crate) applied_overrides: Vec<String>,
    pub(crate) exchange_retry: Option<RetryPolicy>,
    pub(crate) exchange_sleep: Option<Arc<dyn Sleep>>,
    pub(crate) refresh_backoff: Option<RetryPolicy>,
    pub(crate) subject_token_source: Option<Arc<dyn SubjectTokenSource>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            env: Arc::new(ProcessEnv),
            registry: providers_custom::Registry::new(),
            exchange_url: None,
            applied_overrides: Vec::new(),
            exchange_retry: None,
            exchange_sleep: None,
            refresh_backoff: None,
            subject_token_source: None,
        }
    }
}

impl ClientOptions {
    /// Default options: the process environment, no custom sources, no overrides.
    pub fn new() -> Self {
        ClientOptions::default()
    }

    /// Where `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`,
    /// `OPENAI_TOKEN_EXCHANGE_URL` and the sources' variables are read.
    pub fn with_env(mut self, env: Arc<dyn Env>) -> Self {
        self.env = env;
        self
    }

    /// Names of the `OPENAI_CONN_*` variables the loader applied to the connection, so that the
    /// [`Plan`] lists them among the variables in effect.
    pub fn with_applied_overrides(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.applied_overrides = names.into_iter().collect();
        self
    }

    /// The sources a `custom` connection may name in `token_provider`.
    pub fn with_registry(mut self, registry: providers_custom::Registry) -> Self {
        self.registry = registry;
        self
    }

    /// The exchange endpoint; wins over `OPENAI_TOKEN_EXCHANGE_URL`.
    pub fn with_exchange_url(mut self, url: impl Into<String>) -> Self {
        self.exchange_url = Some(UrlText::new(url));
        self
    }

    /// Retries of one exchange (tests use `RetryPolicy::without_delays`); feature `test-util`.
    #[cfg(feature = "test-util")]
    pub fn with_exchange_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.exchange_retry = Some(policy);
        self
    }

    /// How the exchange waits between retries; feature `test-util`.
    #[cfg(feature = "test-util")]
    pub fn with_exchange_sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.exchange_sleep = Some(sleep);
        self
    }

    /// Delays between failed background refreshes; feature `test-util`.
    #[cfg(feature = "test-util")]
    pub fn with_refresh_backoff(mut self, policy: RetryPolicy) -> Self {
        self.refresh_backoff = Some(policy);
        self
    }

    /// Uses `source` instead of the one the connection's provider describes (tests, or programs
    /// that build their own source).
    pub fn with_subject_token_source(mut self, source: Arc<dyn SubjectTokenSource>) -> Self {
        self.subject_token_source = Some(source);
        self
    }
}
