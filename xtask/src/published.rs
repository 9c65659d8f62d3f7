//! What is published: the list of schemas, their file names and catalog texts, and the URL rules
//! every other part of the site (catalog, SchemaStore layout, reference page) derives from.

use anyhow::{Result, bail};
use conn_schema::profile::{AIRFLOW_EXTRA_SCHEMA_FILE, airflow_extra_schema};
use conn_schema::schema::{
    CONNECTION_SCHEMA_FILE, EXTRA_SCHEMA_FILE, SCHEMA_MAJOR_DIR, connection_schema, extra_schema,
};
use conn_schema::{DocumentKind, Profile};
use serde_json::{Value, json};

/// One published schema: its file name, its SchemaStore name, and how to generate it.
pub(crate) struct Published {
    /// File name under `v1/`, `latest/` and `schema/`.
    pub(crate) file: &'static str,
    /// Its name in a SchemaStore contribution (`src/schemas/json/<name>.json`, `src/test/<name>/`).
    pub(crate) name: &'static str,
    /// The catalog entry's name.
    pub(crate) title: &'static str,
    /// The catalog entry's description: one line, no trailing punctuation, no word "schema".
    pub(crate) description: &'static str,
    /// The schema, with the `$id` of the checked-in files.
    pub(crate) generate: fn() -> Value,
    /// Which documents it describes.
    pub(crate) kind: DocumentKind,
    /// Which program's view of a connection it holds: a valid fixture that this profile rejects
    /// is one of the schema's negative tests rather than a valid one.
    pub(crate) profile: Profile,
}

/// The published schemas: the `extra` alone, a whole connection, and the `extra` limited to what
/// Airflow's OpenAI provider reads.
pub(crate) const PUBLISHED: [Published; 3] = [
    Published {
        file: EXTRA_SCHEMA_FILE,
        name: "openai-connection-extra",
        title: "OpenAI connection extra (Apache Airflow)",
        description: "The extra object of an Apache Airflow OpenAI connection: auth type, workload \
                      identity provider and OpenAI client options",
        generate: extra_schema,
        kind: DocumentKind::Extra,
        profile: Profile::OpenaiConn,
    },
    Published {
        file: CONNECTION_SCHEMA_FILE,
        name: "openai-connection",
        title: "OpenAI connection (Apache Airflow)",
        description: "A whole Apache Airflow OpenAI connection: conn_type, host, password and the \
                      extra with auth type and workload identity",
        generate: connection_schema,
        kind: DocumentKind::Connection,
        profile: Profile::OpenaiConn,
    },
    Published {
        file: AIRFLOW_EXTRA_SCHEMA_FILE,
        name: "openai-connection-extra.airflow",
        title: "OpenAI connection extra (Airflow's OpenAI provider only)",
        description: "The extra object of an Apache Airflow OpenAI connection limited to what \
                      Airflow's own OpenAI provider reads, for connections only Airflow uses",
        generate: airflow_extra_schema,
        kind: DocumentKind::Extra,
        profile: Profile::Airflow,
    },
];

/// A base URL ends with `/` so that file paths append to it; it must be http or https.
pub(crate) fn normalize_base(base_url: &str) -> Result<String> {
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        bail!("--base-url must be an absolute http or https URL, got {base_url:?}");
    }
    Ok(if base_url.ends_with('/') {
        base_url.to_owned()
    } else {
        format!("{base_url}/")
    })
}

/// The published URL of a schema file under the current major.
pub(crate) fn schema_url(base_url: &str, file: &str) -> String {
    format!("{base_url}{SCHEMA_MAJOR_DIR}/{file}")
}

/// `schema` with its `$id` set to `id`.
pub(crate) fn with_id(mut schema: Value, id: &str) -> Value {
    if let Value::Object(map) = &mut schema {
        map.insert("$id".into(), json!(id));
    }
    schema
}

/// The parser's rule: an object with `conn_type` or `extra` is a whole connection.
pub(crate) fn kind_of(value: &Value) -> DocumentKind {
    match value {
        Value::Object(map) if map.contains_key("conn_type") || map.contains_key("extra") => {
            DocumentKind::Connection
        }
        _ => DocumentKind::Extra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_gets_a_trailing_slash_and_must_be_http() {
        assert_eq!(
            normalize_base("https://example.org/s").expect("a URL without a slash is accepted"),
            "https://example.org/s/"
        );
        assert_eq!(
            normalize_base("https://example.org/s/").expect("a URL with a slash is accepted"),
            "https://example.org/s/"
        );
        assert!(normalize_base("example.org/s").is_err());
    }
}
