//! The checks that name a cause: the platform against the configured provider, the subject
//! token's claims against the clock and the configuration, the client certificate, and the
//! server's clock. Each finding is a hint with its code and one sentence saying what to change.

use conn_schema::{ProviderConfig, WorkloadIdentity, X509Config};
use providers_azure::AzureSignals;
use providers_core::{Signal, SignalKind};
use providers_gcp::GcpSignals;
use providers_github::GithubActionsSignals;
use providers_kubernetes::KubernetesSignals;
use providers_x509::{ReloadingIdentity, X509Error, X509Files, certificate_facts};
use serde_json::{Map, Value, json};

use crate::builder::Builder;
use crate::jwt::TokenShape;
use crate::time::{epoch_seconds, parse_http_date, relative, span, utc};
use crate::{HintCode, Options};

/// How far the server's clock may differ from ours before it is worth a warning, in seconds.
pub(crate) const MAX_CLOCK_SKEW_SECONDS: i64 = 60;

/// The `environment` step: which platform the process appears to run on, from each source
/// crate's signals, and what that means for the configured provider.
pub(crate) fn environment(
    step: &mut Builder<'_>,
    provider: Option<&ProviderConfig>,
    options: &Options,
) {
    let env = options.env.as_ref();
    let kubernetes = KubernetesSignals::detect_at(env, &options.default_service_account_token);
    let azure = AzureSignals::detect(env);
    let gcp = GcpSignals::detect(env);
    let github = GithubActionsSignals::detect(env);

    let mut platforms = Vec::new();
    if kubernetes.in_pod {
        platforms.push("kubernetes pod");
    }
    if azure.workload_identity_pod {
        platforms.push("azure workload identity (aks)");
    }
    if azure.app_service {
        platforms.push("azure app service or functions");
    }
    if gcp.metadata_host_set {
        platforms.push("gcp (GCE_METADATA_HOST set)");
    }
    if github.runner {
        platforms.push("github actions");
    }
    step.fact(
        "platform",
        if platforms.is_empty() {
            json!(["none detected"])
        } else {
            json!(platforms)
        },
    );
    let mut signals: Vec<Signal> = [
        kubernetes.signals.clone(),
        azure.signals.clone(),
        gcp.signals.clone(),
        github.signals.clone(),
    ]
    .concat();
    if let Some(ProviderConfig::X509(config)) = provider {
        signals.extend(
            x509_paths(config)
                .into_iter()
                .map(|path| Signal::file(std::path::Path::new(path))),
        );
    }
    step.fact("signals", signal_facts(&signals));

    match provider {
        Some(ProviderConfig::Azure(_)) if azure.workload_identity_pod => step.warn(
            HintCode::AzureImdsOnWorkloadIdentityPod,
            "this pod has AZURE_FEDERATED_TOKEN_FILE, its own identity, but the azure provider asks \
             IMDS, which answers with the node's (kubelet's) identity: use \
             workload_identity_provider \"kubernetes\" with token_file_path set to the file \
             AZURE_FEDERATED_TOKEN_FILE names, and map that token's issuer and subject in OpenAI",
        ),
        Some(ProviderConfig::GithubActions(_)) if !github.id_token_permission => step.fail(
            HintCode::GithubIdTokenPermission,
            if github.runner {
                "ACTIONS_ID_TOKEN_REQUEST_URL or ACTIONS_ID_TOKEN_REQUEST_TOKEN is missing: add \
                 `permissions: id-token: write` to the workflow job (or the workflow)"
            } else {
                "this is not a GitHub Actions job (GITHUB_ACTIONS is not set), so there is no OIDC \
                 token: run it in a job with `permissions: id-token: write`, or choose the \
                 provider of this platform"
            },
        ),
        Some(ProviderConfig::Kubernetes(config))
            if config.token_file_path == providers_kubernetes::DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH =>
        {
            step.warn(
                HintCode::KubernetesDefaultServiceAccountToken,
                "token_file_path is the default service-account token, whose audience is the \
                 Kubernetes API server: mount a projected serviceAccountToken volume with the \
                 audience the identity provider expects and point token_file_path at it",
            );
        }
        _ => {}
    }
}

fn signal_facts(signals: &[Signal]) -> Value {
    let mut variables = Map::new();
    let mut files = Map::new();
    for signal in signals {
        let target = match signal.kind {
            SignalKind::File => &mut files,
            _ => &mut variables,
        };
        target.insert(signal.name.clone(), Value::Bool(signal.present));
    }
    json!({"variables": variables, "files": files})
}

