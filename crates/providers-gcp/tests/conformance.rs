//! The GCP source passes the conformance suite of every HTTP source (providers-http).

use std::sync::Arc;

use providers_core::{MapEnv, RetryPolicy};
use providers_gcp::{DEFAULT_RETRY_POLICY, GcpError, GcpSource, IDENTITY_PATH, METADATA_HOST_ENV};
use providers_http::conformance::{HttpSourceUnderTest, run};
use wiremock::ResponseTemplate;

struct Gcp;

impl HttpSourceUnderTest for Gcp {
    const PATH: &'static str = IDENTITY_PATH;
    const RETRY_POLICY: RetryPolicy = DEFAULT_RETRY_POLICY;
    const RETRIED_STATUS: u16 = 503;
    const NOT_RETRIED: &'static [u16] = &[400, 401, 403, 404, 502];

    type Error = GcpError;
    type Source = GcpSource;

    fn env(address: &str) -> MapEnv {
        MapEnv::new().with(METADATA_HOST_ENV, address)
    }

    fn token_reply(token: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_string(format!("{token}\n"))
    }

    fn source(env: MapEnv) -> GcpSource {
        GcpSource::new("https://api.openai.com/v1", Arc::new(env)).expect("the client builds")
    }
}

#[tokio::test]
async fn the_gcp_source_conforms() {
    run::<Gcp>().await;
}
