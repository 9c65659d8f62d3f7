//! The subject token and its type.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// The kind of a subject token; it selects the exchange's `subject_token_type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// A JWT: `urn:ietf:params:oauth:token-type:jwt`.
    #[default]
    Jwt,
    /// An OpenID Connect ID token: `urn:ietf:params:oauth:token-type:id_token`.
    Id,
}

impl TokenType {
    /// The RFC 8693 token-type URN sent as `subject_token_type`.
    pub fn urn(self) -> &'static str {
        match self {
            TokenType::Jwt => "urn:ietf:params:oauth:token-type:jwt",
            TokenType::Id => "urn:ietf:params:oauth:token-type:id_token",
        }
    }

    /// The short name used in connection JSON (`jwt` or `id`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Jwt => "jwt",
            TokenType::Id => "id",
        }
    }
}

crate::display_via!(TokenType, as_str);

/// A subject token: a secret value and its type. Debug shows `[redacted]`, never the value.
#[derive(Clone)]
pub struct SubjectToken {
    value: SecretString,
    token_type: TokenType,
}

impl SubjectToken {
    /// Wraps a token value.
    pub fn new(value: impl Into<SecretString>, token_type: TokenType) -> Self {
        SubjectToken {
            value: value.into(),
            token_type,
        }
    }

    /// The secret value; expose it only where the exchange request is built.
    pub fn secret(&self) -> &SecretString {
        &self.value
    }

    /// The token's type.
    pub fn token_type(&self) -> TokenType {
        self.token_type
    }

    /// Whether the value is empty (a source must never return an empty token).
    pub fn is_empty(&self) -> bool {
        self.value.expose_secret().is_empty()
    }
}

impl fmt::Debug for SubjectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectToken")
            .field("value", &"[redacted]")
            .field("token_type", &self.token_type)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_value() {
        let token = SubjectToken::new("eyJ.secret-subject-token", TokenType::Id);
        let debug = format!("{token:?}");
        assert!(!debug.contains("secret-subject-token"), "{debug}");
        assert!(
            debug.contains("[redacted]") && debug.contains("Id"),
            "{debug}"
        );
    }

    #[test]
    fn urns_match_rfc_8693() {
        assert_eq!(TokenType::Jwt.urn(), "urn:ietf:params:oauth:token-type:jwt");
        assert_eq!(
            TokenType::Id.urn(),
            "urn:ietf:params:oauth:token-type:id_token"
        );
    }
}
