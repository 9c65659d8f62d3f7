//! `validate`: from source text to a report of positioned errors and warnings, and its rendering.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::code::Code;
pub use crate::code::Severity;
use crate::model::Connection;
use crate::parse::{Anchor, Parser};
use crate::positions::{LineIndex, Positions};
use crate::profile::{self, Profile};
use crate::redact::escape_controls;

/// What a document holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DocumentKind {
    /// Decide from the content: an object with `conn_type` or `extra` is a whole connection.
    #[default]
    Auto,
    /// A bare `extra` object.
    Extra,
    /// A whole connection in Airflow's JSON form.
    Connection,
}

impl DocumentKind {
    /// Resolves `Auto` for a parsed document.
    pub fn detect(self, value: &Value) -> DocumentKind {
        match self {
            DocumentKind::Auto => match value {
                Value::Object(map)
                    if map.contains_key("conn_type") || map.contains_key("extra") =>
                {
                    DocumentKind::Connection
                }
                _ => DocumentKind::Extra,
            },
            resolved => resolved,
        }
    }
}

/// One problem in a document, positioned in its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The stable code of the finding, such as `unknown-key`.
    pub code: Code,
    /// JSON pointer of the value or key concerned (`""` is the whole document).
    pub pointer: String,
    /// Where the value came from when not from the document's file, such as
    /// `env OPENAI_CONN_EXTRA__AUDIENCE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Where in the text, when the finding has a place in it (not one about an environment
    /// variable, or about a source whose positions are unknown).
    pub location: Option<Location>,
    /// What is wrong and what was expected. Never holds a secret value.
    pub message: String,
    /// A likely fix, when one is obvious.
    pub suggestion: Option<String>,
}

/// The outcome of validating one document: its findings, and the resolved connection exactly
/// when none of them is an error (the methods that add findings keep that so). Debug leaves out
/// the source text, which may hold secrets.
#[derive(Debug)]
pub struct Report {
    /// Every finding, sorted by position.
    diagnostics: Vec<Diagnostic>,
    kind: DocumentKind,
    /// `None` whenever a diagnostic is an error.
    connection: Option<Connection>,
    well_formed: bool,
    source: MaskedText,
}

/// A document's text and the byte ranges of the values its snippets mask. Debug shows the
/// length only: the text may hold secrets.
#[derive(Default)]
struct MaskedText {
    text: String,
    /// Sorted by start (the document's order); found when the first snippet needs them (a
    /// report without findings never does).
    masked: std::sync::OnceLock<Vec<(usize, usize)>>,
}

impl std::fmt::Debug for MaskedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaskedText")
            .field("bytes", &self.text.len())
            .finish_non_exhaustive()
    }
}

impl Report {
    /// Every finding, sorted by position (findings added later with [`Report::extend`] follow).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Every finding, taken out of the report.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    /// The kind the document was read as.
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// Whether the document was well-formed JSON (so the schema could judge it too).
    pub fn well_formed(&self) -> bool {
        self.well_formed
    }

    /// The resolved connection; `None` when any diagnostic is an error.
    pub fn connection(&self) -> Option<&Connection> {
        self.connection.as_ref()
    }

