//! Small value rules the format readers share (TOML and YAML): a float as JSON holds it, and a
//! parser's message with any quoted value taken out. A leaf: it imports no other module.

use serde_json::Value;

/// JSON has no NaN or infinity; such a value becomes `null`, which the validator then rejects
/// wherever a number is expected.
pub(crate) fn json_float(number: f64) -> Value {
    serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
}

/// A parser's message without the value it may quote: quoted text is replaced by `"…"`. A value
/// may be a secret.
pub(crate) fn value_free(message: &str) -> String {
    without_quotes(message)
}

/// `text` with every double-quoted or backquoted run replaced by `"…"`.
fn without_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match inside {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(quote) if c == quote => inside = None,
            Some(_) => {}
            None if c == '"' => {
                out.push_str("\"…\"");
                inside = Some(c);
            }
            None => out.push(c),
        }
    }
    out
}
