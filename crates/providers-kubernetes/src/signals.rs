//! The platform signals of Kubernetes, for diagnoses: whether the process runs in a pod and
//! whether the default service-account token is mounted (whose audience is the API server, not an
//! external identity provider, so it is the wrong token for the exchange).

use std::path::Path;

use providers_core::{Env, Signal};

use crate::KubernetesSource;

/// Set by the kubelet in every container of a pod.
pub const SERVICE_HOST_ENV: &str = "KUBERNETES_SERVICE_HOST";
/// Where the default service-account token is mounted (audience: the API server).
pub const DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// What this process sees of Kubernetes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KubernetesSignals {
    /// `KUBERNETES_SERVICE_HOST` is set: the process runs in a pod.
    pub in_pod: bool,
    /// The default service-account token file exists.
    pub default_token_mounted: bool,
    /// The signals, as listed to people.
    pub signals: Vec<Signal>,
}

impl KubernetesSignals {
    /// Reads the signals from `env` and the default token path.
    pub fn detect(env: &dyn Env) -> Self {
        Self::detect_at(env, Path::new(DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH))
    }

    /// As [`KubernetesSignals::detect`], with the default token looked for at `default_token_path`
    /// (tests).
    pub fn detect_at(env: &dyn Env, default_token_path: &Path) -> Self {
        let signals = vec![
            Signal::variable(env, SERVICE_HOST_ENV),
            Signal::file(default_token_path),
        ];
        KubernetesSignals {
            in_pod: signals[0].present,
            default_token_mounted: signals[1].present,
            signals,
        }
    }
}

impl KubernetesSource {
    /// Where a fetch reads: `the token file PATH`.
    pub fn endpoint_description(&self) -> String {
        format!("the token file {}", self.path().display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use providers_core::MapEnv;

    #[test]
    fn a_pod_is_told_by_its_variable_and_the_mount_by_its_file() {
        let dir = std::env::temp_dir();
        let env = MapEnv::new().with(SERVICE_HOST_ENV, "10.0.0.1");
        let seen = KubernetesSignals::detect_at(&env, &dir);
        assert!(seen.in_pod && seen.default_token_mounted);
        let seen = KubernetesSignals::detect_at(&MapEnv::new(), &dir.join("no-such-token-file"));
        assert!(!seen.in_pod && !seen.default_token_mounted);
    }
}
