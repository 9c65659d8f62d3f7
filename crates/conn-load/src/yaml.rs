//! YAML: one pass over saphyr-parser's events builds the JSON value of the document and the
//! position of every key and value, so values and positions cannot disagree. Scalars resolve by
//! the YAML 1.2 core schema (as the YAML reader before this one did: `yes` is a string, `0123` a
//! string, `0x1f` an integer); a `!!int`, `!!float`, `!!bool`, `!!null` or `!!str` tag is obeyed,
//! and a value that does not match its tag is an error that names the key, never the value.

use std::collections::HashMap;

use conn_schema::pointer::child;
use conn_schema::{Location, escape_controls};
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Value};

use crate::positions::Spot;
use crate::scalars::{json_float, value_free};

/// Deeper nesting is refused (as JSON is by serde_json), so nothing downstream recurses without
/// bound.
const MAX_DEPTH: usize = 128;

/// At most this many values may be copied in by aliases, so a few lines of anchors cannot
/// expand into billions of values.
const MAX_ALIASED_VALUES: usize = 100_000;

/// Why a YAML text is not a document: where, and a message that quotes no value.
#[derive(Debug)]
pub(crate) struct YamlError {
    pub(crate) location: Option<Location>,
    pub(crate) message: String,
}

/// A YAML document as JSON, and the position of each key and value by JSON pointer.
pub(crate) struct YamlDocument {
    pub(crate) value: Value,
    pub(crate) spans: HashMap<String, Spot>,
}

/// A 1-based `(line, column)` and the `(line, column)` of the character after it.
type Range = ((usize, usize), (usize, usize));

/// A node being built: a collection still open.
enum Open {
    Mapping {
        map: Map<String, Value>,
        /// Where each key of `map` was given, so that a second one can name both places.
        keys_at: HashMap<String, (usize, usize)>,
        /// The entry's key once read, with where it starts and ends: `Some(None)` for a key with
        /// no JSON form (a collection), whose entry is dropped.
        key: Option<Option<(String, Range)>>,
    },
    Sequence(Vec<Value>),
}

struct Frame {
    open: Open,
    /// The collection's pointer; `None` inside a mapping key.
    pointer: Option<String>,
    /// The anchor to record the finished collection under (0 for none).
    anchor: usize,
    /// Values in the collection, for the alias budget.
    size: usize,
}

