//! What the agreement, profile and property tests share: the published schemas and the schema's
//! verdict (the fixture folders are read through `openai_conn_tests`).
#![allow(dead_code)]

use std::path::Path;

use conn_schema::schema::{CONNECTION_SCHEMA_FILE, EXTRA_SCHEMA_FILE};
use conn_schema::{DocumentKind, SchemaError, SchemaValidator};
use serde_json::Value;

/// The checked-in schemas, compiled.
pub(crate) struct Published {
    pub(crate) extra: SchemaValidator,
    pub(crate) connection: SchemaValidator,
}

impl Published {
    pub(crate) fn load() -> Published {
        let read = |file: &str| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../schema")
                .join(file);
            let text = std::fs::read_to_string(path).expect("schema file");
            let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
            SchemaValidator::new(&schema).expect("schema compiles")
        };
        Published {
            extra: read(EXTRA_SCHEMA_FILE),
            connection: read(CONNECTION_SCHEMA_FILE),
        }
    }

    /// The schema's errors for `value` read as `kind`. An `extra` held as a JSON string is opaque
    /// to the connection schema (as in Airflow, where it is text); its content is judged by the
    /// extra schema, as a tool would.
    pub(crate) fn errors(&self, value: &Value, kind: DocumentKind) -> Vec<SchemaError> {
        if kind != DocumentKind::Connection {
            return self.extra.errors(value);
        }
        let mut errors = self.connection.errors(value);
        if let Some(Value::String(inner)) = value.get("extra")
            && !inner.trim().is_empty()
        {
            match serde_json::from_str::<Value>(inner) {
                Ok(inner) => errors.extend(self.extra.errors(&inner)),
                Err(error) => errors.push(SchemaError {
                    pointer: "/extra".to_owned(),
                    message: error.to_string(),
                }),
            }
        }
        errors
    }
}

/// The parser's `report` and the schema's errors agree on whether the document at `path` has
/// an error.
pub(crate) fn assert_same_verdict(
    path: &Path,
    report: &conn_schema::Report,
    schema_errors: &[impl std::fmt::Debug],
) {
    assert_eq!(
        report.has_errors(),
        !schema_errors.is_empty(),
        "{}: parser says {:?}, schema says {:?}",
        path.display(),
        report.diagnostics(),
        schema_errors
    );
}
