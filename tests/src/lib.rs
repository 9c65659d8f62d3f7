//! Workspace-level end-to-end tests and the shared fixtures (`tests/fixtures`). The CLI's own
//! end-to-end tests live with the binary, in `crates/openai-conn/tests`, so that they run the
//! executable cargo built for them.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The `*.json` files of `folder` (relative to the workspace root, as `tests/fixtures/valid`),
/// sorted by path; panics naming the folder when it cannot be read.
pub fn json_files(folder: &str) -> Vec<PathBuf> {
    let directory = workspace().join(folder);
    let entries = std::fs::read_dir(&directory).unwrap_or_else(|error| {
        panic!(
            "{} was expected to be readable: {error}",
            directory.display()
        )
    });
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| match entry {
            Ok(entry) => entry.path(),
            Err(error) => panic!("{} was expected to list: {error}", directory.display()),
        })
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    paths.sort();
    paths
}
