//! The GitHub Actions source passes the conformance suite of every HTTP source (providers-http).

use std::sync::Arc;

use providers_core::{MapEnv, RetryPolicy};
use providers_github::{
    DEFAULT_RETRY_POLICY, GithubActionsError, GithubActionsSource, REQUEST_TOKEN_ENV,
    REQUEST_URL_ENV,
};
use providers_http::conformance::{HttpSourceUnderTest, run};
use serde_json::json;
use wiremock::ResponseTemplate;

struct Github;

impl HttpSourceUnderTest for Github {
    const PATH: &'static str = "/plans/p1/jobs/j1/idtoken";
    const RETRY_POLICY: RetryPolicy = DEFAULT_RETRY_POLICY;
    const RETRIED_STATUS: u16 = 503;
    const NOT_RETRIED: &'static [u16] = &[400, 401, 403, 404, 429, 500];

    type Error = GithubActionsError;
    type Source = GithubActionsSource;

    fn env(address: &str) -> MapEnv {
        MapEnv::new()
            .with(
                REQUEST_URL_ENV,
                format!("http://{address}{}?api-version=2.0", Self::PATH),
            )
            .with(REQUEST_TOKEN_ENV, "ghs_request-token-SECRET")
    }

    fn token_reply(token: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({ "count": 2, "value": token }))
    }

    fn source(env: MapEnv) -> GithubActionsSource {
        GithubActionsSource::new("https://api.openai.com/v1", Arc::new(env))
            .expect("the client builds")
    }
}

#[tokio::test]
async fn the_github_actions_source_conforms() {
    run::<Github>().await;
}