fn x509_paths(config: &X509Config) -> Vec<&str> {
    let mut paths = vec![
        config.certificate_path.as_str(),
        config.private_key_path.as_str(),
    ];
    paths.extend(config.ca_bundle_path.as_deref());
    paths
}

/// The files of an `x509` provider as `providers-x509` takes them (the fields as the parser left
/// them; `openai-conn-client` builds the same for the exchange).
fn x509_files(config: &X509Config) -> X509Files {
    let files = X509Files::new(&config.certificate_path, &config.private_key_path);
    match &config.ca_bundle_path {
        Some(path) => files.with_ca_bundle(path),
        None => files,
    }
}

/// Loads the client certificate as the exchange will: the files read, the key matched, the
/// validity and the CA bundle checked.
pub(crate) fn load_certificate(config: &X509Config) -> Result<(), X509Error> {
    ReloadingIdentity::load(x509_files(config)).map(|_| ())
}

/// The `token-claims` step under `x509`: the certificate's facts, whether its key matches, and
/// whether its chain verifies against `ca_bundle_path`.
pub(crate) fn certificate(step: &mut Builder<'_>, config: &X509Config, options: &Options) {
    let files = x509_files(config);
    let now = options.clock.now();
    let facts = match certificate_facts(&files, now) {
        Ok(facts) => facts,
        Err(error) => {
            step.fail(
                crate::explain::x509_code(&error),
                crate::explain::one_line(&error),
            );
            return;
        }
    };
    let now = epoch_seconds(now);
    let not_before = epoch_seconds(facts.not_before);
    let not_after = epoch_seconds(facts.not_after);
    step.fact("certificate", config.certificate_path.clone());
    step.fact("subject", facts.subject.clone());
    step.fact("issuer", facts.issuer.clone());
    step.fact("san_uris", json!(facts.san_uris));
    step.fact("serial", facts.serial.clone());
    step.fact(
        "not_before",
        json!({"epoch": not_before, "utc": utc(not_before), "relative": relative(not_before, now)}),
    );
    step.fact(
        "not_after",
        json!({"epoch": not_after, "utc": utc(not_after), "relative": relative(not_after, now)}),
    );
    match ReloadingIdentity::load(files) {
        Ok(_) => step.fact("key_matches", true),
        Err(error @ X509Error::KeyMismatch { .. }) => {
            step.fact("key_matches", false);
            step.fail(
                HintCode::X509FilesUnusable,
                crate::explain::one_line(&error),
            );
        }
        // Any other failure was the subject-token step's to report.
        Err(_) => {}
    }
    if not_after <= now {
        step.fail(
            HintCode::CertificateExpired,
            format!(
                "the client certificate expired at {} ({}): renew it",
                utc(not_after),
                relative(not_after, now)
            ),
        );
    } else if not_before > now {
        step.fail(
            HintCode::CertificateExpired,
            format!(
                "the client certificate is not valid before {} ({}): check this host's clock",
                utc(not_before),
                relative(not_before, now)
            ),
        );
    }
    match (&config.ca_bundle_path, facts.verifies_against_ca_bundle) {
        (Some(bundle), Some(Ok(()))) => step.fact("chain", format!("verifies against {bundle}")),
        (Some(bundle), Some(Err(reason))) => {
            step.fact(
                "chain",
                format!("does not verify against {bundle}: {reason}"),
            );
            step.warn(
                HintCode::CertificateNotFromCaBundle,
                format!(
                    "the client certificate does not verify against ca_bundle_path {bundle} \
                     ({reason}): the exchange accepts only certificates signed by the CA the \
                     identity provider trusts; issue it from that CA, or register its issuer"
                ),
            );
        }
        _ => step.fact("chain", "not checked (no ca_bundle_path)"),
    }
}

