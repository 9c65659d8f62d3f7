//! The OpenAI connection model of Apache Airflow's `openai` provider, in Rust.
//!
//! - [`model`]: the typed, resolved view of a connection and its `extra`, with the reference
//!   defaults applied (`auth_type` absent means `api_key`, the token file path, the Azure
//!   resource and api-version, the audience, the refresh buffer, ...).
//! - [`validate`]: source text to a [`Report`] of errors and warnings, each with its JSON pointer,
//!   line, column, message and suggestion; the resolved [`Connection`] when valid.
//! - [`keys`]: the one table of known keys, from which the parser, the snippet masking and the
//!   schema generator take their key lists.
//! - [`schema`]: the published JSON Schemas, generated from the model's types.
//! - [`profile`]: compatibility profiles ([`Profile::Airflow`] reports what Airflow's OpenAI
//!   provider would reject or ignore) and the Airflow-only schema.
//! - [`positions`] and [`pointer`]: JSON pointers and where values sit in a source text, for
//!   loaders that map findings back to their files (the `conn-load` crate).
//! - `SchemaValidator` (feature `validator`): a published schema compiled with `jsonschema`.
//!
//! It reads no files and no environment (loading is the `conn-load` crate's job) and has no HTTP
//! or async stack.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod code;
pub mod keys;
pub mod model;
mod parse;
pub mod pointer;
pub mod positions;
pub mod profile;
mod redact;
mod report;
pub mod schema;
#[cfg(feature = "validator")]
mod schema_check;

pub use code::{Code, Security, UnknownCode};
pub use model::{
    Auth, AuthType, AzureConfig, ClientKwargs, Connection, CustomConfig, CustomKeys, CustomSource,
    DataResidency, Extra, GcpConfig, GithubActionsConfig, KubernetesConfig, ProviderConfig,
    ProviderKind, TokenType, WorkloadIdentity, X509Config,
};
pub use parse::{ApiBaseFinding, api_base_finding, kind_of};
pub use profile::Profile;
pub use redact::{
    CREDENTIAL_HEADERS, escape_controls, has_user_info, is_cleartext_remote, is_credential_header,
    read_url, redact_url,
};
pub use report::{
    Diagnostic, DocumentKind, Location, Place, Report, Severity, validate, validate_bytes,
    validate_bytes_for, validate_for, validate_parsed_for, validate_value, validate_value_for,
};
#[cfg(feature = "validator")]
pub use schema_check::{SchemaCompileError, SchemaError, SchemaValidator};
