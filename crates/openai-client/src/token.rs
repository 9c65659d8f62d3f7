//! The access token handed out by the cache.

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use tokio::time::Instant;

/// A short-lived OpenAI access token from the exchange, with its refresh point and expiry on
/// tokio's monotonic clock. Cloning is cheap (the value is shared). Debug shows `[redacted]`.
#[derive(Clone)]
pub struct AccessToken(pub(crate) Arc<TokenState>);

pub(crate) struct TokenState {
    pub(crate) secret: SecretString,
    pub(crate) refresh_at: Instant,
    pub(crate) expires_at: Instant,
    pub(crate) server_date: Option<String>,
}

impl AccessToken {
    /// The secret value; expose it only where the `Authorization` header is built.
    pub fn secret(&self) -> &SecretString {
        &self.0.secret
    }

    /// From when the cache refreshes this token in the background.
    pub fn refresh_at(&self) -> Instant {
        self.0.refresh_at
    }

    /// When this token stops being used.
    pub fn expires_at(&self) -> Instant {
        self.0.expires_at
    }

    /// The `Date` header of the exchange's reply (the exchange server's clock, to the second), as
    /// sent; `None` when the reply had none. `openai-conn doctor` compares it with the local clock.
    pub fn server_date(&self) -> Option<&str> {
        self.0.server_date.as_deref()
    }

    /// Whether this and `other` are the same token from the same exchange.
    pub fn same_as(&self, other: &AccessToken) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[redacted]")
            .field("refresh_at", &self.0.refresh_at)
            .field("expires_at", &self.0.expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let now = Instant::now();
        let token = AccessToken(Arc::new(TokenState {
            secret: SecretString::from("sk-very-secret-access"),
            refresh_at: now,
            expires_at: now,
            server_date: None,
        }));
        let debug = format!("{token:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
    }
}
