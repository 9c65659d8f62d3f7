//! The GCP source passes the conformance suite of every HTTP source (providers-http).

use std::sync::Arc;
use std::time::Duration;

use providers_core::{MapEnv, RetryPolicy, Sleep, SubjectTokenSource};
use providers_gcp::{DEFAULT_RETRY_POLICY, GcpSource, IDENTITY_PATH, METADATA_HOST_ENV};
use providers_http::conformance::{HttpSourceUnderTest, run};
use wiremock::{MockServer, ResponseTemplate};

struct Gcp;

impl HttpSourceUnderTest for Gcp {
    const PROVIDER: &'static str = "gcp";
    const PATH: &'static str = IDENTITY_PATH;
    const RETRY_POLICY: RetryPolicy = DEFAULT_RETRY_POLICY;
    const RETRIED_STATUS: u16 = 503;

    fn env(server: &MockServer) -> MapEnv {
        MapEnv::new().with(METADATA_HOST_ENV, server.address().to_string())
    }

    fn token_reply(token: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_string(format!("{token}\n"))
    }

    fn source(
        env: MapEnv,
        sleep: Arc<dyn Sleep>,
        timeout: Option<Duration>,
        retry_policy: Option<RetryPolicy>,
    ) -> Box<dyn SubjectTokenSource> {
        let mut source = GcpSource::new("https://api.openai.com/v1", Arc::new(env))
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
async fn the_gcp_source_conforms() {
    run::<Gcp>().await;
}
