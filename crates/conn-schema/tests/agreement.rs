//! The typed parser and the published schema files give the same verdict on every fixture.
//!
//! The schema is read from `schema/` (the checked-in files users get), compiled with the
//! `jsonschema` crate, and run on the same parsed value the parser saw. Documents that are not
//! JSON at all (syntax errors, a BOM, invalid UTF-8) have no value for a schema to judge; duplicate
//! keys are a property of the text that no schema can see, so those are checked separately.

mod common;

use common::{Published, assert_same_verdict};
use conn_schema::{DocumentKind, validate_bytes};
use openai_conn_tests::json_files;
use serde_json::Value;

#[test]
fn parser_and_published_schema_agree_on_every_fixture() {
    let published = Published::load();
    let mut compared = 0;
    for folder in ["tests/fixtures/valid", "tests/fixtures/invalid", "examples"] {
        for path in json_files(folder) {
            let bytes = std::fs::read(&path).expect("fixture");
            let report = validate_bytes(&bytes, DocumentKind::Auto);
            if !report.well_formed() {
                assert!(report.has_errors(), "{}", path.display());
                continue;
            }
            let value: Value = serde_json::from_slice(&bytes).expect("well-formed");
            let only_duplicates = report.has_errors()
                && report
                    .diagnostics()
                    .iter()
                    .filter(|diagnostic| diagnostic.severity == conn_schema::Severity::Error)
                    .all(|diagnostic| diagnostic.message.starts_with("duplicate key"));
            let schema_errors = published.errors(&value, report.kind());
            if only_duplicates {
                assert!(
                    schema_errors.is_empty(),
                    "{}: {schema_errors:?}",
                    path.display()
                );
                continue;
            }
            assert_same_verdict(&path, &report, &schema_errors);
            // And they point at the same places: every parser error sits at or below a schema
            // error, and every schema error has a parser error at or below it. ("At or below",
            // because a schema reports an unknown key or a missing one at its object, the parser at
            // the key itself.)
            let parser_pointers: Vec<&str> = report
                .diagnostics()
                .iter()
                .filter(|diagnostic| diagnostic.severity == conn_schema::Severity::Error)
                .map(|diagnostic| diagnostic.pointer.as_str())
                .collect();
            let schema_pointers: Vec<&str> = schema_errors
                .iter()
                .map(|error| error.pointer.as_str())
                .collect();
            // Each side's errors, the other side's, and whether the other side's must stand at
            // or above (else at or below) each of them.
            let directions: [(&str, &[&str], &[&str], bool); 2] = [
                ("parser", &parser_pointers, &schema_pointers, true),
                ("schema", &schema_pointers, &parser_pointers, false),
            ];
            for (side, own, other, other_above) in directions {
                let where_other = if other_above { "above" } else { "below" };
                for pointer in own {
                    let matched = other.iter().any(|other| {
                        if other_above {
                            at_or_below(pointer, other)
                        } else {
                            at_or_below(other, pointer)
                        }
                    });
                    assert!(
                        matched,
                        "{}: the {side}'s error at {pointer:?} has no error of the other side at \
                         or {where_other} it: parser {:?}, schema {schema_errors:?}",
                        path.display(),
                        report.diagnostics()
                    );
                }
            }
            compared += 1;
        }
    }
    assert!(compared >= 45, "only {compared} fixtures compared");
}

/// Whether `pointer` is `ancestor` or inside it, segment-wise.
fn at_or_below(pointer: &str, ancestor: &str) -> bool {
    pointer
        .strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The schema alone also holds the line where the parser's messages are strictest.
#[test]
fn schema_rejects_a_key_of_another_provider_and_accepts_the_reference_example() {
    let extra = Published::load().extra;
    let reference = serde_json::json!({
        "auth_type": "workload_identity",
        "workload_identity_provider": "kubernetes",
        "identity_provider_id": "idp-123",
        "service_account_id": "sa-456"
    });
    assert!(extra.errors(&reference).is_empty());
    let mut wrong = reference.clone();
    wrong["workload_identity_provider"] = "azure".into();
    wrong["audience"] = "https://api.openai.com/v1".into();
    let errors = extra.errors(&wrong);
    assert!(
        errors
            .iter()
            .any(|error| error.message.contains("audience")),
        "{errors:?}"
    );
}
