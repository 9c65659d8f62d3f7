//! URLs as people may see them, and the one reading of a URL that every check of one uses.
//!
//! A URL is read exactly as the HTTP client reads it: [`read_url`] is `url::Url::parse`, the
//! parser reqwest applies to every request URL. The user-info check ([`has_user_info`]), the
//! clear-text check ([`is_cleartext_remote`]) and the redaction ([`redact_url`]) decide from that
//! parsed value, so `https:///user:pw@host`, `https:/user:pw@host` or `http:host` mean to them
//! what they mean on the wire. Text that does not parse is read conservatively: anything before
//! a last `@` counts as user info. A base URL or an endpoint may carry a credential in its user
//! info or its query (`https://user:key@host`, `...?api-key=...`); plans, error messages and
//! validation snippets show URLs only through [`redact_url`].

use url::{Position, Url};

/// What a credential in a URL is replaced with.
const MASK: &str = "[redacted]";

/// `text` read as the HTTP client reads a URL (`url::Url::parse`, as reqwest does), or `None`
/// when the client would refuse it.
pub fn read_url(text: &str) -> Option<Url> {
    Url::parse(text).ok()
}

/// `text` with the user info of its authority removed and every query value and the fragment
/// replaced by `[redacted]`. A URL with none of these is returned as written; one with any of
/// them is shown as the client reads it. Text that does not parse is redacted as text: its query
/// and fragment masked and anything before the last `@` after its scheme removed, so a value
/// that is being rejected can be named too.
pub fn redact_url(text: &str) -> String {
    match read_url(text) {
        Some(mut url) if !url.cannot_be_a_base() => {
            let has_user_info = !url.username().is_empty() || url.password().is_some();
            if !has_user_info && url.query().is_none() && url.fragment().is_none() {
                return text.to_owned();
            }
            // Both succeed on a URL that can be a base and has user info; a URL without a host
            // has none to remove.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            let mut out = url[..Position::AfterPath].to_owned();
            if let Some(query) = url.query() {
                out.push('?');
                out.push_str(&mask_query(query));
            }
            if url.fragment().is_some() {
                out.push('#');
                out.push_str(MASK);
            }
            out
        }
        _ => redact_text(text),
    }
}

/// [`redact_url`] for text the client would not parse (or that has no authority).
fn redact_text(text: &str) -> String {
    let (before_fragment, fragment) = match text.split_once('#') {
        Some((before, _)) => (before, Some(MASK)),
        None => (text, None),
    };
    let (before_query, query) = match before_fragment.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (before_fragment, None),
    };
    let mut out = String::with_capacity(text.len());
    match before_query.rsplit_once('@') {
        Some((before_at, host)) if scheme_end(before_query).is_some() => {
            let scheme_end = scheme_end(before_query).unwrap_or(0);
            // The scheme, its `:` and the slashes after it stay; the rest up to the last `@` is
            // user info as far as anyone can tell.
            let slashes = before_at[scheme_end..]
                .chars()
                .take_while(|c| matches!(c, '/' | '\\'))
                .count();
            out.push_str(&before_at[..scheme_end + slashes]);
            out.push_str(host);
        }
        _ => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        out.push_str(&mask_query(query));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Where the scheme of `text` ends (just past its `:`), when it starts with one: a letter, then
/// letters, digits, `+`, `-` or `.`.
fn scheme_end(text: &str) -> Option<usize> {
    let trimmed = text.trim_start();
    let offset = text.len() - trimmed.len();
    let colon = trimmed.find(':')?;
    let scheme = &trimmed[..colon];
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(offset + colon + 1)
}

/// Every value of `query` replaced by [`MASK`] (a name without a value too: it may be a key).
fn mask_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() => format!("{name}={MASK}"),
            Some((name, _)) => format!("{name}="),
            None if pair.is_empty() => String::new(),
            None => MASK.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether `text`, read as the client reads a URL, has user info (`user@` or `user:password@`).
/// Text the client would not parse has user info when it has a scheme and an `@` before its
/// query (`https://user:SEC/RET@host` is not a valid URL, but it holds a password).
pub fn has_user_info(text: &str) -> bool {
    match read_url(text) {
        Some(url) if !url.cannot_be_a_base() => {
            !url.username().is_empty() || url.password().is_some()
        }
        _ => {
            let before_query = text.split(['?', '#']).next().unwrap_or_default();
            scheme_end(before_query).is_some() && before_query.contains('@')
        }
    }
}

/// Whether `text` is a plain `http` URL, as the client reads it, to a host other than this
/// machine, so that a bearer sent to it would travel in clear text (`http:host` and `http:/host`
/// are such URLs too). Which hosts are this machine is [`providers_core::is_loopback_host`], the
/// rule `providers_http::is_loopback` applies to the same parsed host.
pub fn is_cleartext_remote(text: &str) -> bool {
    read_url(text).is_some_and(|url| {
        url.scheme() == "http" && !url.host_str().is_some_and(providers_core::is_loopback_host)
    })
}

/// Headers that carry a credential, lower case. Under workload identity none of them is sent
/// (only the workload's bearer authenticates), and validation warns about each one configured.
pub const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "api-key",
    "x-api-key",
    "api_key",
    "proxy-authorization",
    "cookie",
    "ocp-apim-subscription-key",
];