    /// The resolved connection, taken out of the report; `None` when any diagnostic is an error.
    pub fn into_connection(self) -> Option<Connection> {
        self.connection
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|diagnostic| diagnostic.severity == Severity::Error)
    }

    /// Adds findings that come from outside the document (a loader's warnings, the process
    /// environment); the connection is dropped if any of them is an error.
    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.diagnostics.extend(diagnostics);
        if self.has_errors() {
            self.connection = None;
        }
    }

    /// Renders the report like a compiler: `FILE:LINE:COL: error[CODE]: message`, a snippet with a caret
    /// under the position (secret-bearing string values masked), and the suggestion.
    pub fn render(&self, file: &str) -> String {
        // Most reports of a large run have no finding: nothing to index or escape.
        if self.diagnostics.is_empty() {
            return String::new();
        }
        let lines = LineIndex::new(&self.source.text);
        let file = escape_controls(file);
        let mut shown = HashMap::new();
        let mut out = String::new();
        for diagnostic in &self.diagnostics {
            let severity = diagnostic.severity.as_str();
            let code = diagnostic.code;
            // Messages name keys, which may hold control characters: escaped, one line each.
            let message = escape_controls(&diagnostic.message);
            match (&diagnostic.origin, diagnostic.location) {
                (Some(origin), _) => {
                    let _ = writeln!(
                        out,
                        "{}: {severity}[{code}]: {message}",
                        escape_controls(origin)
                    );
                }
                (None, None) => {
                    let _ = writeln!(out, "{file}: {severity}[{code}]: {message}");
                }
                (None, Some(Location { line, column, .. })) => {
                    let _ = writeln!(out, "{file}:{line}:{column}: {severity}[{code}]: {message}");
                }
            }
            let snippet = match (&diagnostic.origin, diagnostic.location) {
                (None, Some(location)) => self
                    .snippet(&lines, &mut shown, location)
                    .map(|(snippet, caret, width)| (location.line, snippet, caret, width)),
                _ => None,
            };
            if let Some((line, snippet, caret, width)) = snippet {
                let gutter = line.to_string();
                let pad = " ".repeat(gutter.len());
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{gutter} | {snippet}");
                let _ = writeln!(out, "{pad} | {}{}", " ".repeat(caret), "^".repeat(width));
            }
            if let Some(suggestion) = &diagnostic.suggestion {
                let _ = writeln!(out, "  = help: {}", escape_controls(suggestion));
            }
        }
        out
    }

    /// The line of `diagnostic`, masked and cut to a window around its column, the caret's column
    /// in it, and how many characters the carets underline: the key or value the finding is
    /// about, to the end of the line when it goes on (a masked value counts as its `"…"`).
    /// Each line is masked once per render (`shown` caches it), so a line with thousands of
    /// findings costs its length once, not once per finding.
    fn snippet(
        &self,
        lines: &LineIndex,
        shown: &mut HashMap<usize, Option<ShownLine>>,
        location: Location,
    ) -> Option<(String, usize, usize)> {
        const WINDOW: usize = 60;
        let line = location.line;
        let shown = shown
            .entry(line)
            .or_insert_with(|| self.source.shown_line(lines, line))
            .as_ref()?;
        let caret = shown.index_of(location.column);
        if caret == 0 && shown.characters.iter().all(|c| c.is_whitespace()) {
            return None;
        }
        let end = if location.end_line > line {
            shown.characters.len()
        } else if location.end_column > location.column {
            shown.index_of(location.end_column)
        } else {
            caret + 1
        };
        let characters = &shown.characters;
        let from = caret.saturating_sub(WINDOW);
        let to = (caret + WINDOW).min(characters.len());
        let mut window: String = characters[from..to].iter().collect();
        let mut caret_in_window = caret - from;
        let width = end.min(to).saturating_sub(caret).max(1);
        if from > 0 {
            window.insert(0, '…');
            caret_in_window += 1;
        }
        if to < characters.len() {
            window.push('…');
        }
        Some((window, caret_in_window, width))
    }
}

impl MaskedText {
    fn new(text: String) -> MaskedText {
        MaskedText {
            text,
            masked: std::sync::OnceLock::new(),
        }
    }

    /// The byte ranges of the text's values that must not be shown, in document order.
    fn masked(&self) -> &[(usize, usize)] {
        self.masked
            .get_or_init(|| Positions::index(&self.text).masked().to_vec())
    }

