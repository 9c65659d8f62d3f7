//! `cargo xtask tidy`: dependency direction, read from `cargo metadata`, and no cycle of
//! `use crate::` imports between the modules of a crate (`modules.rs`).
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

/// The most crates each of these crates may compile, itself included: its normal dependency
/// closure as `cargo tree -e normal -p CRATE --prefix none` lists it, de-duplicated.
pub(crate) const WEIGHT_LIMITS: &[(&str, usize)] = &[
    ("providers-core", 12),
    ("providers-kubernetes", 15),
    // 30 without the `url` crate; it (with idna's Unicode tables) is the one reading of a URL
    // that validation shares with reqwest, and brings the rest.
    ("conn-schema", 60),
    // providers-http and a handful more (99 measured): TLS stays rustls on `ring`, and the test
    // CA (rcgen) stays behind the `test-util` feature. A second crypto provider (aws-lc-rs)
    // or a certificate parser in the normal tree would push it past this.
    ("providers-x509", 100),
    // openai-conn-client (154) plus conn-load and base64 (173 measured): the diagnosis adds no
    // stack of its own.
    ("openai-conn-doctor", 175),
    // openai-conn-client (154) plus itself and httpdate (hyper's server writes `Date`): the
    // server side of hyper and http-body-util are already in the client's tree.
    ("openai-conn-proxy", 156),
];

/// The client and the crates below it: all that the crates right above it (the proxy) may reach.
const CLIENT_AND_BELOW: [&str; 10] = [
    "conn-schema",
    "providers-core",
    "providers-http",
    "providers-kubernetes",
    "providers-custom",
    "providers-azure",
    "providers-gcp",
    "providers-github",
    "providers-x509",
    "openai-conn-client",
];
/// [`CLIENT_AND_BELOW`] and conn-load.
const CLIENT_AND_BELOW_AND_LOAD: [&str; 11] = with(CLIENT_AND_BELOW, "conn-load");