/// Reads a YAML text holding at most one document (an empty text is `null`).
pub(crate) fn read(text: &str) -> Result<YamlDocument, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|error| YamlError {
            location: Some(Location::point(
                error.marker().line(),
                error.marker().col() + 1,
            )),
            message: value_free(error.info()),
        })?;
        builder.event(event, span)?;
    }
    Ok(YamlDocument {
        value: builder.root.unwrap_or(Value::Null),
        spans: builder.spans,
    })
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    documents: usize,
    anchors: HashMap<usize, (Value, usize)>,
    aliased: usize,
    spans: HashMap<String, Spot>,
    /// Where the last scalar, alias or flow bracket ended: a block collection ends there (its
    /// end event sits at the next token, lines later).
    last_end: (usize, usize),
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let at = (span.start.line(), span.start.col() + 1);
        let end = (span.end.line(), span.end.col() + 1);
        let error = |message: String| YamlError {
            location: Some(Location::point(at.0, at.1)),
            message,
        };
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(error(
                        "the file holds more than one YAML document; a connection file holds one"
                            .to_owned(),
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.last_end = end;
                self.place(at, Some(end));
                let value = scalar(&text, style, tag.as_deref()).map_err(|expected| {
                    let subject = match self.key_name() {
                        Some(key) => format!("the value of \"{}\"", escape_controls(key)),
                        None => "a value".to_owned(),
                    };
                    error(format!(
                        "{subject} does not match its type or tag: expected {expected}"
                    ))
                })?;
                self.finish(value, 1, anchor, (at, end))?;
            }
            Event::Alias(anchor) => {
                self.last_end = end;
                self.place(at, Some(end));
                let Some((value, size)) = self.anchors.get(&anchor).cloned() else {
                    return Err(error(
                        "an alias names no anchor defined before it".to_owned(),
                    ));
                };
                self.aliased += size;
                if self.aliased > MAX_ALIASED_VALUES {
                    return Err(error(format!(
                        "the aliases expand to more than {MAX_ALIASED_VALUES} values"
                    )));
                }
                self.finish(value, size, 0, (at, end))?;
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(error(format!(
                        "the document nests deeper than {MAX_DEPTH} levels"
                    )));
                }
                let pointer = self.place(at, None);
                let open = match event {
                    Event::MappingStart(..) => Open::Mapping {
                        map: Map::new(),
                        keys_at: HashMap::new(),
                        key: None,
                    },
                    _ => Open::Sequence(Vec::new()),
                };
                self.stack.push(Frame {
                    open,
                    pointer,
                    anchor,
                    size: 1,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                // A flow collection's end event is its closing bracket.
                if end > at {
                    self.last_end = end;
                }
                if let Some(frame) = self.stack.pop() {
                    if let Some(spot) = frame.pointer.as_ref().and_then(|p| self.spans.get_mut(p)) {
                        spot.value_end = self.last_end;
                    }
                    let value = match frame.open {
                        Open::Mapping { map, .. } => Value::Object(map),
                        Open::Sequence(items) => Value::Array(items),
                    };
                    self.finish(value, frame.size, frame.anchor, (at, end))?;
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
        Ok(())
    }

    /// Records where the node starting at `at` sits (and ends, for a scalar; a collection's end
    /// is recorded when it closes), and returns its pointer (`None` for a mapping key or
    /// anything inside one).
    fn place(&mut self, at: (usize, usize), end: Option<(usize, usize)>) -> Option<String> {
        let (pointer, key) = match self.stack.last() {
            None => (Some(String::new()), None),
            Some(frame) => match (&frame.open, &frame.pointer) {
                (_, None) => (None, None),
                (Open::Sequence(items), Some(parent)) => {
                    (Some(child(parent, &items.len().to_string())), None)
                }
                (
                    Open::Mapping {
                        key: None | Some(None),
                        ..
                    },
                    Some(_),
                ) => (None, None),
                (
                    Open::Mapping {
                        key: Some(Some((name, key_range))),
                        ..
                    },
                    Some(parent),
                ) => (Some(child(parent, name)), Some(*key_range)),
            },
        };
        if let Some(pointer) = &pointer {
            self.spans.insert(
                pointer.clone(),
                Spot {
                    key: key.map(|(start, _)| start),
                    value: at,
                    key_end: key.map(|(_, end)| end),
                    value_end: end.unwrap_or((0, 0)),
                },
            );
        }
        pointer
    }

    /// The key whose value is being read, when the innermost open collection is a mapping.
    fn key_name(&self) -> Option<&str> {
        match &self.stack.last()?.open {
            Open::Mapping {
                key: Some(Some((name, _))),
                ..
            } => Some(name),
            _ => None,
        }
    }

    /// Puts a finished node (`size` values) into its parent, or makes it the document.
    fn finish(
        &mut self,
        value: Value,
        size: usize,
        anchor: usize,
        range: Range,
    ) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), size));
        }
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        frame.size += size;
        match &mut frame.open {
            Open::Sequence(items) => items.push(value),
            Open::Mapping { map, keys_at, key } => match key.take() {
                None => *key = Some(key_text(&value).map(|name| (name, range))),
                Some(None) => {}
                Some(Some((name, (key_at, key_end)))) => {
                    // YAML loaders (Airflow's `yaml.safe_load` among them) keep the last value in
                    // silence; a connection id or key given twice is refused with both places.
                    if let Some(first) = keys_at.get(&name) {
                        return Err(YamlError {
                            location: Some(Location::span(key_at, key_end)),
                            message: format!(
                                "duplicate key \"{}\" in a mapping, given on line {}, column {} \
                                 and again on line {}, column {}; only one of them would be read",
                                escape_controls(&name),
                                first.0,
                                first.1,
                                key_at.0,
                                key_at.1
                            ),
                        });
                    }
                    keys_at.insert(name.clone(), key_at);
                    map.insert(name, value);
                }
            },
        }
        Ok(())
    }
}

