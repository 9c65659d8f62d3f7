//! Failures explained: a source that gave no token, a refused or failed exchange, an API call
//! that failed. Every message starts from the failing crate's own error (which holds no secret)
//! and adds what to change.

use std::error::Error as StdError;

use conn_schema::{ProviderConfig, WorkloadIdentity};
use openai_conn_client::async_openai::error::OpenAIError;
use openai_conn_client::{ExchangeError, HttpError};
use providers_core::SourceError;
use providers_gcp::GcpError;
use providers_github::GithubActionsError;
use providers_x509::X509Error;

use crate::builder::Builder;
use crate::jwt::Jwt;
use crate::{HintCode, Options};

/// The variables a proxy is taken from (reqwest reads both cases).
const PROXY_VARIABLES: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// An error and its causes on one line, without repeating a cause the message already holds.
pub fn one_line(error: &dyn StdError) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line.replace('\n', " ")
}

/// Whether a TLS error (rustls's) is among the causes of `error`; an `io::Error` wrapping one
/// hides it from `source()`, so each is opened.
fn is_tls(error: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(current) = next {
        if current.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if is_tls(inner) {
                return true;
            }
        }
        next = current.source();
    }
    false
}

/// The `subject-token` step's failure, with the platform's cause where one is known.
pub(crate) fn source_error(step: &mut Builder<'_>, error: &SourceError, provider: &ProviderConfig) {
    let message = one_line(error);
    let cause = error.cause();
    if let Some(GcpError::Http(HttpError::Connect { .. } | HttpError::Timeout { .. })) =
        cause.downcast_ref::<GcpError>()
    {
        step.fail(
            HintCode::GcpMetadataUnreachable,
            format!(
                "{message}: this process cannot reach the GCP metadata server; run it on GCP \
                 (on GKE, enable Workload Identity on the node pool and bind the Kubernetes \
                 service account to a Google service account), or set GCE_METADATA_HOST"
            ),
        );
        return;
    }
    if let Some(GithubActionsError::MissingEnvironment { .. }) =
        cause.downcast_ref::<GithubActionsError>()
    {
        step.fail(
            HintCode::GithubIdTokenPermission,
            format!("{message}: add `permissions: id-token: write` to the workflow job"),
        );
        return;
    }
    let what = match provider {
        ProviderConfig::Kubernetes(_) => "check token_file_path and the projected volume",
        ProviderConfig::Azure(_) => "check the managed identity assigned to this machine",
        ProviderConfig::Custom(_) => "check the custom source (its command or registered name)",
        _ => "check the source's platform",
    };
    step.fail(HintCode::SubjectTokenFailed, format!("{message}; {what}"));
}

/// The `exchange` step's failure, explained.
pub(crate) fn exchange_error(
    step: &mut Builder<'_>,
    error: &ExchangeError,
    identity: &WorkloadIdentity,
    claims: Option<&Jwt>,
    options: &Options,
) {
    let message = one_line(error);
    if let Some(status) = error.status() {
        step.fact("status", status);
    }
    match error {
        ExchangeError::OAuth {
            error: code,
            description,
            request_id,
            ..
        } => {
            step.fact("oauth_error", code.clone());
            step.fact("error_description", description.clone());
            if let Some(request_id) = request_id {
                step.fact("request_id", request_id.clone());
            }
            let ids = format!(
                "identity_provider_id {:?} and service_account_id {:?}",
                identity.identity_provider_id, identity.service_account_id
            );
            match code.as_str() {
                "invalid_grant"
                    if description
                        .to_ascii_lowercase()
                        .contains("no service account mapping") =>
                {
                    step.fail(
                        HintCode::NoServiceAccountMapping,
                        format!(
                            "{message}: OpenAI's mapping for the identity provider must match the \
                             token's {} for the configured {ids}; fix the mapping in OpenAI, or \
                             the ids (service_account_id is the OpenAI platform's id of the \
                             service account, not its name or a project id)",
                            mapping_claims(claims)
                        ),
                    );
                }
                "invalid_grant" => step.fail(
                    HintCode::InvalidGrant,
                    format!(
                        "{message}: check the configured {ids} and that the subject token is \
                         current"
                    ),
                ),
                "invalid_subject_token" => step.fail(
                    HintCode::InvalidSubjectToken,
                    format!(
                        "{message}: OpenAI could not verify the subject token: the issuer's \
                         discovery document or JWKS is not reachable from the internet (a private \
                         cluster issuer), the signing key rotated and the uploaded JWKS is stale, \
                         or the token's iss differs from the registered issuer"
                    ),
                ),
                _ => step.fail(HintCode::ExchangeRejected, message),
            }
        }
        ExchangeError::Http(http) => {
            let x509 = matches!(identity.provider, ProviderConfig::X509(_));
            http_error(step, http, &message, x509, options);
        }
        ExchangeError::MutualTls(_) => step.fail(
            HintCode::ExchangeTls,
            format!(
                "{message}: the exchange refused the client certificate (it must be signed by the \
                 CA the identity provider trusts) or its own certificate is not trusted"
            ),
        ),
        ExchangeError::X509(inner) => step.fail(x509_code(inner), message),
        _ => step.fail(HintCode::ExchangeFailed, message),
    }
}

