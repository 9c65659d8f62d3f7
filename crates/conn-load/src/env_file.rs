//! Airflow's `.env` connections files, read the way its local-filesystem secrets backend reads
//! them, and the env files `airflow connections export --file-format env` writes.
//!
//! One connection per line, `CONN_ID=VALUE`:
//! - an empty line, or one whose first non-blank character is `#`, is skipped;
//! - the line splits at its first `=`; a line without `=`, with nothing before it or nothing after
//!   it is malformed, and one malformed line makes the whole file unreadable (Airflow refuses
//!   the file too), reported with its line number;
//! - neither side is trimmed (Airflow does not trim either), and an id may appear only once;
//! - the value is a connection URI, or, when it starts with `{`, Airflow's JSON form (what
//!   `connections export --serialization-format json` writes; Airflow's environment-variable
//!   backend reads it the same way).
//!
//! Findings keep their line: a JSON value is validated in place (its own column on its own line),
//! and every finding of a URI points at the start of the value.

use std::collections::HashMap;
use std::path::Path;

use conn_schema::{Location, Report};

use crate::LoadError;
use crate::airflow::parse_uri;
use crate::formats::{Parsed, json_document, utf8};
use crate::positions::{PointerMap, SourcePositions, Spot};

/// Whether Airflow reads `path` as an env file: the extension `.env` (any case), or a file named
/// `.env`.
pub(crate) fn is_env_file(path: &Path) -> bool {
    let extension = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("env"));
    extension || path.file_name().is_some_and(|name| name == ".env")
}

/// One `CONN_ID=VALUE` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EnvLine {
    pub(crate) key: String,
    pub(crate) value: String,
    /// 1-based line number.
    pub(crate) line: usize,
    /// 1-based column (in characters) where the value starts.
    pub(crate) column: usize,
}

/// Why a line is malformed, in Airflow's words where it has them.
fn malformed(label: &str, line: usize, column: usize, message: &str) -> LoadError {
    LoadError::Syntax {
        label: label.to_owned(),
        format: "env file",
        location: Some(Location::point(line, column)),
        message: message.to_owned(),
    }
}

/// `text` split into lines as Airflow splits a `.env` file: Python reads it with universal
/// newlines (CR LF and CR become LF) and splits with `str.splitlines()`, which also ends a line at
/// VT, FF, FS, GS, RS, NEL, U+2028 and U+2029. A CR inside what looks like one line therefore
/// starts a second connection for Airflow, and so it does here.
pub(crate) fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !is_break {
            continue;
        }
        lines.push(&text[start..index]);
        let mut end = index + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|(_, next)| *next == '\n') {
            chars.next();
            end += 1;
        }
        start = end;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Whether an env-file value is wrapped in quotes (`ID="..."`): Airflow takes the quotes as part
/// of the value, so it reads no connection of this type from it.
pub(crate) fn is_quoted(value: &str) -> bool {
    let value = value.trim();
    value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"'))
            || (value.starts_with('\'') && value.ends_with('\'')))
}

/// The lines of an env file, in order. Errors name the first malformed line; they never quote a
/// line, which may hold a password.
pub(crate) fn parse_env_file(text: &str, label: &str) -> Result<Vec<EnvLine>, LoadError> {
    let mut entries = Vec::new();
    for (index, line) in split_lines(text).into_iter().enumerate() {
        let number = index + 1;
        if line.is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(malformed(
                label,
                number,
                1,
                "invalid line: expected CONN_ID=<URI or JSON>, found no `=`",
            ));
        };
        if key.is_empty() {
            return Err(malformed(
                label,
                number,
                1,
                "invalid line: the connection id before `=` is empty",
            ));
        }
        let column = key.chars().count() + 2;
        if value.is_empty() {
            return Err(malformed(
                label,
                number,
                column,
                "invalid line: the value after `=` is empty; expected a connection URI or JSON",
            ));
        }
        entries.push(EnvLine {
            key: key.to_owned(),
            value: value.to_owned(),
            line: number,
            column,
        });
    }
    let mut first_line: HashMap<&str, usize> = HashMap::new();
    for entry in &entries {
        if let Some(first) = first_line.insert(&entry.key, entry.line) {
            return Err(LoadError::ConnectionsFile {
                label: label.to_owned(),
                message: format!(
                    "connection id {:?} is defined on line {first} and again on line {}; Airflow \
                     refuses a file with two values for one id",
                    entry.key, entry.line
                ),
            });
        }
    }
    Ok(entries)
}

