//! `validate --format sarif`: one SARIF 2.1.0 log (OASIS Static Analysis Results Interchange
//! Format), the form GitHub code scanning and other tools upload.
//!
//! One run; the tool's driver lists one rule per finding code (its id is the code, its
//! description the code's help text), and each finding is a result pointing at its rule. Columns
//! count characters, which SARIF calls `unicodeCodePoints`.

use std::path::{Component, Path};

use conn_schema::{Code, Severity};
use serde_json::{Value, json};

use crate::finding::Finding;

/// The schema the log names, the OASIS standard's (errata 01) published copy.
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// Where people learn about the tool, shown by code-scanning UIs.
const INFORMATION_URI: &str = "https://openai-conn.github.io/";

/// The SARIF log of `findings`.
pub(crate) fn log(findings: &[Finding<'_>]) -> Value {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|code| {
            json!({
                "id": code.as_str(),
                "shortDescription": { "text": code.help() },
                "help": { "text": format!("{} Example: {}", code.help(), code.example()) },
            })
        })
        .collect();
    let results: Vec<Value> = findings.iter().map(result).collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "openai-conn",
                    "informationUri": INFORMATION_URI,
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

fn result(finding: &Finding<'_>) -> Value {
    let level = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut text = String::new();
    if let Some(origin) = finding.origin {
        text.push_str(origin);
        text.push_str(": ");
    } else if finding
        .file
        .map(|file| file.display().to_string())
        .as_deref()
        != Some(finding.label)
    {
        text.push_str(finding.label);
        text.push_str(": ");
    }
    text.push_str(&finding.message);
    if let Some(suggestion) = finding.suggestion {
        text.push_str(" (help: ");
        text.push_str(suggestion);
        text.push(')');
    }
    let mut result = json!({
        "ruleId": finding.code.as_str(),
        "ruleIndex": Code::ALL.iter().position(|code| *code == finding.code),
        "level": level,
        "message": { "text": text },
    });
    if let Some(file) = finding.file {
        let mut location = json!({ "artifactLocation": { "uri": uri(file) } });
        if let (Some(at), None) = (finding.location, finding.origin) {
            location["region"] = json!({
                "startLine": at.line,
                "startColumn": at.column.max(1),
            });
        }
        result["locations"] = json!([{ "physicalLocation": location }]);
    }
    result
}

/// A file path as a URI reference: a relative path stays relative (code scanning resolves it
/// against the repository root), an absolute one becomes a `file://` URI; every byte outside
/// RFC 3986's unreserved characters (and `/`) is percent-encoded.
fn uri(path: &Path) -> String {
    let mut segments: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => segments.push(encode(&part.to_string_lossy())),
            Component::ParentDir => segments.push("..".to_owned()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    let joined = segments.join("/");
    if path.is_absolute() {
        format!("file:///{joined}")
    } else {
        joined
    }
}

fn encode(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use conn_schema::Location;

    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(
            uri(Path::new("tests/fixtures/a.json")),
            "tests/fixtures/a.json"
        );
        assert_eq!(
            uri(Path::new("./conf/my conn#1.json")),
            "conf/my%20conn%231.json"
        );
        assert_eq!(uri(Path::new("/srv/x/é.yaml")), "file:///srv/x/%C3%A9.yaml");
        assert_eq!(uri(Path::new("../up.toml")), "../up.toml");
    }

    #[test]
    fn every_code_is_a_rule_and_results_point_at_theirs() {
        let finding = Finding {
            file: Some(Path::new("a.json")),
            label: "a.json",
            severity: Severity::Warning,
            code: Code::IgnoredCredential,
            location: Some(Location { line: 2, column: 0 }),
            message: "m".to_owned(),
            suggestion: Some("s"),
            origin: None,
        };
        let log = log(&[finding]);
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        assert_eq!(rules.len(), Code::ALL.len());
        let result = &run["results"][0];
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert_eq!(result["ruleId"], "ignored-credential");
        assert_eq!(result["level"], "warning");
        assert_eq!(result["message"]["text"], "m (help: s)");
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 2);
        assert_eq!(region["startColumn"], 1);
    }
}