/// A mapping key as a JSON object key: a scalar by its resolved text; a collection has no JSON
/// form (no connection key is one).
fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(text) => Some(text.clone()),
        Value::Null => Some("null".to_owned()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// A scalar's value: a core-schema tag decides its type (or the scalar does not match it: the
/// error is what was expected); a quoted scalar is a string; a plain one is resolved.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, &'static str> {
    if let Some(tag) = tag.filter(|tag| tag.is_yaml_core_schema()) {
        let resolved = resolve(text);
        return match tag.suffix.as_str() {
            "str" => Ok(Value::String(text.to_owned())),
            "null" => resolved.filter(Value::is_null).ok_or("null"),
            "bool" => resolved.filter(Value::is_boolean).ok_or("a boolean"),
            "int" => resolved
                .filter(|value| value.is_i64() || value.is_u64())
                .ok_or("an integer"),
            "float" => match resolved {
                Some(Value::Number(number)) => Ok(json_float(number.as_f64().unwrap_or(f64::NAN))),
                // `.nan` and `.inf` have no JSON form: `null`, which validation rejects.
                Some(Value::Null) if is_special_float(text) => Ok(Value::Null),
                _ => Err("a floating-point number"),
            },
            _ => Ok(plain(text, style)),
        };
    }
    Ok(plain(text, style))
}

fn plain(text: &str, style: ScalarStyle) -> Value {
    match style {
        ScalarStyle::Plain => resolve(text).unwrap_or_else(|| Value::String(text.to_owned())),
        _ => Value::String(text.to_owned()),
    }
}

/// A plain scalar's value when it is not a string: null, a boolean, an integer or a float
/// (`.inf` and `.nan`, which JSON cannot hold, become `null`).
fn resolve(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    if let Some(integer) = integer(text) {
        return Some(integer);
    }
    if is_zero_padded(text) {
        return None;
    }
    if is_special_float(text) {
        return Some(Value::Null);
    }
    decimal_float(text).map(json_float)
}

/// `[-+]?[0-9]+` (without a leading zero, which YAML readers disagree on: kept a string),
/// `0x[0-9a-fA-F]+` or `0o[0-7]+`; too large for 64 bits, a float.
fn integer(text: &str) -> Option<Value> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    for (prefix, radix) in [("0x", 16), ("0o", 8)] {
        if let Some(rest) = digits.strip_prefix(prefix) {
            if rest.is_empty() || !rest.chars().all(|c| c.is_digit(radix)) {
                return None;
            }
            let magnitude = u64::from_str_radix(rest, radix).ok()?;
            return signed(negative, magnitude);
        }
    }
    if digits.is_empty()
        || !digits.bytes().all(|byte| byte.is_ascii_digit())
        || is_zero_padded(text)
    {
        return None;
    }
    match digits.parse::<u64>() {
        Ok(magnitude) => signed(negative, magnitude),
        Err(_) => decimal_float(text).map(json_float),
    }
}

fn signed(negative: bool, magnitude: u64) -> Option<Value> {
    if !negative {
        return Some(Value::from(magnitude));
    }
    if magnitude == 0 {
        return Some(Value::from(0));
    }
    let value = 0i64.checked_sub_unsigned(magnitude)?;
    Some(Value::from(value))
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the core schema's float.
fn decimal_float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok = all_digits(whole)
        && fraction.is_none_or(all_digits)
        && (!whole.is_empty() || fraction.is_some_and(|fraction| !fraction.is_empty()));
    let exponent_ok = exponent.is_none_or(|exponent| {
        let digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !digits.is_empty() && all_digits(digits)
    });
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    text.parse::<f64>().ok()
}

/// Digits after a leading zero (`0123`, `-007`): an id more often than a number.
fn is_zero_padded(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|byte| byte.is_ascii_digit())
}

