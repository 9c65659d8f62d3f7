//! The platform signals of Azure, for diagnoses: AKS workload identity (the webhook's variables;
//! the pod's identity is the federated token file, while IMDS on the same node answers with the
//! node's identity) and App Service / Functions (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).

use providers_core::{Env, Signal};

use crate::AzureSource;

/// The federated token file the AKS workload identity webhook injects (the pod's identity).
pub const FEDERATED_TOKEN_FILE_ENV: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// The workload identity's client id, injected by the same webhook.
pub const CLIENT_ID_ENV: &str = "AZURE_CLIENT_ID";
/// The tenant, injected by the same webhook.
pub const TENANT_ID_ENV: &str = "AZURE_TENANT_ID";
/// The Entra authority, injected by the same webhook.
pub const AUTHORITY_HOST_ENV: &str = "AZURE_AUTHORITY_HOST";
/// The App Service / Functions identity endpoint.
pub const IDENTITY_ENDPOINT_ENV: &str = "IDENTITY_ENDPOINT";
/// The App Service / Functions identity header (a secret: only whether it is set is read).
pub const IDENTITY_HEADER_ENV: &str = "IDENTITY_HEADER";

/// What this process sees of Azure.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AzureSignals {
    /// `AZURE_FEDERATED_TOKEN_FILE` is set: an AKS pod with workload identity, whose identity is
    /// that file, not what IMDS returns.
    pub workload_identity_pod: bool,
    /// `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set: App Service, Functions or Container Apps.
    pub app_service: bool,
    /// The signals, as listed to people.
    pub signals: Vec<Signal>,
}

impl AzureSignals {
    /// Reads the signals from `env`.
    pub fn detect(env: &dyn Env) -> Self {
        let signals: Vec<Signal> = [
            FEDERATED_TOKEN_FILE_ENV,
            CLIENT_ID_ENV,
            TENANT_ID_ENV,
            AUTHORITY_HOST_ENV,
            IDENTITY_ENDPOINT_ENV,
            IDENTITY_HEADER_ENV,
        ]
        .into_iter()
        .map(|name| Signal::variable(env, name))
        .collect();
        let present = |name: &str| {
            signals
                .iter()
                .any(|signal| signal.name == name && signal.present)
        };
        AzureSignals {
            workload_identity_pod: present(FEDERATED_TOKEN_FILE_ENV),
            app_service: present(IDENTITY_ENDPOINT_ENV) && present(IDENTITY_HEADER_ENV),
            signals,
        }
    }
}

impl AzureSource {
    /// Where a fetch would go now: `IMDS at URL` or `the App Service identity endpoint at URL`,
    /// the URL without its query; the configuration error when the environment names no usable
    /// endpoint.
    pub fn endpoint_description(&self) -> Result<String, crate::AzureError> {
        let request = self.request()?;
        let mut url = request.url;
        url.set_query(None);
        Ok(format!("{} at {url}", request.endpoint.name()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use providers_core::MapEnv;

    #[test]
    fn the_webhook_and_app_service_are_told_apart() {
        let pod = MapEnv::new().with(
            FEDERATED_TOKEN_FILE_ENV,
            "/var/run/secrets/azure/tokens/azure-identity-token",
        );
        let seen = AzureSignals::detect(&pod);
        assert!(seen.workload_identity_pod && !seen.app_service);
        let app = MapEnv::new()
            .with(IDENTITY_ENDPOINT_ENV, "http://127.0.0.1:41741/msi/token")
            .with(IDENTITY_HEADER_ENV, "secret-header");
        let seen = AzureSignals::detect(&app);
        assert!(!seen.workload_identity_pod && seen.app_service);
        assert!(!format!("{seen:?}").contains("secret-header"));
    }

    #[test]
    fn the_endpoint_is_named_without_its_query() {
        let source = AzureSource::new("api://openai", Arc::new(MapEnv::new()))
            .expect("the Azure source builds its HTTP client");
        assert_eq!(
            source.endpoint_description().unwrap(),
            "IMDS at http://169.254.169.254/metadata/identity/oauth2/token"
        );
    }
}