    /// Line `line` (1-based) with masked values replaced by `"…"` and tabs by spaces, and where
    /// each piece of it begins in the source and in the shown characters.
    fn shown_line(&self, lines: &LineIndex, line: usize) -> Option<ShownLine> {
        let (start, end) = lines.line_range(&self.text, line);
        let char_offsets = self
            .text
            .get(start..end)?
            .char_indices()
            .map(|(index, _)| start + index)
            .collect();
        let mut characters = Vec::new();
        let mut steps = Vec::new();
        // Masks are sorted by start (the document's order): find the first on this line once,
        // then walk forward with the text.
        let masked = self.masked();
        let mut next_mask = masked.partition_point(|(mask_start, _)| *mask_start < start);
        let mut offset = start;
        while offset < end {
            steps.push((offset, characters.len()));
            while masked
                .get(next_mask)
                .is_some_and(|(mask_start, _)| *mask_start < offset)
            {
                next_mask += 1;
            }
            if let Some(&(mask_start, mask_end)) = masked.get(next_mask)
                && mask_start == offset
                && mask_end > offset
            {
                characters.extend(['"', '…', '"']);
                offset = mask_end.min(end).max(offset + 1);
                continue;
            }
            let character = self.text.get(offset..)?.chars().next()?;
            characters.push(if character == '\t' { ' ' } else { character });
            offset += character.len_utf8();
        }
        Some(ShownLine {
            characters,
            steps,
            char_offsets,
            end,
        })
    }
}

/// One source line as a snippet shows it.
struct ShownLine {
    characters: Vec<char>,
    /// `(source offset, index in characters)` where each character or masked value begins.
    steps: Vec<(usize, usize)>,
    /// The source offset of each character of the line (a column's offset).
    char_offsets: Vec<usize>,
    /// The source offset where the line ends.
    end: usize,
}

impl ShownLine {
    /// The index in `characters` of the 1-based source `column`: the first shown piece at or
    /// after it (a column inside a masked value maps to the piece after the mask).
    fn index_of(&self, column: usize) -> usize {
        let offset = self
            .char_offsets
            .get(column.saturating_sub(1))
            .copied()
            .unwrap_or(self.end);
        let step = self.steps.partition_point(|(start, _)| *start < offset);
        self.steps
            .get(step)
            .map_or(self.characters.len(), |(_, index)| *index)
    }
}

/// Validates a document given as bytes: invalid UTF-8 and a byte-order mark are reported with their
/// position instead of failing.
pub fn validate_bytes(bytes: &[u8], kind: DocumentKind) -> Report {
    validate_bytes_for(bytes, kind, Profile::default())
}

/// [`validate_bytes`] under a compatibility [`Profile`].
pub fn validate_bytes_for(bytes: &[u8], kind: DocumentKind, profile: Profile) -> Report {
    match std::str::from_utf8(bytes) {
        Ok(text) => validate_for(text, kind, profile),
        Err(error) => {
            let valid = String::from_utf8_lossy(&bytes[..error.valid_up_to()]).into_owned();
            let (line, column) = LineIndex::new(&valid).line_column(&valid, valid.len());
            syntax_report(
                String::new(),
                kind,
                Location::point(line, column),
                "the file is not valid UTF-8".to_owned(),
                Some("save the file as UTF-8".to_owned()),
            )
        }
    }
}

fn syntax_report(
    text: String,
    kind: DocumentKind,
    location: Location,
    message: String,
    suggestion: Option<String>,
) -> Report {
    Report {
        diagnostics: vec![Diagnostic {
            severity: Severity::Error,
            code: Code::Syntax,
            pointer: String::new(),
            origin: None,
            location: Some(location),
            message,
            suggestion,
        }],
        kind,
        connection: None,
        well_formed: false,
        source: MaskedText::new(text),
    }
}

/// Validates a connection document (a bare `extra` or a whole connection, per `kind`).
pub fn validate(text: &str, kind: DocumentKind) -> Report {
    validate_for(text, kind, Profile::default())
}

