//! What the criterion benches and the `token_bench` example share: a source whose subject token
//! is always the same, so that a measurement counts the cache and the exchange, not a fetch.

use openai_conn_client::providers_core::{
    BoxFuture, SourceError, SubjectToken, SubjectTokenSource, TokenType,
};

/// Hands out the subject token `bench-subject` (a JWT) at once, every time.
#[derive(Debug)]
pub(crate) struct StaticSource;

impl SubjectTokenSource for StaticSource {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        Box::pin(async { Ok(SubjectToken::new("bench-subject", TokenType::Jwt)) })
    }
}
