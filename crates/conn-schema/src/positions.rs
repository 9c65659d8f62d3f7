//! Where each JSON value sits in the source text: pointer → offset, offset → line and column.
//!
//! `serde_json` gives values without positions, so a second, position-keeping parse with
//! `jsonc-parser` (all JSON5 and JSONC leniencies off) maps pointers back to the text. It also finds
//! duplicate keys, which `serde_json` silently collapses to the last one.

use std::collections::HashMap;

use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

use crate::pointer::child;
use crate::redact::may_hold_credential;

/// Keys whose values are safe to show in a snippet, at the places in [`SHOWN_VALUE_PLACES`]. Every
/// other value (passwords of any type, API keys, header values, the host, anything under an
/// unknown key) is masked, because a snippet of a mistyped key's line would otherwise print the
/// secret beside it; so is a shown value that is a URL with user info, a query or a fragment.
const SHOWN_VALUE_KEYS: &[&str] = &[
    "$schema",
    "auth_type",
    "workload_identity_provider",
    "token_type",
    "identity_provider_id",
    "service_account_id",
    "token_file_path",
    "resource",
    "client_id",
    "object_id",
    "msi_res_id",
    "api_version",
    "audience",
    "token_provider",
    "base_url",
    "organization",
    "project",
    "timeout",
    "max_retries",
    "refresh_buffer_seconds",
    "token_command_timeout_seconds",
    "conn_type",
    "login",
    "port",
    "schema",
    "description",
];

/// The objects whose keys [`SHOWN_VALUE_KEYS`] names: the connection, its `extra` (or a bare
/// `extra` document) and `openai_client_kwargs`. A key of the same name anywhere else (under
/// `default_headers`, say) is masked.
const SHOWN_VALUE_PLACES: &[&str] = &[
    "",
    "/extra",
    "/openai_client_kwargs",
    "/extra/openai_client_kwargs",
];

#[derive(Clone, Copy, Debug)]
struct Span {
    key: Option<usize>,
    value: usize,
}

/// A duplicate key. Its pointer resolves to the last occurrence, the one `serde_json` keeps.
#[derive(Clone, Debug)]
pub(crate) struct Duplicate {
    pub(crate) pointer: String,
    pub(crate) key: String,
}

/// Positions of every value of one document.
#[derive(Debug, Default)]
pub struct Positions {
    spans: HashMap<String, Span>,
    masked: Vec<(usize, usize)>,
    pub(crate) duplicates: Vec<Duplicate>,
}

impl Positions {
    /// Indexes `text`, which `serde_json` has already accepted. If the position parser disagrees
    /// (it should not), every pointer falls back to the start of the text.
    pub fn index(text: &str) -> Positions {
        let options = ParseOptions {
            allow_comments: false,
            allow_loose_object_property_names: false,
            allow_trailing_commas: false,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
            allow_bare_decimal_point_numbers: false,
            allow_non_finite_numbers: false,
            allow_extended_string_escapes: false,
        };
        let mut positions = Positions::default();
        if let Ok(parsed) = parse_to_ast(text, &CollectOptions::default(), &options)
            && let Some(root) = parsed.value
        {
            positions.walk(&root, String::new(), None, true);
        }
        positions
    }

    fn walk(&mut self, value: &Value<'_>, pointer: String, key: Option<usize>, shown: bool) {
        self.spans.insert(
            pointer.clone(),
            Span {
                key,
                value: value.start(),
            },
        );
        match value {
            Value::Object(object) => {
                let mut seen: HashMap<String, ()> = HashMap::new();
                for property in &object.properties {
                    let name = match &property.name {
                        ObjectPropName::String(literal) => literal.value.to_string(),
                        ObjectPropName::Word(word) => word.value.to_owned(),
                    };
                    let key_start = property.name.start();
                    let child_pointer = child(&pointer, &name);
                    if seen.insert(name.clone(), ()).is_some() {
                        self.duplicates.push(Duplicate {
                            pointer: child_pointer.clone(),
                            key: name.clone(),
                        });
                    }
                    let shown = SHOWN_VALUE_KEYS.contains(&name.as_str())
                        && SHOWN_VALUE_PLACES.contains(&pointer.as_str());
                    self.walk(&property.value, child_pointer, Some(key_start), shown);
                }
            }
            Value::Array(array) => {
                for (index, element) in array.elements.iter().enumerate() {
                    self.walk(element, child(&pointer, &index.to_string()), None, false);
                }
            }
            Value::StringLit(literal) if !shown || may_hold_credential(&literal.value) => {
                self.masked.push((literal.range.start, literal.range.end));
            }
            // A numeric or boolean password is as secret as a string one.
            Value::NumberLit(number) if !shown => {
                self.masked.push((number.range.start, number.range.end));
            }
            Value::BooleanLit(boolean) if !shown => {
                self.masked.push((boolean.range.start, boolean.range.end));
            }
            _ => {}
        }
    }

