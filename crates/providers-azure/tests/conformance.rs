//! The Azure source (IMDS) passes the conformance suite of every HTTP source (providers-http).

use std::sync::Arc;
use std::time::Duration;

use providers_azure::{AzureSource, DEFAULT_RETRY_POLICY};
use providers_core::{MapEnv, RetryPolicy, Sleep, SubjectTokenSource};
use providers_http::conformance::{HttpSourceUnderTest, run};
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

struct Azure;

impl HttpSourceUnderTest for Azure {
    const PROVIDER: &'static str = "azure";
    const PATH: &'static str = "/metadata/identity/oauth2/token";
    const RETRY_POLICY: RetryPolicy = DEFAULT_RETRY_POLICY;
    const RETRIED_STATUS: u16 = 503;

    fn env(server: &MockServer) -> MapEnv {
        MapEnv::new().with("AZURE_POD_IDENTITY_AUTHORITY_HOST", server.uri())
    }

    fn token_reply(token: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token,
            "expires_in": "86399",
            "token_type": "Bearer",
        }))
    }

    fn source(
        env: MapEnv,
        sleep: Arc<dyn Sleep>,
        timeout: Option<Duration>,
        retry_policy: Option<RetryPolicy>,
    ) -> Box<dyn SubjectTokenSource> {
        let mut source = AzureSource::new("api://openai-wi", Arc::new(env))
            .expect("the client builds")
            .with_sleep(sleep);
        if let Some(timeout) = timeout {
            source = source.with_timeout(timeout);
        }
        if let Some(policy) = retry_policy {
            source = source.with_retry_policy(policy);
        }
        Box::new(source)
    }
}

#[tokio::test]
async fn the_azure_source_conforms() {
    run::<Azure>().await;
}