/// `list` and `name`, at compile time.
const fn with<const N: usize, const M: usize>(
    list: [&'static str; N],
    name: &'static str,
) -> [&'static str; M] {
    assert!(M == N + 1, "one name more");
    let mut all = [name; M];
    let mut index = 0;
    while index < N {
        all[index] = list[index];
        index += 1;
    }
    all
}

/// Dependencies point downward only: each of these crates may reach, of the workspace's own
/// crates, only the ones listed with it (those below it in ARCHITECTURE.md's picture). A crate of
/// the workspace that is not listed here may reach any of them.
pub(crate) const DIRECTION: &[(&str, &[&str])] = &[
    // providers-core is the lowest crate: conn-schema takes its loopback rule from there.
    ("conn-schema", &["providers-core"]),
    ("conn-load", &["conn-schema", "providers-core"]),
    ("providers-core", &[]),
    ("providers-http", &["providers-core"]),
    // Sources know no connection format: they reach the core (and the HTTP ones providers-http),
    // never conn-schema; openai-conn-client holds the one mapping from the model to them.
    ("providers-kubernetes", &["providers-core"]),
    ("providers-custom", &["providers-core"]),
    ("providers-azure", &["providers-core", "providers-http"]),
    ("providers-gcp", &["providers-core", "providers-http"]),
    ("providers-github", &["providers-core", "providers-http"]),
    // The certificate files are plain paths too; the mutual-TLS clients come from providers-http.
    ("providers-x509", &["providers-core", "providers-http"]),
    // The diagnosis sits below the CLI only.
    ("openai-conn-doctor", &CLIENT_AND_BELOW_AND_LOAD),
    // The proxy forwards with the client's resolution, cache and transport; the CLI starts it.
    ("openai-conn-proxy", &CLIENT_AND_BELOW),
];

pub(crate) fn check(root: &Path) -> Result<()> {
    let metadata = metadata(root)?;
    let mut violations = all_violations(&metadata);
    violations.extend(
        crate::modules::cycles(root)?
            .into_iter()
            .map(|cycle| format!("module cycle in {cycle}")),
    );
    for (crate_name, limit) in WEIGHT_LIMITS {
        let tree = normal_tree(root, crate_name)?;
        if let Some(excess) = overweight(crate_name, *limit, &tree) {
            violations.push(excess);
        }
    }
    if violations.is_empty() {
        eprintln!(
            "xtask: tidy ok: {} reach none of {}; dependencies point downward; no module imports itself back; weights within {}",
            LIGHT_CRATES.join(", "),
            FORBIDDEN.join(", "),
            WEIGHT_LIMITS
                .iter()
                .map(|(name, limit)| format!("{name} <= {limit}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Every crate's weight, measured the same way: the figures of README's crate map.
        let mut weights = Vec::new();
        for crate_name in workspace_crates(&metadata) {
            let tree = normal_tree(root, crate_name)?;
            weights.push(format!("{crate_name} {}", parse_tree(&tree).0.len()));
        }
        eprintln!(
            "xtask: crates compiled (itself included): {}",
            weights.join(", ")
        );
        return Ok(());
    }
    bail!("tidy failed:\n  {}", violations.join("\n  "))
}

/// Both structural rules: no HTTP or async stack under the light crates, and no upward dependency
/// (which also keeps every source away from the connection model).
pub(crate) fn all_violations(metadata: &Value) -> Vec<String> {
    let mut found = violations(metadata, LIGHT_CRATES, FORBIDDEN);
    let ours = workspace_crates(metadata);
    for (crate_name, below) in DIRECTION {
        let above: Vec<&str> = ours
            .iter()
            .copied()
            .filter(|name| name != crate_name && !below.contains(name))
            .collect();
        found.extend(violations(metadata, &[crate_name], &above));
    }
    found
}

/// The names of the workspace's member packages.
pub(crate) fn workspace_crates(metadata: &Value) -> Vec<&str> {
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|package| {
            package["id"]
                .as_str()
                .is_some_and(|id| members.contains(id))
        })
        .filter_map(|package| package["name"].as_str())
        .collect()
}

/// `cargo tree -e normal -p CRATE --prefix depth --no-dedupe`: every line is a depth and a crate.
pub(crate) fn normal_tree(root: &Path, crate_name: &str) -> Result<String> {
    let args = [
        "tree",
        "-e",
        "normal",
        "-p",
        crate_name,
        "--prefix",
        "depth",
        "--no-dedupe",
        "--locked",
    ];
    let stdout = cargo_stdout(root, &args, &format!("cargo tree -p {crate_name}"))?;
    String::from_utf8(stdout).context("cargo tree printed something that is not UTF-8")
}

/// The crates of a `--prefix depth` tree, de-duplicated (the root included), and for each direct
/// dependency the crates of its own subtree.
fn parse_tree(tree: &str) -> (BTreeSet<&str>, Vec<(&str, BTreeSet<&str>)>) {
    let mut all = BTreeSet::new();
    let mut direct: Vec<(&str, BTreeSet<&str>)> = Vec::new();
    for line in tree.lines() {
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        let (Ok(depth), rest) = (line[..digits].parse::<usize>(), &line[digits..]) else {
            continue;
        };
        // `name vX.Y.Z`, then `(path)` or `(proc-macro)` for some: the name and version identify
        // a crate.
        let mut words = rest.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        let id = &rest[..rest.find(version).unwrap_or(0) + version.len()];
        let id = id.trim();
        debug_assert!(id.starts_with(name));
        all.insert(id);
        match depth {
            0 => {}
            1 => direct.push((id, BTreeSet::from([id]))),
            _ => {
                if let Some((_, subtree)) = direct.last_mut() {
                    subtree.insert(id);
                }
            }
        }
    }
    (all, direct)
}

/// `None` when `crate_name`'s tree has at most `limit` crates; else the message that says by how
/// much and which direct dependency brings the most crates no other dependency brings.
pub(crate) fn overweight(crate_name: &str, limit: usize, tree: &str) -> Option<String> {
    let (all, direct) = parse_tree(tree);
    if all.len() <= limit {
        return None;
    }
    let mut blame: Vec<(usize, &str, Vec<&str>)> = direct
        .iter()
        .map(|(name, subtree)| {
            let only_here: Vec<&str> = subtree
                .iter()
                .copied()
                .filter(|id| {
                    !direct
                        .iter()
                        .any(|(other, theirs)| other != name && theirs.contains(id))
                })
                .collect();
            (only_here.len(), *name, only_here)
        })
        .collect();
    blame.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let culprit = blame
        .first()
        .map(|(count, name, crates)| {
            format!(
                "; {name} pushed it over: it alone brings {count} crate(s): {}",
                crates.join(", ")
            )
        })
        .unwrap_or_default();
    Some(format!(
        "{crate_name} compiles {} crates, over its limit of {limit}{culprit}",
        all.len()
    ))
}

pub(crate) fn metadata(root: &Path) -> Result<Value> {
    let args = ["metadata", "--format-version", "1", "--locked"];
    let stdout = cargo_stdout(root, &args, "cargo metadata")?;
    serde_json::from_slice(&stdout).context("parsing cargo metadata")
}

/// What `cargo ARGS` (run in `root`) prints; when it fails, an error naming it as `what`, with
/// its stderr.
fn cargo_stdout(root: &Path, args: &[&str], what: &str) -> Result<Vec<u8>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .output()
        .with_context(|| format!("running cargo {}", args[0]))?;
    if !output.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(output.stdout)
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

    #[test]
    fn light_crates_stay_within_their_weight() {
        let root = crate::workspace_root();
        for (crate_name, limit) in WEIGHT_LIMITS {
            let tree = normal_tree(&root, crate_name).expect("cargo tree");
            assert_eq!(overweight(crate_name, *limit, &tree), None);
        }
    }

    /// The weight rule bites, and names the dependency that brings the most: conn-schema is over a
    /// limit of 5, and url (with idna's Unicode tables) brings more crates than any other
    /// dependency.
    #[test]
    fn an_overweight_crate_is_reported_with_the_dependency_that_pushed_it_over() {
        let tree = normal_tree(&crate::workspace_root(), "conn-schema").expect("cargo tree");
        let message = overweight("conn-schema", 5, &tree).expect("over 5");
        assert!(
            message.starts_with("conn-schema compiles ")
                && message.contains("over its limit of 5; url v"),
            "{message}"
        );
    }

    /// A source that reached the connection model would break the direction rule.
    #[test]
    fn no_source_reaches_the_connection_model() {
        let metadata = metadata(&crate::workspace_root()).expect("cargo metadata");
        for (crate_name, below) in DIRECTION {
            if crate_name.starts_with("providers-") {
                assert!(!below.contains(&"conn-schema"), "{crate_name}");
                assert!(!below.contains(&"conn-load"), "{crate_name}");
            }
        }
        // And the rule reports such an edge with its path (conn-load does reach conn-schema).
        assert_eq!(
            violations(&metadata, &["conn-load"], &["conn-schema"]),
            ["conn-load reaches conn-schema via conn-load -> conn-schema"]
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
