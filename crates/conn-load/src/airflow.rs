//! Airflow's own forms: connections files (JSON or YAML mapping ids to connections) and
//! connection URIs (`AIRFLOW_CONN_*` and `uri` entries).

use std::path::Path;

use conn_schema::pointer::child;
use conn_schema::{Code, Diagnostic, Severity, kind_of};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::LoadError;
use crate::formats::Parsed;
use crate::positions::{PointerMap, SourcePositions};

/// Picks `conn_id` from a parsed connections file and normalises Airflow's entry forms to a whole
/// connection document: a URI string, an object with `uri`, or an object with `extra_dejson`.
pub(crate) fn connections_file_entry(
    mapping: Value,
    positions: SourcePositions,
    path: &Path,
    conn_id: &str,
    label: &str,
) -> Result<Parsed, LoadError> {
    let shape_error = |message: String| LoadError::ConnectionsFile {
        label: label.to_owned(),
        message,
    };
    let mut mapping = match mapping {
        Value::Object(mapping) => mapping,
        // An empty YAML file is an empty set of connections, as in Airflow.
        Value::Null => Map::new(),
        other => {
            return Err(shape_error(format!(
                "a connections file must map connection ids to connections, found {}",
                kind_of(&other)
            )));
        }
    };
    let Some(entry) = mapping.remove(conn_id) else {
        let mut available: Vec<String> = mapping.keys().cloned().collect();
        available.sort();
        return Err(LoadError::ConnIdNotFound {
            path: path.to_owned(),
            conn_id: conn_id.to_owned(),
            available,
        });
    };
    let mut pointers = PointerMap {
        prefix: child("", conn_id),
        ..PointerMap::default()
    };
    let from_uri = |uri: &str| {
        parse_uri(uri.trim()).map_err(|reason| LoadError::BadUri {
            origin: label.to_owned(),
            reason,
        })
    };
    let (value, warnings) = match entry {
        Value::String(uri) => from_uri(&uri)?,
        Value::Object(mut object) => {
            match object.remove("conn_id") {
                Some(Value::String(inner)) if inner != conn_id => {
                    return Err(shape_error(format!(
                        "the entry's \"conn_id\" is {inner:?} but its key is {conn_id:?}; Airflow requires them to match"
                    )));
                }
                _ => {}
            }
            if let Some(dejson) = object.remove("extra_dejson") {
                if object.contains_key("extra") {
                    return Err(shape_error(
                        "\"extra\" and \"extra_dejson\" cannot both be set; keep one".to_owned(),
                    ));
                }
                object.insert("extra".to_owned(), dejson);
                pointers.extra_written_as = Some("extra_dejson");
            }
            match object.remove("uri") {
                Some(Value::String(uri)) => {
                    if !object.is_empty() {
                        return Err(shape_error(
                            "an entry with \"uri\" cannot also set other fields, as in Airflow"
                                .to_owned(),
                        ));
                    }
                    from_uri(&uri)?
                }
                Some(other) => {
                    return Err(shape_error(format!(
                        "\"uri\" must be a string, found {}",
                        kind_of(&other)
                    )));
                }
                None => (Value::Object(object), Vec::new()),
            }
        }
        other => {
            return Err(shape_error(format!(
                "a connection must be an object or a URI string, found {}",
                kind_of(&other)
            )));
        }
    };
    Ok(Parsed {
        value,
        pristine_json: None,
        positions,
        pointers,
        whole_connection: true,
        warnings,
    })
}