/// [`validate`] under a compatibility [`Profile`]: `Profile::Airflow` adds as errors what Airflow's
/// OpenAI provider would reject or silently ignore.
pub fn validate_for(text: &str, kind: DocumentKind, profile: Profile) -> Report {
    if text.starts_with('\u{feff}') {
        return syntax_report(
            String::new(),
            kind,
            Location::point(1, 1),
            "the file starts with a byte-order mark, which JSON does not allow".to_owned(),
            Some("save the file as UTF-8 without a BOM".to_owned()),
        );
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            let (message, suggestion) = describe_syntax_error(&error);
            // No snippet: the line of a syntax error cannot be parsed to mask the secrets on it.
            return syntax_report(
                String::new(),
                kind,
                Location::point(error.line().max(1), error.column().max(1)),
                message,
                suggestion,
            );
        }
    };
    validate_parsed_for(text.to_owned(), &value, kind, profile)
}

/// [`validate_for`] of a `text` that `serde_json` has already parsed into `value`, so that a
/// loader that needed the value first does not parse the text twice.
///
/// The position index (a second, position-keeping parse) is built only when something needs it:
/// a finding to place, or a document whose keys are not all distinct (`serde_json` keeps only the
/// last of a duplicate, so the value alone cannot say where it was). A valid document with
/// distinct keys, the common case, is never indexed.
pub fn validate_parsed_for(
    text: String,
    value: &Value,
    kind: DocumentKind,
    profile: Profile,
) -> Report {
    let index = std::cell::OnceCell::new();
    let indexed = || index.get_or_init(|| (Positions::index(&text), LineIndex::new(&text)));
    let duplicates: Vec<(String, String)> = if has_duplicate_keys(&text, value) {
        indexed()
            .0
            .duplicates
            .iter()
            .map(|duplicate| (duplicate.pointer.clone(), duplicate.key.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let locate = |pointer: &str, at_key: bool| {
        let (positions, lines) = indexed();
        let (start, end) = positions.range(pointer, at_key);
        Place::at(Location::span(
            lines.line_column(&text, start),
            lines.line_column(&text, end),
        ))
    };
    let mut report = check(value, kind, profile, &duplicates, &locate);
    let source = MaskedText::new(text);
    // The index built to place findings has the masks the snippets need: not built again.
    if let Some((positions, _)) = index.get() {
        let _ = source.masked.set(positions.masked().to_vec());
    }
    report.source = source;
    report
}

/// Whether the JSON `text` that parsed into `value` has an object with a key twice: then the
/// text has more object members than the value, whose objects keep one entry per key. Each
/// member of a JSON text has exactly one `:` outside strings, and nothing else has one.
fn has_duplicate_keys(text: &str, value: &Value) -> bool {
    fn members(value: &Value) -> usize {
        match value {
            Value::Object(map) => map.len() + map.values().map(members).sum::<usize>(),
            Value::Array(items) => items.iter().map(members).sum(),
            _ => 0,
        }
    }
    let mut colons = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if byte == b'"' {
            in_string = true;
        } else if byte == b':' {
            colons += 1;
        }
    }
    colons != members(value)
}

/// A place in a document's text: where the key or value a finding is about starts and ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// 1-based line of the character after the key or value (SARIF's `endLine`).
    pub end_line: usize,
    /// 1-based column, in characters, of the character after the key or value (SARIF's
    /// `endColumn`); after `column` when `end_line` is `line`.
    pub end_column: usize,
}

impl Location {
    /// One character at `line` and `column` (1-based): a place whose extent is unknown, such as
    /// where a parser stopped.
    pub fn point(line: usize, column: usize) -> Location {
        Location {
            line,
            column,
            end_line: line,
            end_column: column + 1,
        }
    }

    /// From `start` to `end`, each a 1-based `(line, column)`, `end` being the character after
    /// the key or value. An `end` that is not after `start` (unknown) makes it a
    /// [`point`](Location::point).
    pub fn span(start: (usize, usize), end: (usize, usize)) -> Location {
        if end > start {
            Location {
                line: start.0,
                column: start.1,
                end_line: end.0,
                end_column: end.1,
            }
        } else {
            Location::point(start.0, start.1)
        }
    }
}

/// Where a finding sits: an origin other than the document's own file (such as an environment
/// variable that overrode the value), and its place in the text when it has one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    /// Where the value came from when it is not the document's file (for example
    /// `env OPENAI_CONN_EXTRA__AUDIENCE`); `None` for the file itself.
    pub origin: Option<String>,
    /// The line and column in the document's text; `None` when unknown.
    pub location: Option<Location>,
}

