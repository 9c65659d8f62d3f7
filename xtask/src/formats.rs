//! A JSON value written as YAML and as TOML, for the SchemaStore tests in those formats, through
//! serde serializers (serde-saphyr and `toml`) rather than by hand.

use serde_json::Value;

/// A JSON value as a YAML block document. The serializer quotes every string that YAML would
/// otherwise read as another type (`yes`, `1.5`, `null`), so the document means the same value.
pub(crate) fn to_yaml(value: &Value) -> anyhow::Result<String> {
    serde_saphyr::to_string(value).map_err(|error| anyhow::anyhow!("writing YAML: {error}"))
}

/// A JSON object as a TOML document, or `None` when it holds a `null` (TOML has none) or is not
/// an object.
pub(crate) fn to_toml(value: &Value) -> Option<String> {
    if !value.is_object() || has_null(value) {
        return None;
    }
    toml::to_string(value).ok()
}

fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null),
        Value::Object(map) => map.values().any(has_null),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Strings that look like other YAML types stay strings; nesting and empty collections keep
    /// their shape.
    #[test]
    fn yaml_form_keeps_every_value_and_type() {
        let value = json!({
            "conn_type": "openai",
            "port": 8080,
            "extra": {"auth_type": "workload_identity", "token_command": ["a b", "-x"], "kwargs": {"timeout": 1.5}, "empty": {}},
            "looks_like": {"bool": "yes", "number": "1.5", "nothing": "null", "empty": ""},
            "odd key": "yes",
        });
        let yaml = to_yaml(&value).expect("a JSON value has a YAML form");
        for line in [
            "conn_type: openai",
            "port: 8080",
            "  token_command:",
            "  - a b",
            "  - -x",
            "    timeout: 1.5",
            "  empty: {}",
        ] {
            assert!(yaml.lines().any(|l| l == line), "{line:?} in\n{yaml}");
        }
        for (key, text) in [
            ("bool", "yes"),
            ("number", "1.5"),
            ("nothing", "null"),
            ("empty", ""),
        ] {
            let quoted = [format!("  {key}: \"{text}\""), format!("  {key}: '{text}'")];
            assert!(
                yaml.lines().any(|l| quoted.iter().any(|q| q == l)),
                "{key}: {text:?} is quoted in\n{yaml}"
            );
        }
    }

    #[test]
    fn toml_form_puts_tables_after_values_and_has_no_null() {
        let value = json!({
            "conn_type": "openai",
            "extra": {"auth_type": "workload_identity", "token_command": ["a b", "-x"], "kwargs": {"timeout": 1.5}},
            "port": 8080,
            "odd key": "yes",
        });
        let text = to_toml(&value).expect("no null");
        let parsed: toml::Table = toml::from_str(&text).expect("the TOML form parses");
        assert_eq!(
            serde_json::to_value(&parsed).expect("TOML values are JSON values"),
            value
        );
        assert_eq!(to_toml(&json!({"a": {"b": [1, null]}})), None);
        assert_eq!(to_toml(&json!(["not", "an object"])), None);
    }
}
