//! Registered custom sources through the public API: lookup, the configured token type, and the
//! errors for an unknown name or an empty token.

use std::fmt;
use std::sync::Arc;

use providers_core::{BoxFuture, SourceError, SubjectToken, SubjectTokenSource, TokenType};
use providers_custom::{CustomError, Registry};
use secrecy::ExposeSecret;

/// A registered source that always returns the same token, reported as a JWT.
struct Fixed(&'static str);

impl fmt::Debug for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fixed([redacted])")
    }
}

impl SubjectTokenSource for Fixed {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        Box::pin(async move { Ok(SubjectToken::new(self.0, TokenType::Jwt)) })
    }
}

/// A registered source that fails with its own error.
#[derive(Debug)]
struct Broken;

#[derive(Debug, thiserror::Error)]
#[error("vault is sealed")]
struct Sealed;

impl SubjectTokenSource for Broken {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        Box::pin(async {
            Err(SourceError::new(
                "vault",
                "reading the secret",
                true,
                Sealed,
            ))
        })
    }
}

fn registry() -> Registry {
    Registry::new()
        .with("corp.vault", Arc::new(Fixed("eyJ.registered-secret")))
        .with("corp.broken", Arc::new(Broken))
}

/// The source [`registry`] holds under `name`, giving tokens of `token_type`.
fn registered(name: &str, token_type: TokenType) -> Arc<dyn SubjectTokenSource> {
    registry()
        .source(name, token_type)
        .expect("the name is registered")
}

#[tokio::test]
async fn a_registered_source_is_found_and_its_token_gets_the_configured_type() {
    let source = registered("corp.vault", TokenType::Id);
    let token = source.fetch().await.expect("token");
    assert_eq!(token.secret().expose_secret(), "eyJ.registered-secret");
    // The source reports a JWT; the connection says `id`, and the connection wins.
    assert_eq!(token.token_type(), TokenType::Id);

    let source = registered("corp.vault", TokenType::Jwt);
    assert_eq!(
        source.fetch().await.expect("token").token_type(),
        TokenType::Jwt
    );
    let debug = format!("{source:?}");
    assert!(debug.contains("corp.vault"), "{debug}");
    assert!(!debug.contains("registered-secret"), "{debug}");
}

#[test]
fn an_unknown_name_lists_the_registered_names_sorted() {
    let registry = Registry::new()
        .with("zeta", Arc::new(Fixed("t")))
        .with("alpha", Arc::new(Fixed("t")));
    let error = registry
        .source("corp.x", TokenType::Jwt)
        .expect_err("not registered");
    assert_eq!(
        error.to_string(),
        "no custom token source is registered as \"corp.x\"; registered: \"alpha\", \"zeta\""
    );
    let CustomError::NotRegistered { name, registered } = &error else {
        panic!("expected NotRegistered, got {error:?}");
    };
    assert_eq!(name, "corp.x");
    assert_eq!(registered, &["alpha", "zeta"]);

    let source_error = SourceError::from(error);
    assert_eq!(source_error.provider(), "custom");
    assert_eq!(
        source_error.step(),
        "looking up the registered token source"
    );
    assert!(!source_error.is_transient());
}

#[test]
fn an_unknown_name_in_an_empty_registry_says_none_are_registered() {
    let error = Registry::new()
        .source("corp.x", TokenType::Jwt)
        .expect_err("not registered");
    assert_eq!(
        error.to_string(),
        "no custom token source is registered as \"corp.x\"; none are registered"
    );
}

#[test]
fn the_registry_registers_replaces_lists_and_debugs_names_only() {
    let mut registry = Registry::new();
    assert!(
        registry
            .register("b", Arc::new(Fixed("eyJ.first-secret")))
            .is_none()
    );
    assert!(
        registry
            .register("a", Arc::new(Fixed("eyJ.other-secret")))
            .is_none()
    );
    assert!(
        registry
            .register("b", Arc::new(Fixed("eyJ.second-secret")))
            .is_some()
    );

    assert_eq!(registry.names().collect::<Vec<_>>(), ["a", "b"]);
    assert!(registry.get("a").is_some());
    assert!(registry.get("c").is_none());

    let debug = format!("{:?}", registry.clone());
    assert_eq!(debug, "Registry { names: [\"a\", \"b\"] }");
}

#[tokio::test]
async fn the_replacing_registration_is_the_one_used() {
    let mut registry = Registry::new();
    registry.register("corp", Arc::new(Fixed("eyJ.old")));
    registry.register("corp", Arc::new(Fixed("eyJ.new")));
    let source = registry.source("corp", TokenType::Jwt).expect("registered");
    assert_eq!(
        source
            .fetch()
            .await
            .expect("token")
            .secret()
            .expose_secret(),
        "eyJ.new"
    );
}

#[tokio::test]
async fn an_empty_token_from_a_registered_source_is_an_error() {
    let registry = Registry::new().with("corp.empty", Arc::new(Fixed("")));
    let source = registry
        .source("corp.empty", TokenType::Jwt)
        .expect("registered");
    let error = source.fetch().await.expect_err("empty token");
    assert_eq!(error.provider(), "custom");
    assert!(!error.is_transient());
    assert!(
        matches!(
            error.cause().downcast_ref::<CustomError>(),
            Some(CustomError::EmptyToken { name }) if name == "corp.empty"
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_registered_source_error_passes_through_unchanged() {
    let source = registered("corp.broken", TokenType::Jwt);
    let error = source.fetch().await.expect_err("sealed");
    assert_eq!(error.provider(), "vault");
    assert_eq!(error.step(), "reading the secret");
    assert!(error.is_transient());
    assert!(error.cause().downcast_ref::<Sealed>().is_some());
}
