//! The OpenAI connection model of Apache Airflow's `openai` provider, in Rust.
//!
//! - [`model`]: the typed, resolved view of a connection and its `extra`, with the reference
//!   defaults applied (`auth_type` absent means `api_key`, the token file path, the Azure
//!   resource and api-version, the audience, the refresh buffer, ...).
//! - [`validate`]: source text to a [`Report`] of errors and warnings, each with its JSON pointer,
//!   line, column, message and suggestion; the resolved [`Connection`] when valid.
//! - [`schema`]: the published JSON Schemas, generated from the model's types.
//! - [`SchemaValidator`]: a published schema compiled with `jsonschema`.
//! - [`load`]: connections from files (JSON, TOML, YAML), `AIRFLOW_CONN_*` variables (JSON or URI
//!   form) and Airflow connections files, with `OPENAI_CONN_*` overrides layered by figment.
//!
//! It reads files, standard input and environment variables only when [`load`] is asked to, and
//! has no HTTP or async stack.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod load;
pub mod model;
mod parse;
mod pointer;
mod positions;
mod report;
pub mod schema;
mod schema_check;

pub use load::{EnvVars, LoadError, Loaded, MapEnv, ProcessEnv, SourceSpec, load, load_with_stdin};
pub use model::{
    Auth, AuthType, AzureConfig, ClientKwargs, Connection, CustomConfig, CustomSource, Extra,
    GcpConfig, GithubActionsConfig, KubernetesConfig, ProviderConfig, ProviderKind, TokenType,
    WorkloadIdentity, X509Config,
};
pub use report::{
    Diagnostic, DocumentKind, Location, Report, Severity, validate, validate_bytes, validate_value,
};
pub use schema_check::{SchemaCompileError, SchemaError, SchemaValidator};