fn proxy_variable(options: &Options) -> Option<&'static str> {
    PROXY_VARIABLES.iter().copied().find(|name| {
        options
            .env
            .var(name)
            .is_some_and(|value| !value.trim().is_empty())
    })
}

fn http_error(
    step: &mut Builder<'_>,
    error: &HttpError,
    message: &str,
    x509: bool,
    options: &Options,
) {
    let transport = matches!(
        error,
        HttpError::Timeout { .. } | HttpError::Connect { .. } | HttpError::Transport { .. }
    );
    if transport {
        if let Some(variable) = proxy_variable(options) {
            step.fail(
                HintCode::ExchangeProxy,
                format!(
                    "{message}: the request went through the proxy {variable} names; check that \
                     proxy (its address, its allow-list), or exempt the exchange host in NO_PROXY"
                ),
            );
            return;
        }
        // Under x509 a server that refuses the certificate may close the connection before its
        // alert is read: a broken connection there is a handshake failure too.
        if is_tls(error) || (x509 && matches!(error, HttpError::Transport { .. })) {
            step.fail(
                HintCode::ExchangeTls,
                if x509 {
                    format!(
                        "{message}: the mutual-TLS handshake failed: the exchange refused the \
                         client certificate (it must be signed by the CA the identity provider \
                         trusts), or a proxy intercepts TLS"
                    )
                } else {
                    format!(
                        "{message}: the TLS handshake failed; check that the exchange URL is the \
                         https endpoint and that no proxy intercepts TLS"
                    )
                },
            );
            return;
        }
    }
    match error {
        HttpError::Timeout { .. } => step.fail(
            HintCode::ExchangeTimeout,
            format!(
                "{message}: the exchange did not answer in time; check the network path (a \
                 firewall dropping packets) and try again"
            ),
        ),
        HttpError::Connect { .. } => step.fail(
            HintCode::ExchangeUnreachable,
            format!(
                "{message}: the exchange endpoint could not be reached; check \
                 OPENAI_TOKEN_EXCHANGE_URL, DNS and the firewall"
            ),
        ),
        HttpError::Status { status, .. } if *status >= 500 || matches!(status, 408 | 429) => step
            .fail(
                HintCode::ExchangeServerError,
                format!(
                    "{message}: the exchange is failing or overloaded after its retries; try \
                     again later"
                ),
            ),
        HttpError::Status { .. }
        | HttpError::Redirect { .. }
        | HttpError::Malformed { .. }
        | HttpError::TooLarge { .. } => step.fail(
            HintCode::ExchangeStatus,
            format!(
                "{message}: this is not what a token exchange answers; check that the exchange URL \
                 is OpenAI's (OPENAI_TOKEN_EXCHANGE_URL)"
            ),
        ),
        _ => step.fail(HintCode::ExchangeFailed, message.to_owned()),
    }
}

/// The `api` step's failure, explained.
pub(crate) fn api_error(step: &mut Builder<'_>, error: &OpenAIError, workload_identity: bool) {
    let message = one_line(error);
    match error {
        OpenAIError::ApiError(reply) => {
            let status = reply.status_code.as_u16();
            step.fact("status", status);
            if matches!(status, 401 | 403) {
                step.fail(
                    HintCode::ApiAccessDenied,
                    if workload_identity {
                        format!(
                            "{message}: the exchange accepted the token, but the service account \
                             lacks access to the project or model: grant it in the OpenAI \
                             project, or set project/organization to one it belongs to"
                        )
                    } else {
                        format!(
                            "{message}: the API key was refused, or lacks access to the project or \
                             model"
                        )
                    },
                );
                return;
            }
            step.fail(HintCode::ApiFailed, message);
        }
        _ => step.fail(HintCode::ApiFailed, message),
    }
}

/// The hint of a certificate that did not load.
pub(crate) fn x509_code(error: &X509Error) -> HintCode {
    match error {
        X509Error::Expired { .. } | X509Error::NotYetValid { .. } => HintCode::CertificateExpired,
        _ => HintCode::X509FilesUnusable,
    }
}

/// The claims the `no-service-account-mapping` hint repeats.
pub(crate) fn mapping_claims(jwt: Option<&Jwt>) -> String {
    match jwt {
        Some(jwt) => format!(
            "iss {:?}, sub {:?}, aud {:?}",
            jwt.iss.as_deref().unwrap_or("(none)"),
            jwt.sub.as_deref().unwrap_or("(none)"),
            jwt.aud
        ),
        None => {
            "the token's iss, sub and aud (it is not a JWT, so they cannot be shown)".to_owned()
        }
    }
}
