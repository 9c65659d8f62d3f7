//! The one escaping of text for a terminal. Every byte the tool writes, on standard output and
//! standard error, in every format, passes through one of the three functions here (the writers
//! in `output.rs` apply them), so a key name, a connection id, a file name, a parser's message or
//! a server's text cannot forge a line, an annotation (`::error ...`) or a terminal sequence.
//!
//! One rule says which characters are unsafe ([`is_unsafe`]): the C0 controls, DEL, the C1
//! controls (U+0080 to U+009F: U+009B is a one-character CSI to many terminals), the Unicode
//! characters that reorder or hide text (bidirectional marks, embeddings, overrides and
//! isolates) and the line and paragraph separators. They are spelt as Rust escapes
//! (`\n`, `\u{1b}`) in text, and as JSON escapes (`\u001b`) in JSON, where a Rust escape would
//! break the document.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as it is.
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `text` as one line: every unsafe character, the line feed included, spelt as a Rust escape.
/// For a piece of data inside a line (an id, a file name, a message).
pub(crate) fn line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false, rust)
}

/// Text of several lines that the tool composed (a report with its snippets, the plan): as
/// [`line`], except that line feeds stay line feeds. Pieces of data inside it must have passed
/// through [`line`] already (or an escaping that spells a line feed otherwise, as GitHub's
/// `%0A`): this only makes sure that no other control reaches the terminal.
pub(crate) fn lines(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n', rust)
}

/// A JSON text (as serde_json writes it, which escapes the C0 controls itself): every other
/// unsafe character spelt as a JSON escape (`\u009b`), so the document stays valid and its
/// strings keep their values. Unsafe characters can only occur inside strings in JSON text, and
/// its line feeds are layout.
pub(crate) fn json(text: &str) -> Cow<'_, str> {
    escape(
        text,
        |c| c == '\n',
        |out, c| {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        },
    )
}

/// A Rust escape of `c`: `\n`, `\r`, `\t`, or `\u{XX}`.
fn rust(out: &mut String, c: char) {
    for piece in c.escape_default() {
        out.push(piece);
    }
}

fn escape(
    text: &str,
    keep: impl Fn(char) -> bool,
    spell: impl Fn(&mut String, char),
) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) && !keep(c) {
            spell(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unsafe_character_is_escaped_and_nothing_else() {
        let hostile = "a\n::error file=x::b\u{1b}[2J\u{7}\u{9b}31m\u{7f}\u{202e}c\r\td";
        assert_eq!(
            line(hostile),
            "a\\n::error file=x::b\\u{1b}[2J\\u{7}\\u{9b}31m\\u{7f}\\u{202e}c\\r\\td"
        );
        assert_eq!(
            lines(hostile),
            "a\n::error file=x::b\\u{1b}[2J\\u{7}\\u{9b}31m\\u{7f}\\u{202e}c\\r\\td"
        );
        assert!(matches!(line("plain text, ünïcode ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_valid_and_keeps_its_values() {
        let value = serde_json::json!({"key": "x\u{1b}\u{9b}\u{7f}\u{2028}\u{202e}y"});
        let text = serde_json::to_string_pretty(&value).expect("encode");
        let escaped = json(&text);
        assert!(
            !escaped.chars().any(|c| is_unsafe(c) && c != '\n'),
            "{escaped}"
        );
        let back: serde_json::Value = serde_json::from_str(&escaped).expect("still JSON");
        assert_eq!(back, value);
    }
}