/// Parses an Airflow connection URI the way `Connection._parse_from_uri` does: the scheme is
/// `conn_type` (lower-cased, `postgresql` → `postgres`, `-` → `_`); login and password are the
/// percent-decoded user info before the last `@`; the host is Python's `hostname` (lower-cased
/// up to any `%`) percent-decoded, or, when that decodes to something with a `/` (an encoded base
/// URL), the raw authority after `@` and before `:` decoded with its case kept; a second `://`
/// gives the host its own scheme (then no user info is allowed, and the path stays `schema`); the
/// path minus its `/` is `schema`; the authority's port is `port`; `__extra__` in the query is
/// the whole extra (other keys ignored, with a warning), else every `parse_qsl` pair is an extra
/// key with a string value. Empty parts are left out rather than kept as `""`. Errors never
/// quote the URI: it may hold a password.
pub(crate) fn parse_uri(uri: &str) -> Result<(Value, Vec<Diagnostic>), String> {
    let separators = uri.matches("://").count();
    if separators == 0 {
        return Err(
            "expected the form `conn_type://login:password@host:port/schema?key=value`, \
                    found no `://`"
                .to_owned(),
        );
    }
    if separators > 2 {
        return Err("more than two `://` separators".to_owned());
    }
    let (scheme, rest) = uri.split_once("://").unwrap_or((uri, ""));
    if !is_scheme(scheme) {
        return Err(
            "the part before `://` is not a URI scheme (a letter, then letters, digits, `+`, `-` or `.`)"
                .to_owned(),
        );
    }
    let mut conn_type = scheme.to_ascii_lowercase();
    if conn_type == "postgresql" {
        conn_type = "postgres".to_owned();
    }
    let conn_type = conn_type.replace('-', "_");

    // `openai://https://host/path`: the host carries its own scheme, as Airflow allows.
    let (protocol, rest) = if separators == 2 {
        let (protocol, after) = rest.split_once("://").unwrap_or((rest, ""));
        if protocol.contains('@') || protocol.contains(':') {
            return Err(
                "a host written with its own scheme (`conn_type://https://host`) cannot \
                        carry a login or password; URL-encode the host instead \
                        (`conn_type://:password@https%3A%2F%2Fhost`)"
                    .to_owned(),
            );
        }
        if !is_scheme(protocol) {
            return Err("the host's own scheme is not a URI scheme".to_owned());
        }
        (Some(protocol.to_ascii_lowercase()), after)
    } else {
        (None, rest)
    };

    // urlsplit: the authority runs to the first `/`, `?` or `#`; the fragment is dropped.
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (netloc, rest) = rest.split_at(authority_end);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));

    let (userinfo, hostinfo) = match netloc.rsplit_once('@') {
        Some((userinfo, hostinfo)) => (Some(userinfo), hostinfo),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        Some(userinfo) => match userinfo.split_once(':') {
            Some((username, password)) => (Some(username), Some(password)),
            None => (Some(userinfo), None),
        },
        None => (None, None),
    };
    let (raw_hostname, port) = match hostinfo.split_once('[') {
        Some((_, bracketed)) => {
            let (hostname, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
            (hostname, after.split_once(':').map_or("", |(_, port)| port))
        }
        None => hostinfo.split_once(':').unwrap_or((hostinfo, "")),
    };
    let port = if port.is_empty() {
        None
    } else {
        match port.parse::<u32>() {
            Ok(number) if port.bytes().all(|byte| byte.is_ascii_digit()) && number <= 65535 => {
                Some(number)
            }
            // The port text is not quoted: with a missing `@` it may be the password.
            _ => return Err("the port is not an integer from 0 to 65535".to_owned()),
        }
    };

    // Python's `hostname` lower-cases up to the first `%` (an IPv6 zone follows it); Airflow then
    // unquotes, and if that yields a `/` (a URL-encoded base URL) it takes the host from the raw
    // authority instead, keeping its case.
    let lowered = match raw_hostname.split_once('%') {
        Some((head, tail)) => format!("{}%{tail}", head.to_ascii_lowercase()),
        None => raw_hostname.to_ascii_lowercase(),
    };
    let mut host = unquote(&lowered);
    if host.contains('/') {
        let after_at = netloc.rsplit_once('@').map_or(netloc, |(_, host)| host);
        let before_colon = after_at.split_once(':').map_or(after_at, |(host, _)| host);
        host = unquote(before_colon);
    }
    if let Some(protocol) = protocol.as_deref()
        && !host.is_empty()
    {
        host = format!("{protocol}://{host}");
    }

    let mut document = Map::new();
    document.insert("conn_type".to_owned(), Value::String(conn_type));
    // Airflow keeps empty strings where the URI has an empty part; for an OpenAI connection an
    // empty host, login, password or schema means the same as none, so they are left out.
    let mut put = |key: &str, text: String| {
        if !text.is_empty() {
            document.insert(key.to_owned(), Value::String(text));
        }
    };
    put("host", host);
    put("login", username.map(unquote).unwrap_or_default());
    put("password", password.map(unquote).unwrap_or_default());
    let schema = path.strip_prefix('/').unwrap_or(path);
    put("schema", unquote(schema));
    if let Some(port) = port {
        document.insert("port".to_owned(), Value::from(port));
    }

    let mut warnings = Vec::new();
    if protocol.is_some() && !schema.is_empty() {
        warnings.push(load_warning(
            "/schema",
            "Airflow reads the path of `conn_type://https://host/path` as \"schema\", not as part \
             of the host, so the base URL loses its path"
                .to_owned(),
            Some("URL-encode the base URL as the host: `openai://:KEY@https%3A%2F%2Fhost%2Fpath`"),
        ));
    }
    if !query.is_empty() {
        let pairs = parse_qsl(query);
        let mut extra = Map::new();
        for (key, value) in &pairs {
            extra.insert(key.clone(), Value::String(value.clone()));
        }
        match extra.remove("__extra__") {
            Some(inner) => {
                // Airflow takes `__extra__` as the whole extra and ignores every other key.
                if !extra.is_empty() {
                    let ignored: Vec<&str> = extra.keys().map(String::as_str).collect();
                    warnings.push(load_warning(
                        "/extra",
                        format!(
                            "query keys beside __extra__ are ignored, as Airflow ignores them: {}",
                            ignored.join(", ")
                        ),
                        Some("move them into the __extra__ JSON"),
                    ));
                }
                document.insert("extra".to_owned(), inner);
            }
            None => {
                document.insert("extra".to_owned(), Value::Object(extra));
            }
        }
    }
    Ok((Value::Object(document), warnings))
}

pub(crate) fn load_warning(pointer: &str, message: String, suggestion: Option<&str>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        code: Code::IgnoredUriPart,
        pointer: pointer.to_owned(),
        origin: None,
        location: None,
        message,
        suggestion: suggestion.map(str::to_owned),
    }
}

