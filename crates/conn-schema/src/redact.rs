//! URLs as people may see them: without user info, with query values and the fragment masked.
//! A base URL or an endpoint may carry a credential in either place (`https://user:key@host`,
//! `...?api-key=...`); plans, error messages and validation snippets show URLs only through
//! [`redact_url`].

/// What a credential in a URL is replaced with.
const MASK: &str = "[redacted]";

/// `text` with the user info of its authority removed and every query value and the fragment
/// replaced by `[redacted]`. Works on any text, parseable or not, so it can also be applied to a
/// value that is being rejected.
pub fn redact_url(text: &str) -> String {
    let (before_fragment, fragment) = match text.split_once('#') {
        Some((before, _)) => (before, Some(MASK)),
        None => (text, None),
    };
    let (before_query, query) = match before_fragment.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (before_fragment, None),
    };
    let mut out = String::with_capacity(text.len());
    match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            out.push_str(scheme);
            out.push_str("://");
            out.push_str(host);
            out.push_str(path);
        }
        None => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) if !value.is_empty() => format!("{name}={MASK}"),
                Some((name, _)) => format!("{name}="),
                None if pair.is_empty() => String::new(),
                None => MASK.to_owned(),
            })
            .collect();
        out.push_str(&masked.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Whether `text`, read as a URL, has user info (`user@` or `user:password@`) in its authority.
pub fn has_user_info(text: &str) -> bool {
    let Some((_, rest)) = text.split_once("://") else {
        return false;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest[..authority_end].contains('@')
}

/// Whether `text` is a plain `http://` URL to a host other than this machine, so that a bearer
/// sent to it would travel in clear text. Which hosts are this machine is
/// [`providers_core::is_loopback_host`], the rule `providers_http::is_loopback` applies too.
pub fn is_cleartext_remote(text: &str) -> bool {
    let trimmed = text.trim();
    let Some(rest) = trimmed
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .and_then(|_| trimmed.get(7..))
    else {
        return false;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed
            .split_once(']')
            .map_or(bracketed, |(host, _)| host),
        None => host_port
            .split_once(':')
            .map_or(host_port, |(host, _)| host),
    };
    !providers_core::is_loopback_host(host)
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
    text.contains("://") && (has_user_info(text) || text.contains(['?', '#']))
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
        assert_eq!(redact_url("user:pw@host/x"), "user:pw@host/x");
        assert_eq!(redact_url("http://a@b@host:8080"), "http://host:8080");
        assert!(has_user_info("https://key@host/v1"));
        assert!(!has_user_info("https://host/v1?email=a@b"));
        assert!(may_hold_credential("https://host/v1?x=1"));
        assert!(!may_hold_credential("https://host/v1"));
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