impl Place {
    /// A place in the document's own text.
    pub fn at(location: Location) -> Place {
        Place {
            origin: None,
            location: Some(location),
        }
    }
}

/// Validates an already-parsed document (from YAML, TOML, an environment variable, ...).
/// `locate(pointer, at_key)` places each finding; `at_key` asks for the key rather than the value.
pub fn validate_value(
    value: &Value,
    kind: DocumentKind,
    locate: &dyn Fn(&str, bool) -> Place,
) -> Report {
    check(value, kind, Profile::default(), &[], locate)
}

/// [`validate_value`] under a compatibility [`Profile`].
pub fn validate_value_for(
    value: &Value,
    kind: DocumentKind,
    profile: Profile,
    locate: &dyn Fn(&str, bool) -> Place,
) -> Report {
    check(value, kind, profile, &[], locate)
}

fn check(
    value: &Value,
    kind: DocumentKind,
    profile: Profile,
    duplicates: &[(String, String)],
    locate: &dyn Fn(&str, bool) -> Place,
) -> Report {
    let kind = kind.detect(value);
    let mut parser = Parser::default();
    for (pointer, key) in duplicates {
        parser.error(
            Code::DuplicateKey,
            pointer,
            Anchor::Key,
            format!("duplicate key \"{key}\"; only its last value would be used"),
            Some("remove one of the two entries".to_owned()),
        );
    }
    let connection = match kind {
        DocumentKind::Connection => match string_extra(value, &mut parser) {
            Ok(inner) => {
                let extra = inner.as_ref().or_else(|| value.get("extra"));
                profile::check(profile, extra, "/extra", &mut parser);
                parser.connection(value, inner.as_ref())
            }
            Err(()) => None,
        },
        _ => {
            profile::check(profile, Some(value), "", &mut parser);
            parser.extra(value, "", None).map(Connection::from_extra)
        }
    };
    let has_errors = parser.has_errors();
    let mut diagnostics: Vec<Diagnostic> = parser
        .findings
        .into_iter()
        .map(|finding| {
            let place = locate(&finding.pointer, finding.anchor == Anchor::Key);
            Diagnostic {
                severity: finding.severity,
                code: finding.code,
                pointer: finding.pointer,
                origin: place.origin,
                location: place.location,
                message: finding.message,
                suggestion: finding.suggestion,
            }
        })
        .collect();
    diagnostics.sort_by(|a, b| {
        (&a.origin, a.location, a.severity, &a.message)
            .cmp(&(&b.origin, b.location, b.severity, &b.message))
    });
    diagnostics.dedup();
    Report {
        diagnostics,
        kind,
        connection: if has_errors { None } else { connection },
        well_formed: true,
        source: MaskedText::default(),
    }
}