fn is_special_float(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn value(text: &str) -> Value {
        match read(text) {
            Ok(document) => document.value,
            Err(error) => panic!("{text:?} is a document: {error:?}"),
        }
    }

    fn refused(text: &str) -> YamlError {
        match read(text) {
            Ok(document) => panic!("{text:?} is refused, not {}", document.value),
            Err(error) => error,
        }
    }

    #[test]
    fn plain_scalars_resolve_by_the_core_schema() {
        let document = value(concat!(
            "n: ~\nempty:\nt: True\nf: false\nyes: yes\ni: -42\nbig: 18446744073709551615\n",
            "hex: 0x1f\noctal: 0o17\nzero: 0123\nfloat: 2.5e1\nhalf: .5\ninf: .inf\n",
            "quoted: \"12\"\nversion: 1.2.3\n"
        ));
        assert_eq!(
            document,
            json!({
                "n": null, "empty": null, "t": true, "f": false, "yes": "yes", "i": -42,
                "big": 18_446_744_073_709_551_615_u64, "hex": 31, "octal": 15, "zero": "0123",
                "float": 25.0, "half": 0.5, "inf": null, "quoted": "12", "version": "1.2.3"
            })
        );
        assert_eq!(value(""), Value::Null);
        assert_eq!(
            value("1: one\nnull: two\n"),
            json!({"1": "one", "null": "two"})
        );
    }

    #[test]
    fn tags_decide_the_type_and_a_mismatch_names_the_key_not_the_value() {
        assert_eq!(
            value("a: !!str 12\nb: !!int \"7\"\nc: !!float 1\nd: !custom x\n"),
            json!({"a": "12", "b": 7, "c": 1.0, "d": "x"})
        );
        for tag in ["!!int", "!!float", "!!bool", "!!null"] {
            let error = refused(&format!("conn_type: openai\npassword: {tag} sk-SECRET\n"));
            assert!(
                error
                    .message
                    .starts_with("the value of \"password\" does not match its type or tag"),
                "{tag}: {}",
                error.message
            );
            assert!(!error.message.contains("sk-SECRET"), "{}", error.message);
            assert_eq!(error.location.map(|at| (at.line, at.column)), Some((2, 11)));
        }
    }

    #[test]
    fn anchors_aliases_and_their_budget() {
        assert_eq!(
            value("base: &b {x: 1}\ncopy: *b\nlist: [&s str, *s]\n"),
            json!({"base": {"x": 1}, "copy": {"x": 1}, "list": ["str", "str"]})
        );
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in b'b'..=b'h' {
            let previous = (level - 1) as char;
            let level = level as char;
            let items = vec![format!("*{previous}"); 10].join(", ");
            bomb.push_str(&format!("{level}: &{level} [{items}]\n"));
        }
        let error = refused(&bomb);
        assert!(
            error.message.contains("aliases expand"),
            "{}",
            error.message
        );
    }

    #[test]
    fn what_is_not_one_document_is_refused_with_its_place() {
        let error = refused("a: 1\n---\nb: 2\n");
        assert_eq!(error.location.map(|at| at.line), Some(2));
        let error = refused("a: 1\na: 2\n");
        assert_eq!(
            error.message,
            "duplicate key \"a\" in a mapping, given on line 1, column 1 and again on line 2, \
             column 1; only one of them would be read"
        );
        assert_eq!(error.location, Some(Location::span((2, 1), (2, 2))));
        let error = refused(&format!("{}1{}", "[".repeat(200), "]".repeat(200)));
        assert!(
            error.message.contains("deeper than 128"),
            "{}",
            error.message
        );
        let error = refused("auth_type: [api_key\n");
        assert!(error.location.is_some_and(|at| at.line >= 1));
        let complex = value("? [a, b]\n: dropped\nkept: 1\n");
        assert_eq!(complex, json!({"kept": 1}));
    }

    #[test]
    fn spans_start_and_end_at_keys_scalars_and_collections() {
        let spans = read("a:\n  b: \"xy\"\n  c:\n    - x\n    - {d: 2}\nz: 1\n")
            .expect("valid YAML")
            .spans;
        assert_eq!(spans["/a/b"].key, Some((2, 3)));
        assert_eq!(spans["/a/b"].key_end, Some((2, 4)));
        assert_eq!(spans["/a/b"].value, (2, 6));
        assert_eq!(spans["/a/b"].value_end, (2, 10));
        assert_eq!(spans["/a/c/1"].value, (5, 7));
        assert_eq!(spans["/a/c/1"].value_end, (5, 13));
        assert_eq!(spans["/a/c/1/d"].key, Some((5, 8)));
        // A block collection ends where its last value does, not at the next key.
        assert_eq!(spans["/a/c"].value_end, (5, 13));
        assert_eq!(spans["/a"].value_end, (5, 13));
        assert_eq!(spans["/z"].value_end, (6, 5));
    }
}
