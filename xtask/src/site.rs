//! The static site editors fetch the schemas from, ready to serve as is.
//!
//! ```text
//! DIR/v1/openai-connection-extra.schema.json    $id = URL + "v1/openai-connection-extra.schema.json"
//! DIR/v1/openai-connection.schema.json
//! DIR/latest/...                                the same schemas, $id under latest/
//! DIR/catalog.json                              SchemaStore's catalog format, URLs under URL
//! DIR/index.html                                the reference page (docs/reference.md as HTML)
//! DIR/schemastore/src/...                       the schemas laid out as a SchemaStore contribution
//! ```

use std::path::Path;

use anyhow::{Context, Result};
use conn_schema::schema::{SCHEMA_MAJOR_DIR, to_pretty};

use crate::published::{PUBLISHED, with_id};

/// The default output folder, relative to the target directory.
pub(crate) const DEFAULT_OUT: &str = "site";

/// Writes `files` (paths relative to `out`).
pub(crate) fn write_all(out: &Path, files: &[(String, String)]) -> Result<()> {
    for (relative, content) in files {
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Every file of the site, as (path relative to the output folder, content).
pub(crate) fn site(root: &Path, base_url: &str) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for folder in [SCHEMA_MAJOR_DIR, "latest"] {
        for published in &PUBLISHED {
            let path = format!("{folder}/{}", published.file);
            let schema = with_id((published.generate)(), &format!("{base_url}{path}"));
            files.push((path, to_pretty(&schema)));
        }
    }
    files.push(("catalog.json".into(), crate::catalog::catalog(base_url)));
    files.push(("index.html".into(), crate::reference::html(base_url)));
    files.extend(crate::schemastore::schemastore(root, base_url)?);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use conn_schema::schema::{
        CONNECTION_SCHEMA_FILE, EXTRA_SCHEMA_FILE, SCHEMA_BASE_URL, extra_schema,
    };
    use serde_json::Value;

    /// The site has every file the issue names, with `$id`s under the base URL, and `latest/`
    /// differs from `v1/` only in the `$id`.
    #[test]
    fn site_has_versioned_and_latest_schemas_with_ids_under_the_base() {
        let base = "https://example.org/schemas/";
        let files = site(&crate::workspace_root(), base).expect("site");
        let get = |path: &str| -> Value {
            let text = &files
                .iter()
                .find(|(name, _)| name == path)
                .unwrap_or_else(|| panic!("{path} in the site"))
                .1;
            serde_json::from_str(text).expect("JSON")
        };
        for file in [EXTRA_SCHEMA_FILE, CONNECTION_SCHEMA_FILE] {
            let v1 = get(&format!("v1/{file}"));
            let latest = get(&format!("latest/{file}"));
            assert_eq!(v1["$id"], format!("{base}v1/{file}"));
            assert_eq!(latest["$id"], format!("{base}latest/{file}"));
            assert_eq!(with_id(latest, "x"), with_id(v1, "x"));
        }
        assert!(files.iter().any(|(name, _)| name == "index.html"));
        assert!(files.iter().any(|(name, _)| name == "catalog.json"));
        // With the default base, v1/ is byte for byte what the CLI prints.
        let default = site(&crate::workspace_root(), SCHEMA_BASE_URL).expect("site");
        let v1 = &default
            .iter()
            .find(|(name, _)| name == &format!("v1/{EXTRA_SCHEMA_FILE}"))
            .expect("v1 extra")
            .1;
        assert_eq!(v1, &to_pretty(&extra_schema()));
    }
}