/// The `token-claims` step: the header and claims of a JWT, never the token.
pub(crate) fn claims(
    step: &mut Builder<'_>,
    shape: &TokenShape,
    identity: &WorkloadIdentity,
    options: &Options,
) {
    let jwt = match shape {
        TokenShape::Opaque { length } => {
            step.fact("format", "opaque");
            step.fact("length", *length);
            return;
        }
        TokenShape::Undecodable { length } => {
            step.fact("format", "undecodable");
            step.fact("length", *length);
            step.warn(
                HintCode::TokenUndecodable,
                "the subject token has three parts like a JWT, but its header or claims are not \
                 base64url JSON: check what the source hands out",
            );
            return;
        }
        TokenShape::Jwt(jwt) => jwt,
    };
    let now = epoch_seconds(options.clock.now());
    step.fact("format", "jwt");
    step.fact(
        "header",
        json!({"alg": jwt.alg, "kid": jwt.kid, "typ": jwt.typ}),
    );
    for (name, value) in [("iss", &jwt.iss), ("sub", &jwt.sub), ("azp", &jwt.azp)] {
        if let Some(value) = value {
            step.fact(name, value.clone());
        }
    }
    step.fact("aud", json!(jwt.aud));
    for (name, value) in [("exp", jwt.exp), ("nbf", jwt.nbf), ("iat", jwt.iat)] {
        if let Some(seconds) = value {
            step.fact(
                name,
                json!({"epoch": seconds, "utc": utc(seconds), "relative": relative(seconds, now)}),
            );
        }
    }
    if let (Some(exp), Some(start)) = (jwt.exp, jwt.iat.or(jwt.nbf)) {
        step.fact("lifetime", span(exp - start));
    }

    if let Some(exp) = jwt.exp.filter(|exp| *exp <= now) {
        step.fail(
            HintCode::TokenExpired,
            format!(
                "the subject token expired at {} ({} by the local clock): the source handed out a \
                 stale token, or the local clock is {} fast",
                utc(exp),
                relative(exp, now),
                span(now - exp)
            ),
        );
    }
    if let Some(nbf) = jwt.nbf.filter(|nbf| *nbf > now) {
        step.fail(
            HintCode::TokenNotYetValid,
            format!(
                "the subject token is not valid before {} ({}): the local clock is {} behind the \
                 issuer's; synchronise it (NTP)",
                utc(nbf),
                relative(nbf, now),
                span(nbf - now)
            ),
        );
    } else if let Some(iat) = jwt.iat.filter(|iat| *iat > now + MAX_CLOCK_SKEW_SECONDS) {
        step.warn(
            HintCode::TokenNotYetValid,
            format!(
                "the subject token was issued at {}, {} ahead of the local clock: one of the \
                 clocks is off; synchronise it (NTP)",
                utc(iat),
                span(iat - now)
            ),
        );
    }
    if let Some(audience) = jwt.aud.iter().find(|aud| is_kubernetes_api_server(aud)) {
        step.warn(
            HintCode::AudienceKubernetesApiServer,
            format!(
                "the token's audience {audience} is the Kubernetes API server: this is the default \
                 service-account token; mount a projected serviceAccountToken with the identity \
                 provider's audience and point token_file_path at it"
            ),
        );
    }
    let configured = match &identity.provider {
        ProviderConfig::Gcp(config) => Some(("gcp", &config.audience)),
        ProviderConfig::GithubActions(config) => Some(("github_actions", &config.audience)),
        _ => None,
    };
    if let Some((provider, audience)) = configured {
        if !jwt.aud.iter().any(|aud| aud == audience) {
            step.fail(
                HintCode::AudienceMismatch,
                format!(
                    "the token's aud {:?} does not hold the configured audience {audience:?}: set \
                     extra.audience (provider {provider}) to the audience OpenAI's identity \
                     provider expects",
                    jwt.aud
                ),
            );
        }
    }
    if let Some(issuer) = jwt.iss.as_ref().filter(|iss| !iss.starts_with("https://")) {
        step.warn(
            HintCode::IssuerNotHttps,
            format!(
                "the token's issuer {issuer:?} is not an https URL, so OpenAI cannot fetch its \
                 discovery document: configure the platform's issuer (for Kubernetes, the API \
                 server's --service-account-issuer) as a public https URL"
            ),
        );
    }
}

/// Whether `audience` names a Kubernetes API server (the default service-account token's).
fn is_kubernetes_api_server(audience: &str) -> bool {
    audience.contains("kubernetes.default.svc")
}

/// The server's clock from a reply's `Date` header, against ours.
pub(crate) fn server_clock(step: &mut Builder<'_>, date: Option<&str>, options: &Options) {
    let Some(date) = date else { return };
    step.fact("server_date", date.to_owned());
    let Some(server) = parse_http_date(date) else {
        return;
    };
    let offset = server - epoch_seconds(options.clock.now());
    step.fact("clock_offset_s", offset);
    if offset.abs() > MAX_CLOCK_SKEW_SECONDS {
        step.warn(
            HintCode::ClockSkew,
            format!(
                "the local clock is {} {} the server's (Date: {date}): synchronise it (NTP); token \
                 times are judged by it",
                span(offset),
                if offset > 0 { "behind" } else { "ahead of" }
            ),
        );
    }
}
