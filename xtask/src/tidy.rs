//! `cargo xtask tidy`: dependency direction, read from `cargo metadata`.
//!
//! The crates a user may take alone (the schema, the core trait, the Kubernetes file source) must
//! not drag an async runtime or an HTTP stack into their build.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Crates that must stay free of [`FORBIDDEN`] in their normal dependency tree.
pub(crate) const LIGHT_CRATES: &[&str] = &["conn-schema", "providers-core", "providers-kubernetes"];
/// What they must not reach.
pub(crate) const FORBIDDEN: &[&str] = &["tokio", "reqwest", "hyper"];

/// Every crate of the product, for the direction rule.
pub(crate) const OUR_CRATES: &[&str] = &[
    "conn-schema",
    "providers-core",
    "providers-http",
    "providers-kubernetes",
    "providers-azure",
    "providers-gcp",
    "providers-github",
    "providers-custom",
    "providers-x509",
    "openai-client",
    "openai-conn",
];

/// Dependencies point downward only: each of these crates may reach, of [`OUR_CRATES`], only the
/// ones listed with it (those below it in ARCHITECTURE.md's picture).
pub(crate) const DIRECTION: &[(&str, &[&str])] = &[
    ("conn-schema", &[]),
    ("providers-core", &[]),
    ("providers-http", &["providers-core"]),
    ("providers-x509", &["providers-core", "providers-http"]),
];

pub(crate) fn check(root: &Path) -> Result<()> {
    let metadata = metadata(root)?;
    let violations = all_violations(&metadata);
    if violations.is_empty() {
        eprintln!(
            "xtask: tidy ok: {} reach none of {}; dependencies point downward",
            LIGHT_CRATES.join(", "),
            FORBIDDEN.join(", ")
        );
        return Ok(());
    }
    bail!(
        "dependency direction broken:\n  {}",
        violations.join("\n  ")
    )
}

/// Both rules: no HTTP or async stack under the light crates, and no upward dependency.
pub(crate) fn all_violations(metadata: &Value) -> Vec<String> {
    let mut found = violations(metadata, LIGHT_CRATES, FORBIDDEN);
    for (crate_name, below) in DIRECTION {
        let above: Vec<&str> = OUR_CRATES
            .iter()
            .copied()
            .filter(|name| name != crate_name && !below.contains(name))
            .collect();
        found.extend(violations(metadata, &[crate_name], &above));
    }
    found
}

pub(crate) fn metadata(root: &Path) -> Result<Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).context("parsing cargo metadata")
}

/// For each light crate, every forbidden crate reachable through normal (not dev or build)
/// dependencies, with the path that reaches it.
pub(crate) fn violations(metadata: &Value, light: &[&str], forbidden: &[&str]) -> Vec<String> {
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|package| Some((package["id"].as_str()?, package["name"].as_str()?)))
        .collect();
    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    for node in metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        for dependency in node["deps"].as_array().into_iter().flatten() {
            let normal = dependency["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|kind| kind["kind"].is_null());
            if let (true, Some(target)) = (normal, dependency["pkg"].as_str()) {
                edges.entry(id).or_default().push(target);
            }
        }
    }
    let mut found = Vec::new();
    for crate_name in light {
        let Some(start) = names
            .iter()
            .find(|(_, name)| *name == crate_name)
            .map(|(id, _)| *id)
        else {
            continue;
        };
        let mut seen = BTreeSet::new();
        let mut stack = vec![(start, vec![*crate_name])];
        while let Some((id, path)) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            for next in edges.get(id).into_iter().flatten() {
                let name = names.get(next).copied().unwrap_or("?");
                let mut next_path = path.clone();
                next_path.push(name);
                if forbidden.contains(&name) {
                    found.push(format!(
                        "{crate_name} reaches {name} via {}",
                        next_path.join(" -> ")
                    ));
                } else {
                    stack.push((next, next_path));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_crates_reach_no_http_or_async_stack_and_dependencies_point_downward() {
        let metadata = metadata(&crate::workspace_root()).expect("cargo metadata");
        let violations = all_violations(&metadata);
        assert!(violations.is_empty(), "{violations:#?}");
    }

    /// The direction rule bites: providers-gcp depends on providers-http, so forbidding that
    /// edge reports it with its path.
    #[test]
    fn an_upward_dependency_is_reported_with_its_path() {
        let metadata = metadata(&crate::workspace_root()).expect("cargo metadata");
        let violations = violations(&metadata, &["providers-gcp"], &["providers-http"]);
        assert_eq!(
            violations,
            ["providers-gcp reaches providers-http via providers-gcp -> providers-http"]
        );
    }

    /// The rule bites: conn-schema reaches serde_json, so forbidding serde_json must report it.
    #[test]
    fn a_forbidden_dependency_is_reported_with_its_path() {
        let metadata = metadata(&crate::workspace_root()).expect("cargo metadata");
        let violations = violations(&metadata, &["conn-schema"], &["serde_json"]);
        assert!(
            violations.iter().any(|line| line
                .starts_with("conn-schema reaches serde_json via conn-schema -> serde_json")),
            "{violations:#?}"
        );
    }
}
