//! Server text that reaches people (an OAuth `error` and `error_description`, an API error
//! message, a reply's `x-request-id`): every configured secret ([`ConfiguredSecrets`]) and every
//! credential the request carried are replaced by `[redacted]`, control characters by spaces, and
//! the text is cut to [`MAX_SERVER_TEXT_CHARS`]. Each of these passes through [`scrub`] with
//! [`ConfiguredSecrets::with`]: this module is the one place server text is made printable.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

/// The secrets of a connection's configuration, which no server text may repeat whatever the
/// request carried: every API key it could use (`openai_client_kwargs.api_key`, the password,
/// `OPENAI_API_KEY`), and every `default_headers`, `OPENAI_CUSTOM_HEADERS` and `default_query`
/// value; each also as it travels in a query string (form-encoded), since a server that echoes
/// the request line repeats it so. Cheap to clone; Debug shows how many, never a value.
#[derive(Clone, Default)]
pub(crate) struct ConfiguredSecrets(Arc<[SecretString]>);

impl ConfiguredSecrets {
    pub(crate) fn new(secrets: impl IntoIterator<Item = SecretString>) -> Self {
        let mut all = Vec::new();
        for secret in secrets {
            let encoded: String =
                url::form_urlencoded::byte_serialize(secret.expose_secret().as_bytes()).collect();
            if encoded != secret.expose_secret() {
                all.push(SecretString::from(encoded));
            }
            all.push(secret);
        }
        ConfiguredSecrets(all.into())
    }

    /// These secrets and `more` (what the request itself carried), as [`scrub`] takes them.
    pub(crate) fn with<'a>(&'a self, more: &[&'a str]) -> Vec<&'a str> {
        self.0
            .iter()
            .map(|secret| secret.expose_secret())
            .chain(more.iter().copied())
            .collect()
    }
}

impl std::fmt::Debug for ConfiguredSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConfiguredSecrets([redacted; {}])", self.0.len())
    }
}

/// The most characters of server text kept for a message.
pub(crate) const MAX_SERVER_TEXT_CHARS: usize = 500;

/// What a credential is replaced with.
pub(crate) const REDACTED: &str = "[redacted]";

// A "secret" this short would blank ordinary words; no real credential is this short.
const MIN_SECRET_CHARS: usize = 4;

/// `text` without any of `secrets`, on one line, at most [`MAX_SERVER_TEXT_CHARS`] characters.
/// The secrets are replaced before the text is cut, so no prefix of one survives the cut, and
/// longest first, so a secret that holds another (`Bearer sk-...` and `sk-...`) goes whole.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut secrets = secrets.to_vec();
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    let mut text = text.to_owned();
    for secret in secrets {
        if secret.chars().count() >= MIN_SECRET_CHARS && text.contains(secret) {
            text = text.replace(secret, REDACTED);
        }
    }
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_SERVER_TEXT_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A reply's `x-request-id` (what OpenAI support asks for), scrubbed of `secrets` like any server
/// text, printable and bounded; `None` when absent or blank.
pub(crate) fn request_id(headers: &reqwest::header::HeaderMap, secrets: &[&str]) -> Option<String> {
    const MAX_REQUEST_ID_CHARS: usize = 128;
    let value = headers.get("x-request-id")?.to_str().ok()?;
    let id: String = scrub(value, secrets)
        .chars()
        .take(MAX_REQUEST_ID_CHARS)
        .collect();
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_before_the_text_is_cut() {
        let secret = "sk-live-SECRET";
        let text = format!("{}{secret} tail", "a".repeat(495));
        let scrubbed = scrub(&text, &[secret]);
        assert!(!scrubbed.contains("sk-l"), "{scrubbed}");
        assert_eq!(scrubbed.chars().count(), MAX_SERVER_TEXT_CHARS);
        assert!(scrubbed.ends_with("[reda"), "{scrubbed}");

        assert_eq!(
            scrub("bad key\nsk-live-SECRET\tfor you", &[secret, "", "ab"]),
            "bad key [redacted] for you"
        );
        // Longest first: the bearer header value goes whole, not as "Bearer [redacted]".
        assert_eq!(
            scrub(
                "rejected Bearer sk-live-SECRET",
                &[secret, "Bearer sk-live-SECRET"]
            ),
            "rejected [redacted]"
        );
    }
}
