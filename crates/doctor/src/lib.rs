//! Diagnoses an OpenAI connection step by step and says what to change: the library behind
//! `openai-conn doctor`, so that any program (and later the proxy's health endpoint) runs the same
//! diagnosis.
//!
//! [`diagnose`] runs the connection's whole path as [`Step`]s, in order: `load` (the validation
//! findings), `resolve` (what `plan` says), `environment` (where the process appears to run, from
//! the signals each source crate documents), `subject-token` (fetched, timed), `token-claims` (a
//! JWT decoded without verifying it, or the client certificate), `exchange` and `api` (one
//! `GET /models`). Each step is `ok`, `warn`, `fail` or `skipped` (with why), with its duration,
//! the facts it found and, for `warn` and `fail`, [`Hint`]s with a stable [`HintCode`]. A failed
//! step does not hide the steps that can still run.
//!
//! Nothing here sends a request `openai-conn test` would not send, and no output holds a secret:
//! a subject token is shown as its header and a few claims (or its length), never its value or
//! signature. The validation, the plan, the subject-token source and the exchange are
//! `conn-load`'s, `openai-conn-client`'s and the source crates' own; this crate only reads their
//! results and explains them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod checks;
mod explain;
mod hints;
mod jwt;
mod render;
mod steps;
mod time;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use openai_conn_client::ClientOptions;
use providers_core::{Env, ProcessEnv};
use serde::Serialize;
use serde_json::{Map, Value};

pub use explain::one_line;
pub use hints::{HintCode, markdown_table};
pub use jwt::{Jwt, TokenShape, inspect};
pub use render::render_human;

/// The local clock, injected so that tests judge token times against a fixed instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that always reads the same instant (tests, reproducible output); every step then
/// takes 0 ms.
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub SystemTime);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// How [`diagnose`] runs.
#[derive(Clone, Debug)]
pub struct Options {
    pub(crate) client: ClientOptions,
    pub(crate) env: Arc<dyn Env>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) exchange: bool,
    pub(crate) api: bool,
    pub(crate) default_service_account_token: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options::new(Arc::new(ProcessEnv))
    }
}

impl Options {
    /// Every step, the system clock, and `env` for the signals and for the client (as
    /// `ClientOptions::with_env`).
    pub fn new(env: Arc<dyn Env>) -> Self {
        Options {
            client: ClientOptions::new().with_env(Arc::clone(&env)),
            env,
            clock: Arc::new(SystemClock),
            exchange: true,
            api: true,
            default_service_account_token: PathBuf::from(
                providers_kubernetes::DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH,
            ),
        }
    }

    /// The client options the plan, the source, the exchange and the API use (custom sources,
    /// an exchange URL); give them the same environment as [`Options::new`].
    pub fn with_client_options(mut self, client: ClientOptions) -> Self {
        self.client = client;
        self
    }

    /// The clock token times are judged against.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// `false` stops before the exchange (and so before the API under workload identity).
    pub fn with_exchange(mut self, exchange: bool) -> Self {
        self.exchange = exchange;
        self
    }

    /// `false` stops before `GET /models`.
    pub fn with_api(mut self, api: bool) -> Self {
        self.api = api;
        self
    }

    /// Where the default Kubernetes service-account token is looked for (tests).
    pub fn with_default_service_account_token(mut self, path: impl Into<PathBuf>) -> Self {
        self.default_service_account_token = path.into();
        self
    }
}

/// The id of a step; the JSON's `steps[].id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum StepId {
    /// The validation findings.
    Load,
    /// What `plan` resolves.
    Resolve,
    /// Where the process appears to run.
    Environment,
    /// The subject token (or the client certificate), fetched and timed.
    SubjectToken,
    /// The subject token's header and claims, or the certificate's facts.
    TokenClaims,
    /// The token exchange.
    Exchange,
    /// One `GET /models`.
    Api,
}

impl StepId {
    /// The id as written: `load`, `resolve`, `environment`, `subject-token`, `token-claims`,
    /// `exchange`, `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepId::Load => "load",
            StepId::Resolve => "resolve",
            StepId::Environment => "environment",
            StepId::SubjectToken => "subject-token",
            StepId::TokenClaims => "token-claims",
            StepId::Exchange => "exchange",
            StepId::Api => "api",
        }
    }
}

/// How a step went; the JSON's `steps[].status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It did not run; `reason` says why.
    Skipped,
    /// Nothing to change.
    Ok,
    /// It worked, with something worth changing.
    Warn,
    /// It failed.
    Fail,
}

impl Status {
    /// `ok`, `warn`, `fail` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Skipped => "skipped",
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// What to change and where, under a stable code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hint {
    /// The stable code (see the README's table).
    pub code: HintCode,
    /// One sentence: what to change and where.
    pub message: String,
}

/// One step of the diagnosis.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Which step.
    pub id: StepId,
    /// How it went.
    pub status: Status,
    /// Why it was skipped; only for `skipped`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How long it took, in milliseconds.
    pub took_ms: u64,
    /// What it found (never a secret).
    pub facts: Map<String, Value>,
    /// For `warn` and `fail`: what to change.
    pub hints: Vec<Hint>,
}

/// The whole diagnosis; its JSON form is the stable document of `doctor --format json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The connection id.
    pub conn_id: String,
    /// No step failed (warnings allowed).
    pub ok: bool,
    /// Every step, in order.
    pub steps: Vec<Step>,
}

impl Report {
    /// The step `id`.
    pub fn step(&self, id: StepId) -> Option<&Step> {
        self.steps.iter().find(|step| step.id == id)
    }

    /// The JSON document.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Runs the diagnosis of one loaded connection (or of one that could not be loaded: its error is
/// the `load` step's failure, and the steps that need no connection still run). `conn_id` names
/// the connection when `loaded` does not.
pub async fn diagnose(
    loaded: Result<conn_load::Loaded, conn_load::LoadError>,
    conn_id: &str,
    options: &Options,
) -> Report {
    steps::run(loaded, conn_id, options).await
}
