//! Running the programs the tasks drive (Python, pip, maturin, pre-commit, git): each command is
//! shown as it runs, and a failure shows its output.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Output};

use anyhow::{Context, Result, bail};

/// A child process killed (and waited for) when dropped, so an early return leaves none behind.
pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh venv at `venv` (an old one is removed), made by `$PYTHON` or `python3`.
pub(crate) fn create_venv(venv: &Path) -> Result<()> {
    if venv.exists() {
        std::fs::remove_dir_all(venv).with_context(|| format!("removing {}", venv.display()))?;
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run_checked(Command::new(&python).args(["-m", "venv"]).arg(venv))
        .with_context(|| format!("the wheel test needs Python 3.8 or later as `{python}`"))?;
    Ok(())
}

/// `PATH` with `directory` first.
pub(crate) fn path_with(directory: &Path) -> std::ffi::OsString {
    let mut paths = vec![directory.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

pub(crate) fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` with its output going straight to the terminal, and fails unless it succeeds;
/// `what` names the command in the errors.
pub(crate) fn run_status(command: &mut Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Runs `command` with its output shown, and fails unless it exits 0.
pub(crate) fn run_checked(command: &mut Command) -> Result<Output> {
    let output = expect_exit(command, 0, "")?;
    Ok(output)
}

/// Runs `command`, captures its output, and fails (showing the output) unless it exits `code`.
pub(crate) fn expect_exit(command: &mut Command, code: i32, what: &str) -> Result<Output> {
    let described = describe(command);
    eprintln!("xtask: {described}");
    let output = command
        .output()
        .with_context(|| format!("running {described}"))?;
    if output.status.code() != Some(code) {
        bail!(
            "{} exited with {} (expected {code})\n--- stdout\n{}\n--- stderr\n{}",
            if what.is_empty() { &described } else { what },
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}

pub(crate) fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub(crate) fn expect_text(output: &Output, needle: &str) -> Result<()> {
    let text = text(output);
    if !text.contains(needle) {
        bail!("expected {needle:?} in the output:\n{text}");
    }
    Ok(())
}
