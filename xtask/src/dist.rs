//! `cargo xtask dist [--out DIR]`: what a release uploads to the Python package index, built on
//! this machine: the sdist and the Linux x86_64 wheel, tagged `manylinux_2_17` (manylinux2014)
//! so that the index accepts it and pip installs it on any glibc Linux from 2014 on.
//!
//! The tools come from the Python package index into a venv under the target directory: maturin
//! builds, zig (the `ziglang` wheel) links against glibc 2.17 whatever this machine's glibc is,
//! twine checks the metadata and auditwheel confirms the platform tag. Wheels for the other
//! platforms (Linux aarch64, macOS x86_64 and arm64, Windows) need their own machines: the
//! release workflow `.github/workflows/release.yml` builds them. musllinux would need the
//! `x86_64-unknown-linux-musl` Rust target, which this machine cannot download.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{create_venv, expect_exit, expect_text, path_with, run_checked};

/// maturin, pinned: the build backend `pyproject.toml` names accepts `>=1.16,<2`.
pub(crate) const MATURIN: &str = "maturin==1.16.0";
/// zig for maturin's `--zig` (links against an old glibc), pinned.
const ZIGLANG: &str = "ziglang==0.13.0";
/// twine (`twine check`), pinned.
const TWINE: &str = "twine==7.0.0";
/// auditwheel (`auditwheel show`), pinned.
const AUDITWHEEL: &str = "auditwheel==6.8.2";
/// The platform tag of the Linux wheel, as maturin's `--compatibility` and auditwheel name it.
const MANYLINUX: &str = "manylinux2014";
/// The tag auditwheel must report: glibc 2.17, x86_64.
const MANYLINUX_TAG: &str = "manylinux_2_17_x86_64";
/// Where the default output goes, under the target directory.
const DEFAULT_OUT: &str = "dist";

/// The packages a tools venv gets for building and checking distributions.
pub(crate) const TOOLS: [&str; 4] = [MATURIN, ZIGLANG, TWINE, AUDITWHEEL];

/// `cargo xtask dist`: a tools venv, the sdist and the release wheel in `out`, both checked.
pub(crate) fn run(root: &Path, out: Option<PathBuf>) -> Result<()> {
    let work = crate::target_dir(root).join(DEFAULT_OUT);
    let out = out.unwrap_or_else(|| work.clone());
    let tools = tools_venv(&work.join("tools-venv"), &TOOLS)?;
    if out.exists() {
        for path in distributions(&out)? {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    let sdist = build_sdist(root, &tools, &out)?;
    let wheel = build_wheel(root, &tools, "release", &out)?;
    check_distributions(&tools, &[sdist.as_path(), wheel.as_path()])?;
    eprintln!("xtask: wrote {} and {}", sdist.display(), wheel.display());
    Ok(())
}

/// A venv at `venv` with `packages` (pinned `name==version`) installed, created or refilled when
/// a stamp file says it holds other ones.
pub(crate) fn tools_venv(venv: &Path, packages: &[&str]) -> Result<PathBuf> {
    let stamp = venv.join("installed.txt");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|text| text == wanted) {
        return Ok(venv.to_path_buf());
    }
    create_venv(venv)?;
    run_checked(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(packages),
    )?;
    std::fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(venv.to_path_buf())
}

/// `maturin sdist`: the source distribution; returns its path.
pub(crate) fn build_sdist(root: &Path, tools: &Path, out: &Path) -> Result<PathBuf> {
    run_checked(
        Command::new(tools.join("bin").join("maturin"))
            .args(["sdist", "--out"])
            .arg(out)
            .current_dir(root),
    )?;
    one_file(out, ".tar.gz")
}

/// `maturin build --zig --compatibility manylinux2014` in `profile`: the wheel the index takes for
/// Linux x86_64; returns its path. The build shares the workspace's target directory, so a dev
/// build reuses what the tests compiled (only the C parts built with zig's compiler differ).
pub(crate) fn build_wheel(root: &Path, tools: &Path, profile: &str, out: &Path) -> Result<PathBuf> {
    run_checked(
        Command::new(tools.join("bin").join("maturin"))
            .args(["build", "--locked", "--profile", profile, "--zig"])
            .args(["--compatibility", MANYLINUX, "--out"])
            .arg(out)
            .env("CARGO_TARGET_DIR", crate::target_dir(root))
            // maturin runs zig as `python -m ziglang`, with the venv's Python.
            .env("PATH", path_with(&tools.join("bin")))
            .current_dir(root),
    )?;
    one_file(out, ".whl")
}

/// `twine check --strict` on every file, and `auditwheel show` on the wheels: the metadata the
/// index renders is valid, and the wheel's platform tag is manylinux_2_17 for x86_64.
pub(crate) fn check_distributions(tools: &Path, files: &[&Path]) -> Result<()> {
    let bin = tools.join("bin");
    run_checked(
        Command::new(bin.join("twine"))
            .args(["check", "--strict"])
            .args(files),
    )?;
    for wheel in files
        .iter()
        .filter(|file| file.extension() == Some(OsStr::new("whl")))
    {
        let name = wheel
            .file_name()
            .map(OsStr::to_string_lossy)
            .unwrap_or_default();
        if !name.contains(MANYLINUX_TAG) {
            bail!("{name} is not tagged {MANYLINUX_TAG}");
        }
        let shown = expect_exit(
            Command::new(bin.join("auditwheel")).arg("show").arg(wheel),
            0,
            "auditwheel show",
        )?;
        expect_text(&shown, &format!("\"{MANYLINUX_TAG}\""))?;
    }
    eprintln!("xtask: twine check and auditwheel show passed");
    Ok(())
}

/// This package's sdists and wheels in `folder` (nothing else there is touched).
fn distributions(folder: &Path) -> Result<Vec<PathBuf>> {
    Ok(std::fs::read_dir(folder)
        .with_context(|| format!("reading {}", folder.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            let name = path
                .file_name()
                .map(OsStr::to_string_lossy)
                .unwrap_or_default();
            name.starts_with("openai_conn-")
                && (name.ends_with(".whl") || name.ends_with(".tar.gz"))
        })
        .collect())
}

/// The one file in `folder` whose name ends with `suffix`.
fn one_file(folder: &Path, suffix: &str) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = distributions(folder)?
        .into_iter()
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    match (found.pop(), found.is_empty()) {
        (Some(path), true) => Ok(path),
        _ => bail!("expected exactly one *{suffix} in {}", folder.display()),
    }
}
