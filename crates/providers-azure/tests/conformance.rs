//! The Azure source (IMDS) passes the conformance suite of every HTTP source (providers-http).

use std::sync::Arc;

use providers_azure::{AzureError, AzureSource, DEFAULT_RETRY_POLICY};
use providers_core::{MapEnv, RetryPolicy};
use providers_http::conformance::{HttpSourceUnderTest, run};
use serde_json::json;
use wiremock::ResponseTemplate;

struct Azure;

impl HttpSourceUnderTest for Azure {
    const PATH: &'static str = "/metadata/identity/oauth2/token";
    const RETRY_POLICY: RetryPolicy = DEFAULT_RETRY_POLICY;
    const RETRIED_STATUS: u16 = 503;
    const NOT_RETRIED: &'static [u16] = &[401, 403];

    type Error = AzureError;
    type Source = AzureSource;

    fn env(address: &str) -> MapEnv {
        MapEnv::new().with(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            format!("http://{address}"),
        )
    }

    fn token_reply(token: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token,
            "expires_in": "86399",
            "token_type": "Bearer",
        }))
    }

    fn source(env: MapEnv) -> AzureSource {
        AzureSource::new("api://openai-wi", Arc::new(env)).expect("the client builds")
    }
}

#[tokio::test]
async fn the_azure_source_conforms() {
    run::<Azure>().await;
}
