//! What the loading tests share: documents written to a temporary directory and loaded as the CLI
//! loads them, the error findings of a report, and the place of one.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use conn_load::{Loaded, MapEnv, SourceSpec, load};
use conn_schema::{Diagnostic, DocumentKind, Severity};

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("the temporary directory is writable");
    path
}

/// The file at `path` as a source.
pub fn file(path: &Path) -> SourceSpec {
    SourceSpec::File(path.to_owned())
}

/// Loads `spec` read as `kind` with `env`; a load error fails the test.
pub fn load_ok(spec: &SourceSpec, kind: DocumentKind, env: &MapEnv) -> Loaded {
    match load(spec, kind, env) {
        Ok(loaded) => loaded,
        Err(error) => panic!("the document was expected to load: {error}"),
    }
}

/// Writes `text` to `dir/name` and loads it as the CLI does by default: its kind detected, with
/// no environment.
pub fn load_file(dir: &Path, name: &str, text: &str) -> Loaded {
    load_ok(
        &file(&write(dir, name, text)),
        DocumentKind::Auto,
        &MapEnv::new(),
    )
}

/// The error findings of a loaded document.
pub fn errors(loaded: &Loaded) -> Vec<&Diagnostic> {
    loaded
        .report
        .diagnostics()
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .collect()
}

/// The error finding at `pointer`; its absence fails the test.
pub fn error_at<'a>(loaded: &'a Loaded, pointer: &str) -> &'a Diagnostic {
    errors(loaded)
        .into_iter()
        .find(|diagnostic| diagnostic.pointer == pointer)
        .unwrap_or_else(|| panic!("no error at {pointer}: {:#?}", loaded.report.diagnostics()))
}

/// The error finding at `pointer`, once it is seen to stand at `line` and `column`.
pub fn error_located<'a>(
    loaded: &'a Loaded,
    pointer: &str,
    line: usize,
    column: usize,
) -> &'a Diagnostic {
    let error = error_at(loaded, pointer);
    assert_eq!(
        error.location.map(|at| (at.line, at.column)),
        Some((line, column)),
        "the place of the error at {pointer}"
    );
    error
}

/// The document loaded without an error finding; the rendered report says what was found.
pub fn assert_clean(loaded: &Loaded) {
    assert!(
        !loaded.report.has_errors(),
        "{}",
        loaded.report.render(&loaded.label)
    );
}

/// Checks that `message` says `expected`.
pub fn assert_says(message: &str, expected: &str) {
    assert!(
        message.contains(expected),
        "expected a message saying {expected:?}: {message}"
    );
}

/// A fresh temporary directory holding `text` as `name`, and the file's path. The directory
/// lives as long as the first value.
pub fn written(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory can be made");
    let path = write(dir.path(), name, text);
    (dir, path)
}
