//! Snapshots of the rendered report of every invalid fixture (`cargo xtask snapshots`).
//!
//! Each snapshot is our own rendering (`FILE:LINE:COL: error[CODE]: message`, snippet, help), so a change
//! in wording or position shows up in review.

use std::path::Path;

use conn_schema::{DocumentKind, validate_bytes};

fn fixture_name(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("?");
    format!("invalid/{name}")
}

#[test]
fn invalid_fixtures_render_stable_reports() {
    insta::glob!("../../../tests/fixtures/invalid", "*.json", |path| {
        let bytes = std::fs::read(path).expect("fixture is readable");
        let report = validate_bytes(&bytes, DocumentKind::Auto);
        assert!(report.has_errors(), "{} must be rejected", path.display());
        for diagnostic in report.diagnostics() {
            assert!(
                diagnostic
                    .location
                    .is_some_and(|at| at.line >= 1 && at.column >= 1),
                "{diagnostic:?}"
            );
        }
        insta::assert_snapshot!(report.render(&fixture_name(path)));
    });
}

#[test]
fn valid_fixtures_have_no_errors() {
    insta::glob!("../../../tests/fixtures/valid", "*.json", |path| {
        let bytes = std::fs::read(path).expect("fixture is readable");
        let report = validate_bytes(&bytes, DocumentKind::Auto);
        assert!(
            !report.has_errors(),
            "{}:\n{}",
            path.display(),
            report.render(&fixture_name(path))
        );
        assert!(report.connection().is_some());
    });
}