    /// The offset of the key (if asked and it has one) or the value at `pointer`, or of its
    /// nearest indexed ancestor.
    pub fn offset(&self, pointer: &str, want_key: bool) -> usize {
        let mut current = pointer;
        loop {
            if let Some(span) = self.spans.get(current) {
                return match (want_key && current == pointer, span.key) {
                    (true, Some(key)) => key,
                    _ => span.value,
                };
            }
            match current.rfind('/') {
                Some(slash) => current = &current[..slash],
                None => return 0,
            }
        }
    }

    /// Byte ranges of string literals that must not be shown.
    pub(crate) fn masked(&self) -> &[(usize, usize)] {
        &self.masked
    }
}

/// Converts byte offsets to 1-based lines and columns (columns count characters).
#[derive(Debug)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(index, _)| index + 1));
        LineIndex { line_starts }
    }

    /// The 1-based line and column of `offset` in `text`.
    pub fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|start| *start <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let column = text
            .get(start..offset.min(text.len()))
            .map_or(1, |prefix| prefix.chars().count() + 1);
        (line.max(1), column)
    }

    /// The byte range of the 1-based `line`, without its line break.
    pub(crate) fn line_range(&self, text: &str, line: usize) -> (usize, usize) {
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let end = self
            .line_starts
            .get(line)
            .map_or(text.len(), |next| next.saturating_sub(1));
        let end = if text[start..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        (start, end.max(start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_values_and_duplicates() {
        let text = "{\n  \"a\": {\"b\": 1},\n  \"a\": 2\n}";
        let positions = Positions::index(text);
        let lines = LineIndex::new(text);
        assert_eq!(
            lines.line_column(text, positions.offset("/a/b", true)),
            (2, 9)
        );
        assert_eq!(
            lines.line_column(text, positions.offset("/a/b", false)),
            (2, 14)
        );
        assert_eq!(
            lines.line_column(text, positions.offset("/a/zz", true)),
            (3, 8)
        );
        assert_eq!(positions.duplicates.len(), 1);
        let duplicate = &positions.duplicates[0].pointer;
        assert_eq!(
            lines.line_column(text, positions.offset(duplicate, true)),
            (3, 3)
        );
    }

    #[test]
    fn masks_non_string_secrets_the_host_and_urls_with_credentials() {
        let text = r#"{"password": 12345678, "host": "https://api.example.com", "extra": {"base_url": "https://h/v1?key=sk-1", "audience": "aud", "openai_client_kwargs": {"default_headers": {"description": "sk-header"}}}}"#;
        let positions = Positions::index(text);
        let masked: Vec<&str> = positions
            .masked()
            .iter()
            .map(|(start, end)| &text[*start..*end])
            .collect();
        assert_eq!(
            masked,
            [
                "12345678",
                "\"https://api.example.com\"",
                "\"https://h/v1?key=sk-1\"",
                "\"sk-header\""
            ]
        );
    }

    #[test]
    fn masks_unknown_values() {
        let text = r#"{"api_kye": "sk-secret", "auth_type": "x"}"#;
        let positions = Positions::index(text);
        assert_eq!(positions.masked().len(), 1);
        let (start, end) = positions.masked()[0];
        assert_eq!(&text[start..end], "\"sk-secret\"");
    }
}
