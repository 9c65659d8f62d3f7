//! The one table of hint codes: stable kebab-case names (never renamed, only added), each with the
//! step that gives it and a line for the README's table, which a test derives from here.

use serde::Serialize;

macro_rules! hint_codes {
    ($($variant:ident => $code:literal, $step:literal, $summary:literal;)*) => {
        /// A stable hint code: what a `warn` or `fail` step found, as programs match it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum HintCode {
            $(
                #[doc = $summary]
                $variant,
            )*
        }

        impl HintCode {
            /// Every code, in the README's order.
            pub const ALL: &[HintCode] = &[$(HintCode::$variant),*];

            /// The code as written in the output, such as `no-service-account-mapping`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(HintCode::$variant => $code,)*
                }
            }

            /// The id of the step that gives this hint.
            pub fn step(self) -> &'static str {
                match self {
                    $(HintCode::$variant => $step,)*
                }
            }

            /// What the hint means, in one line (the README's table).
            pub fn summary(self) -> &'static str {
                match self {
                    $(HintCode::$variant => $summary,)*
                }
            }
        }
    };
}

hint_codes! {
    ConnectionInvalid => "connection-invalid", "load", "The connection has validation errors; `openai-conn validate` lists them with their positions.";
    ConnectionWarnings => "connection-warnings", "load", "The connection validates with warnings worth reading.";
    PlanFailed => "plan-failed", "resolve", "The connection cannot be resolved (no API key, an invalid base URL); the message names the key.";
    CleartextApiBase => "cleartext-api-base", "resolve", "The API base is plain http to another host: credentials would travel in clear text.";
    AzureImdsOnWorkloadIdentityPod => "azure-imds-on-workload-identity-pod", "environment", "The `azure` provider asks IMDS for a token in a pod that has `AZURE_FEDERATED_TOKEN_FILE`: IMDS answers with the node's identity, not the pod's.";
    GithubIdTokenPermission => "github-id-token-permission", "environment", "`ACTIONS_ID_TOKEN_REQUEST_URL` is missing: the job lacks `permissions: id-token: write` (or does not run on GitHub Actions).";
    KubernetesDefaultServiceAccountToken => "kubernetes-default-service-account-token", "environment", "`token_file_path` is the default service-account token, whose audience is the API server; mount a projected token for the identity provider.";
    SubjectTokenFailed => "subject-token-failed", "subject-token", "The source could not produce a subject token; the message says which step failed.";
    GcpMetadataUnreachable => "gcp-metadata-unreachable", "subject-token", "The GCP metadata server did not answer: not on GCP, or a GKE node pool without Workload Identity.";
    X509FilesUnusable => "x509-files-unusable", "subject-token", "The client certificate, its key or the CA bundle could not be loaded (the message names the file).";
    TokenExpired => "token-expired", "token-claims", "The subject token's `exp` is in the past (by the local clock).";
    TokenNotYetValid => "token-not-yet-valid", "token-claims", "The subject token's `nbf` or `iat` is ahead of the local clock: one of the clocks is off.";
    AudienceKubernetesApiServer => "audience-kubernetes-api-server", "token-claims", "The token's audience is a Kubernetes API server: the default service-account token, not a projected one.";
    AudienceMismatch => "audience-mismatch", "token-claims", "The token's `aud` does not hold the configured `audience`.";
    IssuerNotHttps => "issuer-not-https", "token-claims", "The token's `iss` is not an https URL, so OpenAI cannot fetch its discovery document.";
    TokenUndecodable => "token-undecodable", "token-claims", "The subject token has the shape of a JWT but its header or claims do not decode.";
    CertificateExpired => "certificate-expired", "token-claims", "The client certificate is expired or not valid yet.";
    CertificateNotFromCaBundle => "certificate-not-from-ca-bundle", "token-claims", "The client certificate is not signed by a certificate of `ca_bundle_path`.";
    NoServiceAccountMapping => "no-service-account-mapping", "exchange", "`invalid_grant`: no mapping of the identity provider matches the token's `iss`, `sub` and `aud` for this service account.";
    InvalidGrant => "invalid-grant", "exchange", "`invalid_grant` for another reason (the ids, the token's lifetime).";
    InvalidSubjectToken => "invalid-subject-token", "exchange", "`invalid_subject_token`: OpenAI could not verify the token (discovery or JWKS unreachable, rotated key, issuer mismatch).";
    ExchangeRejected => "exchange-rejected", "exchange", "The exchange answered another OAuth error.";
    ExchangeServerError => "exchange-server-error", "exchange", "The exchange answered 5xx (or 408, 429) after its retries.";
    ExchangeStatus => "exchange-status", "exchange", "The exchange answered an unexpected status, a redirect or a malformed reply.";
    ExchangeTimeout => "exchange-timeout", "exchange", "The exchange did not answer within its timeout.";
    ExchangeUnreachable => "exchange-unreachable", "exchange", "The exchange endpoint refused the connection or its name did not resolve.";
    ExchangeTls => "exchange-tls", "exchange", "The TLS handshake with the exchange failed (an intercepting proxy, a wrong endpoint, a refused client certificate).";
    ExchangeProxy => "exchange-proxy", "exchange", "The exchange failed through the proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`).";
    ExchangeFailed => "exchange-failed", "exchange", "The exchange could not be set up or failed in another way.";
    ClockSkew => "clock-skew", "exchange", "The local clock differs from the server's `Date` by more than 60 s.";
    LifetimeBelowRefreshBuffer => "lifetime-below-refresh-buffer", "exchange", "The access token lives no longer than `refresh_buffer_seconds`, so every request refreshes it.";
    ApiAccessDenied => "api-access-denied", "api", "The API answered 401 or 403 after a good exchange: the service account lacks access to the project or model.";
    ApiFailed => "api-failed", "api", "`GET /models` failed in another way (status, transport).";
}

impl Serialize for HintCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

providers_core::display_via!(HintCode, as_str);

/// The README's hint-code table (markdown), derived from [`HintCode::ALL`].
pub fn markdown_table() -> String {
    let mut table = String::from("| Code | Step | Meaning |\n|---|---|---|\n");
    for code in HintCode::ALL {
        table.push_str(&format!(
            "| `{}` | `{}` | {} |\n",
            code.as_str(),
            code.step(),
            code.summary()
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for code in HintCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !text.starts_with('-')
                    && !text.ends_with('-'),
                "{text}"
            );
        }
    }
}
