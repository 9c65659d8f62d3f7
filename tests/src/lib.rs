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
