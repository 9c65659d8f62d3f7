//! Server text that reaches people (an OAuth `error_description`, an API error message): the
//! credentials the request carried are replaced by `[redacted]`, control characters by spaces,
//! and the text is cut to [`MAX_SERVER_TEXT_CHARS`]; and a reply's `x-request-id`.

/// The most characters of server text kept for a message.
pub(crate) const MAX_SERVER_TEXT_CHARS: usize = 500;

/// What a credential is replaced with.
pub(crate) const REDACTED: &str = "[redacted]";

// A "secret" this short would blank ordinary words; no real credential is this short.
const MIN_SECRET_CHARS: usize = 4;

/// `text` without any of `secrets`, on one line, at most [`MAX_SERVER_TEXT_CHARS`] characters.
/// The secrets are replaced before the text is cut, so no prefix of one survives the cut.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
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

/// A reply's `x-request-id` (what OpenAI support asks for), printable and bounded; `None` when
/// absent or blank.
pub(crate) fn request_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    const MAX_REQUEST_ID_CHARS: usize = 128;
    let value = headers.get("x-request-id")?.to_str().ok()?;
    let id: String = scrub(value, &[])
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
    }
}
