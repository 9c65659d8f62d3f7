//! Where each JSON value sits in the source text: pointer → offset, offset → line and column.
//!
//! `serde_json` gives values without positions, so a second, position-keeping parse with
//! `jsonc-parser` (all JSON5 and JSONC leniencies off) maps pointers back to the text. It also finds
//! duplicate keys, which `serde_json` silently collapses to the last one.

use std::collections::HashMap;

use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

use crate::keys::{Shown, shown_at};
use crate::pointer::child;
use crate::redact::may_hold_credential;

/// Byte ranges (start inclusive, end exclusive) of a value and of its key.
#[derive(Clone, Copy, Debug)]
struct Span {
    key: Option<(usize, usize)>,
    value: (usize, usize),
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
            positions.walk(&root, String::new(), None, Shown::Never);
        }
        positions
    }

    fn walk(
        &mut self,
        value: &Value<'_>,
        pointer: String,
        key: Option<(usize, usize)>,
        shown: Shown,
    ) {
        self.spans.insert(
            pointer.clone(),
            Span {
                key,
                value: (value.start(), value.end()),
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
                    let key_range = (property.name.start(), property.name.end());
                    let child_pointer = child(&pointer, &name);
                    if seen.insert(name.clone(), ()).is_some() {
                        self.duplicates.push(Duplicate {
                            pointer: child_pointer.clone(),
                            key: name.clone(),
                        });
                    }
                    // Values are masked unless the key table says the key is harmless here.
                    let shown = shown_at(&child_pointer);
                    self.walk(&property.value, child_pointer, Some(key_range), shown);
                }
            }
            Value::Array(array) => {
                for (index, element) in array.elements.iter().enumerate() {
                    self.walk(
                        element,
                        child(&pointer, &index.to_string()),
                        None,
                        Shown::Never,
                    );
                }
            }
            Value::StringLit(literal)
                if shown != Shown::Any || may_hold_credential(&literal.value) =>
            {
                self.masked.push((literal.range.start, literal.range.end));
            }
            // A numeric or boolean password is as secret as a string one.
            Value::NumberLit(number) if shown == Shown::Never => {
                self.masked.push((number.range.start, number.range.end));
            }
            Value::BooleanLit(boolean) if shown == Shown::Never => {
                self.masked.push((boolean.range.start, boolean.range.end));
            }
            _ => {}
        }
    }

    /// The offset of the key (if asked and it has one) or the value at `pointer`, or of its
    /// nearest indexed ancestor.
    pub fn offset(&self, pointer: &str, want_key: bool) -> usize {
        self.range(pointer, want_key).0
    }

    /// The byte range (end exclusive) of the key (if asked and it has one) or the value at
    /// `pointer`. A pointer that is not in the document (a missing key) gets the first
    /// character of its nearest ancestor's value: the finding is about that place, not about
    /// the whole ancestor.
    pub fn range(&self, pointer: &str, want_key: bool) -> (usize, usize) {
        let mut current = pointer;
        loop {
            if let Some(span) = self.spans.get(current) {
                if current != pointer {
                    let start = span.value.0;
                    return (start, start + 1);
                }
                return match (want_key, span.key) {
                    (true, Some(key)) => key,
                    _ => span.value,
                };
            }
            match current.rfind('/') {
                Some(slash) => current = &current[..slash],
                None => return (0, 0),
            }
        }
    }

    /// Byte ranges of the values that must not be shown, in document order.
    pub(crate) fn masked(&self) -> &[(usize, usize)] {
        &self.masked
    }
}

/// Converts byte offsets to 1-based lines and columns (columns count characters).
///
/// Both lookups are binary searches over tables built in one pass, so placing every finding of
/// a document costs time linear in its size, even when thousands of findings share one long line.
#[derive(Debug)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    /// `(byte offset, extra bytes so far)` for each character longer than one byte: where it
    /// starts, and how many bytes beyond one per character the text holds up to its end.
    wide: Vec<(usize, usize)>,
}

impl LineIndex {
    /// Indexes the line starts and the multi-byte characters of `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(index, _)| index + 1));
        let mut wide = Vec::new();
        let mut extra = 0;
        for (index, character) in text.char_indices() {
            if character.len_utf8() > 1 {
                extra += character.len_utf8() - 1;
                wide.push((index, extra));
            }
        }
        LineIndex { line_starts, wide }
    }

    /// Bytes beyond one per character in `text[..offset]`.
    fn extra_before(&self, offset: usize) -> usize {
        let count = self.wide.partition_point(|(start, _)| *start < offset);
        count.checked_sub(1).map_or(0, |last| self.wide[last].1)
    }

    /// The 1-based line and column of `offset` in `text`.
    pub fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.line_starts.partition_point(|start| *start <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let column = if text.is_char_boundary(offset) {
            offset - start - (self.extra_before(offset) - self.extra_before(start)) + 1
        } else {
            1
        };
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
    fn columns_count_characters_not_bytes() {
        let text = "{\"é€\": 1, \"a\": \"😀\", \"b\": 2}\n  \"ü\": 3";
        let lines = LineIndex::new(text);
        for (offset, _) in text.char_indices() {
            let start = text[..offset].rfind('\n').map_or(0, |newline| newline + 1);
            let expected = text[start..offset].chars().count() + 1;
            let line = text[..offset].matches('\n').count() + 1;
            assert_eq!(
                lines.line_column(text, offset),
                (line, expected),
                "{offset}"
            );
        }
        assert_eq!(lines.line_column(text, text.len()), (2, 9));
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