/// A value of an env file as the entry of a connections file: a JSON object when it starts with
/// `{` and parses, otherwise the string (a URI), which is what [`crate`] looks at to tell an
/// OpenAI connection from another type.
pub(crate) fn entry_value(value: &str) -> serde_json::Value {
    if value.trim_start().starts_with('{') {
        if let Ok(object) = serde_json::from_str(value) {
            return object;
        }
    }
    serde_json::Value::String(value.to_owned())
}

/// The entry for `conn_id` in the env file `bytes`, as a whole connection with its positions, or
/// the report of a JSON value that is not JSON.
pub(crate) fn env_file_entry(
    bytes: &[u8],
    path: &Path,
    conn_id: &str,
    label: &str,
) -> Result<Result<Parsed, Box<Report>>, LoadError> {
    let file_label = path.display().to_string();
    let text = utf8(bytes, &file_label, "env file")?;
    let entries = parse_env_file(text, &file_label)?;
    let Some(index) = entries.iter().position(|entry| entry.key == conn_id) else {
        let mut available: Vec<String> = entries.into_iter().map(|entry| entry.key).collect();
        available.sort();
        return Err(LoadError::ConnIdNotFound {
            path: path.to_owned(),
            conn_id: conn_id.to_owned(),
            available,
        });
    };
    let entry = &entries[index];
    if entry.value.trim_start().starts_with('{') {
        // The value validated in place: blank lines and columns before it keep every line and
        // column of the file, and JSON ignores the padding.
        let padded = format!(
            "{}{}{}",
            "\n".repeat(entry.line - 1),
            " ".repeat(entry.column - 1),
            entry.value
        );
        return Ok(json_document(padded.as_bytes()).map(|mut parsed| {
            parsed.whole_connection = true;
            parsed
        }));
    }
    if is_quoted(&entry.value) {
        return Err(malformed(
            &file_label,
            entry.line,
            entry.column,
            "the value is in quotes, which Airflow keeps as part of it, so Airflow reads no \
             connection from this line; remove the quotes",
        ));
    }
    let (value, warnings) = parse_uri(entry.value.trim()).map_err(|reason| LoadError::BadUri {
        origin: format!("{label} (line {})", entry.line),
        reason,
    })?;
    let mut spans = HashMap::new();
    spans.insert(String::new(), Spot::at((entry.line, entry.column)));
    Ok(Ok(Parsed {
        value,
        pristine_json: None,
        positions: SourcePositions::Spans(spans),
        pointers: PointerMap::default(),
        whole_connection: true,
        warnings,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_blank_lines() {
        let text = "# exported\n\n  # indented comment\nA=openai://h\nB={\"conn_type\": \"openai\"}\nC=x=y\n";
        let entries = parse_env_file(text, "f.env").expect("parses");
        let keys: Vec<(&str, &str, usize, usize)> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line, e.column))
            .collect();
        assert_eq!(
            keys,
            [
                ("A", "openai://h", 4, 3),
                ("B", "{\"conn_type\": \"openai\"}", 5, 3),
                ("C", "x=y", 6, 3),
            ]
        );
    }

    #[test]
    fn malformed_lines_are_numbered_and_not_quoted() {
        for (text, line, needle) in [
            ("A=openai://h\nno-equals-sk-secret\n", 2, "no `=`"),
            ("\n\n=openai://h\n", 3, "id before `=` is empty"),
            ("# c\nA=\n", 2, "value after `=` is empty"),
            ("A=openai://h\n   \n", 2, "no `=`"),
        ] {
            match parse_env_file(text, "f.env") {
                Err(error @ LoadError::Syntax { .. }) => {
                    let LoadError::Syntax { location, .. } = &error else {
                        unreachable!()
                    };
                    assert_eq!(location.map(|at| at.line), Some(line), "{text:?}");
                    let message = error.to_string();
                    assert!(message.contains(needle), "{message}");
                    assert!(message.contains(&format!("f.env:{line}:")), "{message}");
                    assert!(!message.contains("sk-secret"), "{message}");
                }
                other => panic!("{text:?}: expected a syntax error, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_repeated_id_is_refused_with_both_lines() {
        let error = parse_env_file("A=openai://h\nB=openai://i\nA=openai://j\n", "f.env")
            .expect_err("duplicate");
        let message = error.to_string();
        assert!(
            message.contains("line 1") && message.contains("line 3"),
            "{message}"
        );
    }

    #[test]
    fn env_file_names() {
        assert!(is_env_file(Path::new("conns.env")));
        assert!(is_env_file(Path::new("dir/CONNS.ENV")));
        assert!(is_env_file(Path::new(".env")));
        assert!(!is_env_file(Path::new("conns.json")));
        assert!(!is_env_file(Path::new("env")));
    }
}
