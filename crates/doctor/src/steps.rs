//! The steps, in order, each reading what the crates that do the work report: `conn-load`'s
//! findings, `openai-conn-client`'s plan, source mapping, exchange and client, and the source
//! crates' signals. What a result means is decided in `checks` (claims, certificates, the
//! platform) and `explain` (errors); this module only runs and times the steps.

use std::sync::Arc;

use conn_schema::{Auth, Connection, ProviderConfig, Severity, WorkloadIdentity};
use openai_conn_client::{
    AccessToken, ClientOptions, from_connection, plan, subject_token_source, test_connection,
};
use providers_core::{BoxFuture, SourceError, SubjectToken, SubjectTokenSource};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::builder::{Builder, skipped};
use crate::jwt::{TokenShape, inspect};
use crate::{HintCode, Options, Report, Status, StepId, checks, explain, time};

/// What a subject-token step yielded for the later steps.
enum Credential {
    /// No subject token: the step was skipped or failed.
    None,
    /// A subject token.
    Token(SubjectToken),
    /// The client certificate under `x509` loaded.
    Certificate,
}

/// A source that hands out the token the `subject-token` step fetched, so that the exchange
/// does not fetch a second one.
#[derive(Debug)]
struct Fetched(SubjectToken);

impl SubjectTokenSource for Fetched {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

pub(crate) async fn run(
    loaded: Result<conn_load::Loaded, conn_load::LoadError>,
    conn_id: &str,
    options: &Options,
) -> Report {
    let mut steps = Vec::new();
    let (connection, conn_id, overrides) = {
        let mut step = Builder::new(StepId::Load, options);
        let outcome = load(&mut step, loaded, conn_id, options);
        steps.push(step.finish());
        outcome
    };
    let client = options.client.clone().with_applied_overrides(overrides);

    // resolve
    match &connection {
        None => steps.push(skipped(StepId::Resolve, "the connection did not load")),
        Some(connection) => {
            let mut step = Builder::new(StepId::Resolve, options);
            match plan(connection, &conn_id, &client) {
                Ok(plan) => {
                    if let Ok(Value::Object(facts)) = serde_json::to_value(&plan) {
                        step.facts = facts;
                    }
                    if let Some(warning) = plan.cleartext_warning() {
                        step.warn(HintCode::CleartextApiBase, warning);
                    }
                }
                Err(error) => step.fail(HintCode::PlanFailed, explain::one_line(&error)),
            }
            steps.push(step.finish());
        }
    }

    let identity = connection
        .as_ref()
        .and_then(|connection| match &connection.extra.auth {
            Auth::WorkloadIdentity(identity) => Some(identity),
            Auth::ApiKey => None,
        });

    // environment: runs whatever else failed.
    let mut step = Builder::new(StepId::Environment, options);
    checks::environment(
        &mut step,
        identity.map(|identity| &identity.provider),
        options,
    );
    steps.push(step.finish());

    // subject-token
    let credential = match (&connection, identity) {
        (None, _) => {
            steps.push(skipped(StepId::SubjectToken, "the connection did not load"));
            Credential::None
        }
        (Some(_), None) => {
            steps.push(skipped(
                StepId::SubjectToken,
                "auth_type is api_key: there is no subject token",
            ));
            Credential::None
        }
        (Some(connection), Some(identity)) => {
            let mut step = Builder::new(StepId::SubjectToken, options);
            let credential =
                subject_token(&mut step, connection, identity, &conn_id, &client).await;
            steps.push(step.finish());
            credential
        }
    };

    // token-claims
    let mut claims = None;
    match (&credential, identity) {
        (Credential::Token(token), Some(identity)) => {
            let mut step = Builder::new(StepId::TokenClaims, options);
            let shape = inspect(token.secret().expose_secret());
            checks::claims(&mut step, &shape, identity, options);
            if let TokenShape::Jwt(jwt) = shape {
                claims = Some(*jwt);
            }
            steps.push(step.finish());
        }
        (Credential::Certificate, Some(identity)) => {
            let mut step = Builder::new(StepId::TokenClaims, options);
            if let ProviderConfig::X509(config) = &identity.provider {
                checks::certificate(&mut step, config, options);
            }
            steps.push(step.finish());
        }
        _ => steps.push(skipped(StepId::TokenClaims, "no subject token")),
    }

    // exchange
    let mut connected = None;
    let exchange_skipped = match (&connection, identity, &credential) {
        (None, _, _) => Some("the connection did not load"),
        (Some(_), None, _) => Some("auth_type is api_key: there is no exchange"),
        _ if !options.exchange => Some("--no-exchange"),
        (_, _, Credential::None) => Some("no subject token"),
        _ => None,
    };
    match (exchange_skipped, &connection, identity) {
        (Some(reason), _, _) => steps.push(skipped(StepId::Exchange, reason)),
        (None, Some(connection), Some(identity)) => {
            let mut step = Builder::new(StepId::Exchange, options);
            let with_token = match &credential {
                Credential::Token(token) => client
                    .clone()
                    .with_subject_token_source(Arc::new(Fetched(token.clone()))),
                _ => client.clone(),
            };
            match from_connection(connection, &conn_id, with_token) {
                Ok(built) => {
                    if let Some(cache) = &built.token_cache {
                        step.fact("endpoint", conn_schema::redact_url(cache.exchange_url()));
                        // Taken before the exchange, so that `expires_at - started` is the
                        // lifetime the exchange granted (the cache counts it from just before
                        // its request), not that less the round trip.
                        let started = tokio::time::Instant::now();
                        match cache.token().await {
                            Ok(token) => exchanged(&mut step, &token, started, identity, options),
                            Err(error) => explain::exchange_error(
                                &mut step,
                                &error,
                                identity,
                                claims.as_ref(),
                                options,
                            ),
                        }
                    }
                    if !step.failed() {
                        connected = Some(built);
                    }
                }
                Err(error) => step.fail(HintCode::ExchangeFailed, explain::one_line(&error)),
            }
            steps.push(step.finish());
        }
        _ => steps.push(skipped(StepId::Exchange, "the connection did not load")),
    }

    // api
    let api_skipped = match (&connection, identity) {
        (None, _) => Some("the connection did not load"),
        _ if !options.api => Some("--no-api"),
        (Some(_), Some(_)) if !options.exchange => {
            Some("--no-exchange (the api needs an access token)")
        }
        (Some(_), Some(_)) if connected.is_none() => Some("no access token"),
        _ => None,
    };
    match (api_skipped, &connection) {
        (Some(reason), _) => steps.push(skipped(StepId::Api, reason)),
        (None, Some(connection)) => {
            let mut step = Builder::new(StepId::Api, options);
            api(
                &mut step,
                connection,
                &conn_id,
                connected,
                &client,
                identity.is_some(),
            )
            .await;
            steps.push(step.finish());
        }
        (None, None) => steps.push(skipped(StepId::Api, "the connection did not load")),
    }

    Report {
        conn_id,
        ok: steps.iter().all(|step| step.status != Status::Fail),
        steps,
    }
}

/// The `load` step: the validation findings (and the environment's, as `validate` adds them).
fn load(
    step: &mut Builder<'_>,
    loaded: Result<conn_load::Loaded, conn_load::LoadError>,
    conn_id: &str,
    options: &Options,
) -> (Option<Connection>, String, Vec<String>) {
    let mut loaded = match loaded {
        Ok(loaded) => loaded,
        Err(error) => {
            step.fact("error", error.to_string());
            step.fail(
                HintCode::ConnectionInvalid,
                "the connection could not be read: fix what the error says (`openai-conn validate` shows where)",
            );
            return (None, conn_id.to_owned(), Vec::new());
        }
    };
    let conn_id = loaded.conn_id.clone().unwrap_or_else(|| conn_id.to_owned());
    if let Some(connection) = loaded.report.connection() {
        let found = openai_conn_client::environment_findings(connection, options.env.as_ref());
        loaded.report.extend(found);
    }
    step.fact("source", loaded.label.clone());
    if !loaded.overrides.is_empty() {
        step.fact("overrides", json!(loaded.overrides));
    }
    let findings: Vec<Value> = loaded
        .report
        .diagnostics()
        .iter()
        .map(|finding| {
            let place = match (&finding.origin, &finding.location) {
                (Some(origin), _) => origin.clone(),
                (None, Some(location)) => format!("{}:{}", location.line, location.column),
                (None, None) => loaded.label.clone(),
            };
            let severity = match finding.severity {
                Severity::Error => "error",
                _ => "warning",
            };
            Value::String(format!(
                "{place}: {severity}[{}]: {}",
                finding.code.as_str(),
                finding.message
            ))
        })
        .collect();
    let errors = loaded
        .report
        .diagnostics()
        .iter()
        .filter(|finding| finding.severity == Severity::Error)
        .count();
    let warnings = loaded.report.diagnostics().len() - errors;
    step.fact("errors", errors);
    step.fact("warnings", warnings);
    if !findings.is_empty() {
        step.fact("findings", Value::Array(findings));
    }
    if errors > 0 {
        step.fail(
            HintCode::ConnectionInvalid,
            format!(
                "fix the {errors} validation error(s) in {} (`openai-conn validate` shows each with its line)",
                loaded.label
            ),
        );
        return (None, conn_id, loaded.overrides);
    }
    if warnings > 0 {
        step.warn(
            HintCode::ConnectionWarnings,
            format!(
                "read the {warnings} validation warning(s) of {}; each says what to change",
                loaded.label
            ),
        );
    }
    let connection = loaded.report.into_connection();
    (connection, conn_id, loaded.overrides)
}

/// The `subject-token` step: the token the connection's source yields now, or under `x509` the
/// client certificate loaded.
async fn subject_token(
    step: &mut Builder<'_>,
    connection: &Connection,
    identity: &WorkloadIdentity,
    conn_id: &str,
    client: &ClientOptions,
) -> Credential {
    step.fact("provider", identity.provider.kind().as_str());
    if let ProviderConfig::X509(config) = &identity.provider {
        return match checks::load_certificate(config) {
            Ok(()) => {
                step.fact("certificate", config.certificate_path.clone());
                Credential::Certificate
            }
            Err(error) => {
                step.fail(explain::x509_code(&error), explain::one_line(&error));
                Credential::None
            }
        };
    }
    let source = match subject_token_source(connection, conn_id, client) {
        Ok(Some(source)) => source,
        Ok(None) => return Credential::None,
        Err(error) => {
            step.fail(HintCode::SubjectTokenFailed, explain::one_line(&error));
            return Credential::None;
        }
    };
    if let Some(endpoint) = source.endpoint() {
        step.fact("endpoint", endpoint);
    }
    match source.fetch().await {
        Ok(token) if token.is_empty() => {
            step.fail(
                HintCode::SubjectTokenFailed,
                "the source returned an empty token",
            );
            Credential::None
        }
        Ok(token) => {
            step.fact("token_type", token.token_type().as_str());
            step.fact("length", token.secret().expose_secret().len());
            Credential::Token(token)
        }
        Err(error) => {
            explain::source_error(step, &error, &identity.provider);
            Credential::None
        }
    }
}

/// The facts of a good exchange, and the checks of its lifetime and of the server's clock.
fn exchanged(
    step: &mut Builder<'_>,
    token: &AccessToken,
    started: tokio::time::Instant,
    identity: &WorkloadIdentity,
    options: &Options,
) {
    let lifetime = token
        .expires_at()
        .saturating_duration_since(started)
        .as_secs();
    step.fact("expires_in_s", lifetime);
    step.fact(
        "expires_in",
        time::span(i64::try_from(lifetime).unwrap_or(i64::MAX)),
    );
    let buffer = identity.refresh_buffer.as_secs();
    if lifetime <= buffer {
        step.warn(
            HintCode::LifetimeBelowRefreshBuffer,
            format!(
                "the access token lives {lifetime} s, no longer than refresh_buffer_seconds \
                 ({buffer} s), so every request exchanges again: lower refresh_buffer_seconds \
                 below {lifetime}"
            ),
        );
    }
    checks::server_clock(step, token.server_date(), options);
}

/// The `api` step: one `GET /models` with the client `test` builds.
async fn api(
    step: &mut Builder<'_>,
    connection: &Connection,
    conn_id: &str,
    connected: Option<openai_conn_client::Connected>,
    client: &ClientOptions,
    workload_identity: bool,
) {
    step.fact("request", "GET /models");
    let connected = match connected {
        Some(connected) => connected,
        None => match from_connection(connection, conn_id, client.clone()) {
            Ok(connected) => connected,
            Err(error) => {
                step.fail(HintCode::ApiFailed, explain::one_line(&error));
                return;
            }
        },
    };
    step.fact("base_url", connected.plan.base_url.clone());
    match test_connection(&connected.client).await {
        Ok(message) => step.fact("result", message),
        Err(error) => explain::api_error(step, &error, workload_identity),
    }
}