/// Whether the header `name` (any case) is one of [`CREDENTIAL_HEADERS`].
pub fn is_credential_header(name: &str) -> bool {
    CREDENTIAL_HEADERS
        .iter()
        .any(|header| header.eq_ignore_ascii_case(name))
}

/// `text` for a terminal: control characters are escaped (`\n`, `\u{1b}`), so a key name in a
/// message cannot forge lines or terminal sequences in human output.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Whether [`redact_url`] would change `text`: it may hold a credential.
pub(crate) fn may_hold_credential(text: &str) -> bool {
    text.contains(['@', '?', '#']) && redact_url(text) != text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_removed_and_query_values_are_masked() {
        assert_eq!(
            redact_url("https://user:sk-SECRET@api.example.com/v1?api-key=sk-Q&v=1&flag#frag"),
            "https://api.example.com/v1?api-key=[redacted]&v=[redacted]&[redacted]#[redacted]"
        );
        assert_eq!(
            redact_url("https://api.openai.com/v1"),
            "https://api.openai.com/v1"
        );
        assert_eq!(redact_url("user:pw@host/x"), "user:host/x");
        assert_eq!(redact_url("no scheme@host"), "no scheme@host");
        assert_eq!(redact_url("http://a@b@host:8080"), "http://host:8080/");
        assert!(has_user_info("https://key@host/v1"));
        assert!(!has_user_info("https://host/v1?email=a@b"));
        assert!(may_hold_credential("https://host/v1?x=1"));
        assert!(!may_hold_credential("https://host/v1"));
        assert!(!may_hold_credential("a description, mail me@example.com"));
    }

    /// The forms the client reads differently from how they look: each is read as reqwest reads
    /// it, so none of them hides user info or clear text.
    #[test]
    fn every_url_form_is_read_as_the_client_reads_it() {
        for (text, shown) in [
            (
                "https:///user:PW@api.example.com/v1",
                "https://api.example.com/v1",
            ),
            ("https:/user:PW@host", "https://host/"),
            ("https://user:SEC/RET@host", "https://host"),
            (
                "https://user:SEC/RET@host/v1?k=SEC",
                "https://host/v1?k=[redacted]",
            ),
            (" https://user:PW@host/v1 ", "https://host/v1"),
            ("https:\\\\user:PW@host/v1", "https://host/v1"),
            ("HTTPS://user@host", "https://host/"),
        ] {
            assert!(has_user_info(text), "{text}");
            assert_eq!(redact_url(text), shown, "{text}");
            assert!(may_hold_credential(text), "{text}");
        }
        for text in [
            "http:/api.example.com/v1",
            "http:api.example.com",
            "http:\\\\api.example.com",
            "http:\\api.example.com\\v1",
            "HTTP://10.0.0.5:8080",
            "http://0x7f000001.example/",
            "http://127.0.0.1.nip.io/",
            "  http://api.example.com  ",
        ] {
            assert!(is_cleartext_remote(text), "{text}");
            assert!(!has_user_info(text), "{text}");
        }
        for text in [
            "http:/127.0.0.1:8080/v1",
            "http:localhost",
            "http://0x7f.1/",
            "http://[::1]/",
        ] {
            assert!(!is_cleartext_remote(text), "{text}");
        }
    }

    #[test]
    fn cleartext_means_plain_http_to_another_host() {
        for remote in [
            "http://api.example.com/v1",
            "HTTP://10.0.0.5:8080",
            "http://[fe80::1]/v1",
        ] {
            assert!(is_cleartext_remote(remote), "{remote}");
        }
        for local in [
            "https://api.example.com/v1",
            "http://localhost:8080/v1",
            "http://127.0.0.1/v1",
            "http://127.8.9.10",
            "http://[::1]:8080/v1",
            "api.example.com",
        ] {
            assert!(!is_cleartext_remote(local), "{local}");
        }
    }
}
