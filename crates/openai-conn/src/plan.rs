//! `openai-conn plan`: what a connection will do, resolved without any network access.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use conn_schema::{Auth, Connection, CustomSource, ProviderConfig};
use openai_client::{AuthPlan, ClientOptions, Plan};
use serde_json::{Map, Value, json};

use crate::source::SourceArgs;
use crate::{EXIT_INVALID, Format, Usable, load_connection};

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// The connection file (JSON, TOML or YAML); `-` reads JSON from standard input.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Environment variables that change where a provider's subject token comes from.
fn provider_env_vars(provider: &ProviderConfig) -> &'static [&'static str] {
    match provider {
        ProviderConfig::Kubernetes(_) => &[],
        ProviderConfig::Azure(_) => &[
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            "IDENTITY_ENDPOINT",
            "IDENTITY_HEADER",
        ],
        ProviderConfig::Gcp(_) => &["GCE_METADATA_HOST"],
        ProviderConfig::Custom(_) => &[],
        ProviderConfig::GithubActions(_) => &[
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ],
    }
}

fn is_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|value| !value.is_empty())
}

/// Every provider parameter with its default filled in. A custom command shows its program and
/// argument count only: arguments may carry secrets.
fn provider_parameters(provider: &ProviderConfig) -> Map<String, Value> {
    let mut parameters = match provider {
        ProviderConfig::Custom(custom) => {
            let mut map = Map::new();
            match custom.source() {
                CustomSource::Registered(name) => {
                    map.insert("token_provider".into(), json!(name));
                }
                CustomSource::Command {
                    argv,
                    timeout_seconds,
                } => {
                    map.insert(
                        "token_command".into(),
                        json!({
                            "program": argv.first(),
                            "arguments": argv.len().saturating_sub(1),
                        }),
                    );
                    map.insert(
                        "token_command_timeout_seconds".into(),
                        json!(timeout_seconds),
                    );
                }
            }
            map
        }
        other => match serde_json::to_value(other) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        },
    };
    parameters.remove("token_type");
    parameters
}

/// The plan as the JSON object the issue names: `conn_id`, `auth_type`, `base_url`, `api_key`
/// and, under workload identity, `workload_identity`.
pub(crate) fn plan_json(plan: &Plan, connection: &Connection, overrides: &[String]) -> Value {
    let mut out = Map::new();
    out.insert("conn_id".into(), json!(plan.conn_id));
    out.insert(
        "auth_type".into(),
        json!(connection.extra.auth.auth_type().as_str()),
    );
    out.insert("base_url".into(), json!(plan.base_url));
    out.insert(
        "base_url_source".into(),
        json!(plan.base_url_origin.as_str()),
    );
    match &plan.auth {
        AuthPlan::ApiKey { origin } => {
            out.insert("api_key".into(), json!("[redacted]"));
            out.insert("api_key_source".into(), json!(origin.as_str()));
        }
        _ => {
            out.insert("api_key".into(), Value::Null);
        }
    }
    out.insert("organization".into(), json!(plan.organization));
    out.insert("project".into(), json!(plan.project));
    out.insert("timeout_seconds".into(), json!(plan.timeout.as_secs_f64()));
    out.insert("max_retries".into(), json!(plan.max_retries));
    out.insert("default_headers".into(), json!(plan.default_header_names));
    out.insert("default_query".into(), json!(plan.default_query_names));
    if let (
        AuthPlan::WorkloadIdentity {
            provider,
            token_type,
            identity_provider_id,
            service_account_id,
            refresh_buffer,
            exchange_url,
            exchange_url_origin,
            ignored_api_key,
        },
        Auth::WorkloadIdentity(identity),
    ) = (&plan.auth, &connection.extra.auth)
    {
        let mut workload = Map::new();
        workload.insert("provider".into(), json!(provider.as_str()));
        workload.insert("token_type".into(), json!(token_type.as_str()));
        workload.extend(provider_parameters(&identity.provider));
        workload.insert("identity_provider_id".into(), json!(identity_provider_id));
        workload.insert("service_account_id".into(), json!(service_account_id));
        workload.insert(
            "refresh_buffer_seconds".into(),
            json!(refresh_buffer.as_secs_f64()),
        );
        workload.insert("token_exchange_url".into(), json!(exchange_url));
        workload.insert(
            "token_exchange_url_source".into(),
            json!(exchange_url_origin.as_str()),
        );
        workload.insert(
            "ignored_api_key".into(),
            json!(ignored_api_key.map(|origin| origin.as_str())),
        );
        let env: Vec<&str> = std::iter::once(openai_client::TOKEN_EXCHANGE_URL_ENV)
            .chain(provider_env_vars(&identity.provider).iter().copied())
            .filter(|name| is_set(name))
            .collect();
        workload.insert("env_overrides".into(), json!(env));
        out.insert("workload_identity".into(), Value::Object(workload));
    }
    let mut applied: Vec<String> = overrides.to_vec();
    for name in [
        openai_client::BASE_URL_ENV,
        openai_client::ORGANIZATION_ENV,
        openai_client::PROJECT_ENV,
    ] {
        if is_set(name) {
            applied.push(name.to_owned());
        }
    }
    if matches!(plan.auth, AuthPlan::ApiKey { .. }) && is_set(openai_client::API_KEY_ENV) {
        applied.push(openai_client::API_KEY_ENV.to_owned());
    }
    out.insert("env_overrides".into(), json!(applied));
    Value::Object(out)
}

pub(crate) fn run(args: &PlanArgs) -> ExitCode {
    let Usable {
        connection,
        conn_id,
        overrides,
    } = match load_connection(&args.source, args.file.as_ref()) {
        Ok(usable) => usable,
        Err(code) => return code,
    };
    match openai_client::plan(&connection, &conn_id, &ClientOptions::new()) {
        Ok(plan) => {
            let value = plan_json(&plan, &connection, &overrides);
            match args.format {
                Format::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                ),
                Format::Human => print_human(&value, ""),
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

fn print_human(value: &Value, indent: &str) {
    if let Value::Object(map) = value {
        for (key, item) in map {
            match item {
                Value::Object(_) => {
                    outln!("{indent}{key}:");
                    print_human(item, &format!("{indent}  "));
                }
                Value::String(text) => outln!("{indent}{key}: {text}"),
                other => outln!("{indent}{key}: {other}"),
            }
        }
    }
}
