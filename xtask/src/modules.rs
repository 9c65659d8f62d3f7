//! The module rule of `cargo xtask tidy`: inside every crate of the workspace (libraries, the CLI
//! and xtask alike), the top-level modules import each other without a cycle, so each crate reads
//! as a pipeline from leaf modules (errors, wire formats) up to its entry points.
//!
//! An import is any `crate::NAME` path outside a `//` comment (a `use` line, a `crate::{a, b}`
//! group, or a path in code) from a file of one top-level module to another top-level module of
//! the same crate. The crate root (`lib.rs`, `main.rs`) only declares and re-exports, and is not a
//! node.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Which top-level module imports which, for the crate whose sources are in `src`.
pub(crate) type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every cycle of `use crate::` imports between the top-level modules of the crates under
/// `root`'s `crates/` and of `xtask`, one line each: `crate-dir: a -> b -> a`.
pub(crate) fn cycles(root: &Path) -> Result<Vec<String>> {
    let mut source_dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .context("listing crates/")?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("src")))
        .filter(|src| src.is_dir())
        .collect();
    source_dirs.push(root.join("xtask/src"));
    source_dirs.sort();
    let mut found = Vec::new();
    for src in source_dirs {
        let name = src
            .parent()
            .and_then(Path::file_name)
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        for cycle in cycles_of(&graph(&src)?) {
            found.push(format!("{name}: {}", cycle.join(" -> ")));
        }
    }
    Ok(found)
}

/// The import graph of the crate whose sources are in `src`.
pub(crate) fn graph(src: &Path) -> Result<Graph> {
    let mut files = Vec::new();
    collect_rs(src, &mut files)?;
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|file| top_level_module(src, file))
        .collect();
    let mut graph = Graph::new();
    for file in &files {
        let Some(from) = top_level_module(src, file) else {
            continue;
        };
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let targets = graph.entry(from.clone()).or_default();
        for to in crate_paths(&text) {
            if to != from && modules.contains(&to) {
                targets.insert(to);
            }
        }
    }
    Ok(graph)
}

fn collect_rs(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_rs(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// `src/a.rs` and `src/a/b.rs` belong to `a`; the crate roots and `src/bin` belong to none.
fn top_level_module(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_string_lossy();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (!matches!(name.as_str(), "lib" | "main" | "bin")).then_some(name)
}

/// The first segment of every `crate::` path in `text` outside `//` comments, groups expanded
/// (`crate::{a::X, b}` gives `a` and `b`).
pub(crate) fn crate_paths(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut start = 0;
    while let Some(offset) = code[start..].find("crate::") {
        let at = start + offset;
        start = at + "crate::".len();
        let preceded_by_ident = at > 0
            && bytes
                .get(at - 1)
                .is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_');
        if preceded_by_ident {
            continue;
        }
        let rest = &code[start..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            for (index, character) in group.char_indices() {
                match character {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        found.insert(identifier(&group[index..]));
                        item_start = false;
                    }
                    c if !c.is_whitespace() => item_start = false,
                    _ => {}
                }
            }
        } else {
            let name = identifier(rest);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every cycle of `graph`, one per strongly connected component of two or more modules, shown as
/// a path through it that returns to its first module.
pub(crate) fn cycles_of(graph: &Graph) -> Vec<Vec<String>> {
    let mut cycles = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for start in graph.keys() {
        if done.contains(start.as_str()) {
            continue;
        }
        if let Some(path) = path_back(graph, start) {
            for module in &path {
                done.insert(
                    graph
                        .get_key_value(module)
                        .map_or("", |(key, _)| key.as_str()),
                );
            }
            let mut cycle = path;
            cycle.push(start.clone());
            cycles.push(cycle);
        }
    }
    cycles
}

/// A shortest path of imports from `start` back to `start` (without its last step), if any.
fn path_back(graph: &Graph, start: &str) -> Option<Vec<String>> {
    let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(module) = queue.pop_front() {
        for next in graph.get(module).into_iter().flatten() {
            if next == start {
                let mut path = vec![module.to_owned()];
                let mut at = module;
                while at != start {
                    at = previous[at];
                    path.push(at.to_owned());
                }
                path.reverse();
                return Some(path);
            }
            if !previous.contains_key(next.as_str()) {
                previous.insert(next, module);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_paths_read_use_lines_groups_and_code_but_not_comments() {
        let text = "use crate::cache::TokenCache;\n\
                    use crate::{exchange::ExchangeError, token};\n\
                    let x = crate::plan::plan(a);\n\
                    // crate::commented::out\n\
                    use other_crate::x;\n\
                    /// [`crate::docs`]\n";
        let found: Vec<String> = crate_paths(text).into_iter().collect();
        assert_eq!(found, ["cache", "exchange", "plan", "token"]);
    }

    /// The rule bites: two modules importing each other are a cycle, reported as a path.
    #[test]
    fn a_cycle_of_imports_is_reported() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let src = dir.path();
        std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\nmod c;\n").expect("written");
        std::fs::write(src.join("a.rs"), "use crate::b::B;\n").expect("written");
        std::fs::create_dir(src.join("b")).expect("created");
        std::fs::write(src.join("b/mod.rs"), "mod inner;\n").expect("written");
        std::fs::write(src.join("b/inner.rs"), "use crate::{c::C};\n").expect("written");
        std::fs::write(src.join("c.rs"), "pub(crate) fn f() { crate::a::g() }\n").expect("written");
        let imports = graph(src).expect("the sources read");
        assert_eq!(cycles_of(&imports), [["a", "b", "c", "a"]]);

        std::fs::write(src.join("c.rs"), "pub(crate) fn f() {}\n").expect("written");
        let imports = graph(src).expect("the sources read");
        assert!(cycles_of(&imports).is_empty());
    }

    #[test]
    fn no_crate_of_the_workspace_has_a_module_cycle() {
        let found = cycles(&crate::workspace_root()).expect("the sources read");
        assert!(found.is_empty(), "{found:#?}");
    }
}
