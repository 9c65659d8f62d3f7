//! The platform signals of GitHub Actions, for diagnoses: `GITHUB_ACTIONS` is set on every
//! runner; the OIDC variables exist only when the job has `permissions: id-token: write`.

use providers_core::{Env, Signal};

use crate::{GithubActionsSource, REQUEST_TOKEN_ENV, REQUEST_URL_ENV};

/// `true` on every GitHub Actions runner.
pub const GITHUB_ACTIONS_ENV: &str = "GITHUB_ACTIONS";

/// What this process sees of GitHub Actions.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GithubActionsSignals {
    /// `GITHUB_ACTIONS` is set: the process runs in a workflow job.
    pub runner: bool,
    /// Both OIDC variables are set: the job may request an OIDC token.
    pub id_token_permission: bool,
    /// The signals, as listed to people.
    pub signals: Vec<Signal>,
}

impl GithubActionsSignals {
    /// Reads the signals from `env`.
    pub fn detect(env: &dyn Env) -> Self {
        let signals = vec![
            Signal::variable(env, GITHUB_ACTIONS_ENV),
            Signal::variable(env, REQUEST_URL_ENV),
            Signal::variable(env, REQUEST_TOKEN_ENV),
        ];
        GithubActionsSignals {
            runner: signals[0].present,
            id_token_permission: signals[1].present && signals[2].present,
            signals,
        }
    }
}

impl GithubActionsSource {
    /// Where a fetch would go now: `the github actions token endpoint at HOST`; the configuration
    /// error when the runner's variables are missing or unusable.
    pub fn endpoint_description(&self) -> Result<String, crate::GithubActionsError> {
        Ok(self.request()?.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use providers_core::MapEnv;

    #[test]
    fn the_permission_needs_both_variables() {
        let runner = MapEnv::new().with(GITHUB_ACTIONS_ENV, "true");
        let seen = GithubActionsSignals::detect(&runner);
        assert!(seen.runner && !seen.id_token_permission);
        let job = runner
            .with(REQUEST_URL_ENV, "http://127.0.0.1:9/token?x=1")
            .with(REQUEST_TOKEN_ENV, "secret-request-token");
        let seen = GithubActionsSignals::detect(&job);
        assert!(seen.id_token_permission);
        let source = GithubActionsSource::new("aud", Arc::new(job))
            .expect("the GitHub source builds its HTTP client");
        let endpoint = source.endpoint_description().unwrap();
        assert_eq!(endpoint, "the github actions token endpoint at 127.0.0.1");
    }
}
