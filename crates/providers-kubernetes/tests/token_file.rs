//! The public API of `providers-kubernetes` against real files in a temporary directory.

use std::path::{Path, PathBuf};

use providers_core::{SourceError, SubjectToken, SubjectTokenSource, TokenType};
use providers_kubernetes::{KubernetesError, KubernetesSource};
use secrecy::ExposeSecret;

/// Writes `contents` to `dir/name` and returns the path.
fn token_file(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("the temporary directory is writable");
    path
}

fn fetch(source: &KubernetesSource) -> Result<SubjectToken, SourceError> {
    // The source reads with `std::fs`: its future finishes without an async runtime.
    futures_executor::block_on(source.fetch())
}

/// What fetching from the token file at `path` fails with.
fn fetch_error(path: &Path) -> SourceError {
    fetch(&KubernetesSource::new(path)).expect_err("reading the token file fails")
}

/// Fetches from the token file at `path`, which must fail with a [`KubernetesError`] matching
/// `pattern`; gives the error.
macro_rules! fetch_fails_with {
    ($path:expr, $pattern:pat) => {{
        let error = fetch_error($path);
        let cause = kubernetes_error(&error);
        assert!(
            matches!(cause, $pattern),
            "{}: expected {}, got {cause:?}",
            $path.display(),
            stringify!($pattern)
        );
        error
    }};
}

fn kubernetes_error(error: &SourceError) -> &KubernetesError {
    assert_eq!(error.provider(), "kubernetes");
    assert_eq!(error.step(), "reading the token file");
    assert!(!error.is_transient(), "{error}");
    error
        .cause()
        .downcast_ref::<KubernetesError>()
        .expect("the cause is this crate's error")
}

#[test]
fn reads_and_trims_the_token_as_a_jwt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = token_file(dir.path(), "token", "  eyJ.header.signature-one\n\n");

    let token = fetch(&KubernetesSource::new(&path)).expect("token");
    assert_eq!(token.secret().expose_secret(), "eyJ.header.signature-one");
    assert_eq!(token.token_type(), TokenType::Jwt);
    assert_eq!(KubernetesSource::TOKEN_TYPE, TokenType::Jwt);
}

#[test]
fn every_fetch_reads_the_file_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("token");
    let source = KubernetesSource::new(&path);

    std::fs::write(&path, "eyJ.first").expect("write token");
    assert_eq!(
        fetch(&source).expect("first").secret().expose_secret(),
        "eyJ.first"
    );
    std::fs::write(&path, "eyJ.second").expect("rewrite token");
    assert_eq!(
        fetch(&source).expect("second").secret().expose_secret(),
        "eyJ.second"
    );
}

/// Lays out a projected volume the way the kubelet does: `token -> ..data/token` and
/// `..data -> <timestamped dir>`, the directory holding the real file.
#[cfg(unix)]
fn write_generation(volume: &Path, generation: &str, token: &str) {
    let data_dir = volume.join(generation);
    std::fs::create_dir(&data_dir).expect("create timestamped dir");
    std::fs::write(data_dir.join("token"), token).expect("write token");
}

#[cfg(unix)]
#[test]
fn rotation_by_an_atomic_data_symlink_swap_is_picked_up() {
    use std::os::unix::fs::symlink;

    let volume = tempfile::tempdir().expect("temp dir");
    let volume = volume.path();
    write_generation(volume, "..2024_01_01_00_00_00.111", "eyJ.generation-one\n");
    symlink("..2024_01_01_00_00_00.111", volume.join("..data")).expect("link ..data");
    symlink("..data/token", volume.join("token")).expect("link token");
    let source = KubernetesSource::new(volume.join("token"));
    assert_eq!(
        fetch(&source).expect("first").secret().expose_secret(),
        "eyJ.generation-one"
    );

    // The kubelet's swap: a new timestamped directory, a temporary symlink to it, and a rename
    // over `..data`, which replaces the link atomically. The `token` link itself never changes.
    write_generation(volume, "..2024_01_02_00_00_00.222", "eyJ.generation-two\n");
    symlink("..2024_01_02_00_00_00.222", volume.join("..data_tmp")).expect("link ..data_tmp");
    std::fs::rename(volume.join("..data_tmp"), volume.join("..data")).expect("swap ..data");
    std::fs::remove_dir_all(volume.join("..2024_01_01_00_00_00.111")).expect("remove old");

    let token = fetch(&source).expect("after rotation");
    assert_eq!(token.secret().expose_secret(), "eyJ.generation-two");
    assert_eq!(token.token_type(), TokenType::Jwt);
}

#[test]
fn a_missing_file_is_not_found_and_names_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("absent");

    let error = fetch_fails_with!(&path, KubernetesError::NotFound { .. });
    let cause = kubernetes_error(&error);
    assert_eq!(cause.path(), path);
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    assert!(error.to_string().contains("does not exist"), "{error}");
}

#[test]
fn an_empty_or_blank_file_is_empty_and_names_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, contents) in [("empty", ""), ("blank", " \n\t\n")] {
        let path = token_file(dir.path(), name, contents);

        let error = fetch_fails_with!(&path, KubernetesError::Empty { .. });
        let cause = kubernetes_error(&error);
        assert_eq!(
            cause.to_string(),
            format!("token file {} is empty; expected a JWT", path.display())
        );
    }
}

#[test]
fn a_file_that_is_not_utf8_is_rejected_without_echoing_its_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = token_file(dir.path(), "token", b"eyJ.secret-prefix\xff\xfe");

    let error = fetch_fails_with!(&path, KubernetesError::NotUtf8 { .. });
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains("secret-prefix"), "{text}");
    }
}

#[test]
fn a_directory_is_a_read_error_that_names_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");

    let error = fetch(&KubernetesSource::new(dir.path())).expect_err("a directory");
    let cause = kubernetes_error(&error);
    assert!(matches!(cause, KubernetesError::Read { .. }), "{cause:?}");
    assert_eq!(cause.path(), dir.path());
}

#[test]
fn debug_of_the_source_and_the_token_never_shows_the_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = token_file(dir.path(), "token", "eyJ.very-secret-value");
    let source = KubernetesSource::new(&path);

    let token = fetch(&source).expect("token");
    for text in [format!("{source:?}"), format!("{token:?}")] {
        assert!(!text.contains("very-secret-value"), "{text}");
    }
    assert!(format!("{source:?}").contains("token"));
}

#[test]
fn the_source_works_as_a_shared_trait_object() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = token_file(dir.path(), "token", "eyJ.shared");

    let source: std::sync::Arc<dyn SubjectTokenSource> =
        std::sync::Arc::new(KubernetesSource::new(&path));
    let token = futures_executor::block_on(source.fetch()).expect("token");
    assert_eq!(token.secret().expose_secret(), "eyJ.shared");
}