pub(crate) fn is_scheme(text: &str) -> bool {
    let mut characters = text.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && characters.all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '+' | '-' | '.')
        })
}

/// Python's `urllib.parse.unquote`: `%XX` decoded as UTF-8 (invalid sequences replaced), `+` kept.
pub(crate) fn unquote(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Python's `parse_qsl(query, keep_blank_values=True)`: `&`-separated, `+` is a space, a field
/// without `=` has an empty value, empty fields are skipped. Later duplicates win in Airflow's
/// `dict(...)`, which [`parse_uri`] reproduces by inserting in order.
pub(crate) fn parse_qsl(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|field| !field.is_empty())
        .map(|field| {
            let (name, value) = field.split_once('=').unwrap_or((field, ""));
            (
                unquote(&name.replace('+', " ")),
                unquote(&value.replace('+', " ")),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Map<String, Value> {
        match parse_uri(text) {
            Ok((Value::Object(map), _)) => map,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn uri_parts_follow_airflow() {
        let map = uri("openai://me%40corp:p%2Fw@API.Example.com:8443/my%20schema?a=1&b=x+y&c");
        assert_eq!(map["conn_type"], "openai");
        assert_eq!(map["login"], "me@corp");
        assert_eq!(map["password"], "p/w");
        assert_eq!(map["host"], "api.example.com");
        assert_eq!(map["port"], 8443);
        assert_eq!(map["schema"], "my schema");
        assert_eq!(
            map["extra"],
            serde_json::json!({"a": "1", "b": "x y", "c": ""})
        );
    }

    #[test]
    fn uri_host_with_own_scheme_keeps_path_as_schema() {
        let (value, warnings) = parse_uri("openai://https://api.example.com/v1").unwrap();
        assert_eq!(value["host"], "https://api.example.com");
        assert_eq!(value["schema"], "v1");
        assert_eq!(warnings.len(), 1);
        assert!(parse_uri("openai://:k@https://api.example.com").is_err());
    }

    #[test]
    fn uri_errors_do_not_quote_the_uri() {
        let error = parse_uri("openai://:sk-secret-value").unwrap_err();
        assert!(error.contains("port"), "{error}");
        assert!(!error.contains("sk-secret"), "{error}");
        assert!(parse_uri("no separator").is_err());
        assert!(parse_uri("a://b://c://d").is_err());
    }

    #[test]
    fn uri_conn_type_is_normalised() {
        assert_eq!(uri("Postgresql://h")["conn_type"], "postgres");
        assert_eq!(uri("google-cloud://h")["conn_type"], "google_cloud");
    }
}

/// The first connection id that a JSON connections file defines twice, with the lines of both
/// definitions. serde_json keeps the last of two equal keys in silence, so the top-level keys are
/// read here from the text: Airflow's loader reads the same file, and the two would disagree.
pub(crate) fn duplicate_json_id(text: &str) -> Option<(String, usize, usize)> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let (mut depth, mut line, mut chars) = (0usize, 1usize, text.char_indices().peekable());
    // Whether the next string at depth 1 is a key (after `{` or `,`), not a value.
    let mut expect_key = false;
    while let Some((start, c)) = chars.next() {
        match c {
            '\n' => line += 1,
            '{' | '[' => {
                depth += 1;
                expect_key = depth == 1 && c == '{';
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect_key = true,
            '"' => {
                let string_line = line;
                let mut end = start + 1;
                let mut escaped = false;
                for (index, c) in chars.by_ref() {
                    end = index + c.len_utf8();
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        '\n' => line += 1,
                        _ => {}
                    }
                }
                if depth == 1 && expect_key {
                    expect_key = false;
                    let key: String = serde_json::from_str(text.get(start..end)?).ok()?;
                    if let Some(first) = seen.insert(key.clone(), string_line) {
                        return Some((key, first, string_line));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// [`duplicate_json_id`] as the error every connections file format gives.
pub(crate) fn refuse_duplicate_json_ids(text: &str, label: &str) -> Result<(), LoadError> {
    match duplicate_json_id(text) {
        Some((conn_id, first, again)) => Err(LoadError::ConnectionsFile {
            label: label.to_owned(),
            message: format!(
                "connection id {conn_id:?} is defined on line {first} and again on line {again}; \
                 only one of them would be read"
            ),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod duplicate_tests {
    use super::*;

    #[test]
    fn duplicate_top_level_ids_are_found_with_both_lines() {
        assert_eq!(
            duplicate_json_id("{\"a\": {\"a\": 1, \"x\": \"a\"},\n \"b\": [\"a\"],\n \"a\": {}}"),
            Some(("a".to_owned(), 1, 3))
        );
        assert_eq!(
            duplicate_json_id("{\"\\u0061\": 1,\n\"a\": 2}"),
            Some(("a".to_owned(), 1, 2))
        );
        assert_eq!(
            duplicate_json_id("{\"a\": {\"b\": 1, \"b\": 2}, \"c\": \"a\"}"),
            None
        );
    }
}