/// Parses an `extra` given as a string holding JSON, as Airflow allows. `Ok(None)` means the extra
/// is not a non-empty string; an unparseable string is reported at `/extra`.
fn string_extra(value: &Value, parser: &mut Parser) -> Result<Option<Value>, ()> {
    let Some(Value::String(text)) = value.get("extra") else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(inner) => {
            // serde_json keeps the last of two equal keys in silence; the string's own positions
            // find them, as they do for the document (an `__extra__` of a URI arrives here too).
            for duplicate in &Positions::index(text).duplicates {
                let inside = if duplicate.pointer.is_empty() {
                    String::new()
                } else {
                    format!(" (at {})", duplicate.pointer)
                };
                parser.error(
                    Code::DuplicateKey,
                    "/extra",
                    Anchor::Value,
                    format!(
                        "duplicate key \"{}\" in the JSON string of \"extra\"{inside}; only its last \
                         value would be used",
                        duplicate.key
                    ),
                    Some("remove one of the two entries".to_owned()),
                );
            }
            Ok(Some(inner))
        }
        Err(error) => {
            let (message, suggestion) = describe_syntax_error(&error);
            parser.error(Code::Syntax,
                "/extra",
                Anchor::Value,
                format!(
                    "the JSON string in \"extra\" is not valid JSON: {} (line {}, column {} of the string)",
                    message.trim_start_matches("invalid JSON: "),
                    error.line(),
                    error.column()
                ),
                suggestion,
            );
            Err(())
        }
    }
}

/// serde_json's message without its position (reported separately), and a hint for common slips.
fn describe_syntax_error(error: &serde_json::Error) -> (String, Option<String>) {
    let full = error.to_string();
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(message, _)| message)
        .to_owned();
    let suggestion = if message.contains("trailing comma") {
        Some("remove the comma after the last item".to_owned())
    } else if message.contains("key must be a string") {
        Some("put keys in double quotes".to_owned())
    } else if message.contains("EOF while parsing") {
        Some("the document ends early; check for a missing `}` or `]`".to_owned())
    } else if message.contains("recursion limit") {
        Some("the document nests too deeply to be a connection".to_owned())
    } else {
        None
    };
    (format!("invalid JSON: {message}"), suggestion)
}

#[cfg(test)]
mod tests {
    use super::{DocumentKind, Location, has_duplicate_keys, validate};

    #[test]
    fn a_key_given_twice_is_told_apart_from_colons_and_quotes_inside_strings() {
        let cases = [
            (r#"{"a": 1, "b": {"c": [1, {"d": 2}]}}"#, false),
            (r#"{"a": 1, "a": 2}"#, true),
            (
                r#"{"a": [{"x": 1, "y": {"x": 2}}], "b": {"z": 1, "z": 1}}"#,
                true,
            ),
            (
                r#"{"url": "https://h:443/p?q=a:b", "k\":": "v:\\", "n": {}}"#,
                false,
            ),
            (r#"{"k\"": 1, "k\"": 2}"#, true),
            (r#"[{"a": 1}, {"a": 2}]"#, false),
            (r#""a:b""#, false),
        ];
        for (text, expected) in cases {
            let value: serde_json::Value = serde_json::from_str(text).expect("the case is JSON");
            assert_eq!(has_duplicate_keys(text, &value), expected, "{text}");
        }
    }

    #[test]
    fn debug_shows_the_length_of_the_text_not_the_text() {
        let text = r#"{"api_kye": "sk-SECRET-123", "auth_type": "x"}"#;
        let debug = format!("{:?}", validate(text, DocumentKind::Extra));
        assert!(!debug.contains("sk-SECRET"), "{debug}");
        assert!(
            debug.contains(&format!("MaskedText {{ bytes: {}, .. }}", text.len())),
            "{debug}"
        );
    }

    #[test]
    fn a_span_whose_end_is_unknown_is_one_character() {
        assert_eq!(
            Location::span((2, 3), (4, 1)),
            Location {
                line: 2,
                column: 3,
                end_line: 4,
                end_column: 1
            }
        );
        for unknown in [(0, 0), (2, 3), (1, 9)] {
            assert_eq!(Location::span((2, 3), unknown), Location::point(2, 3));
        }
        assert_eq!(
            (
                Location::point(2, 3).end_line,
                Location::point(2, 3).end_column
            ),
            (2, 4)
        );
    }
}
