//! `validate --format sarif`: one SARIF 2.1.0 log (OASIS Static Analysis Results Interchange
//! Format), the form GitHub code scanning and other tools upload.
//!
//! One run; the tool's driver lists one rule per finding code, described from the codes table
//! (`conn_schema::Code`: its summary, help, example, default level, security meaning, and the
//! URL of its entry in the reference page), and each finding is a result pointing at its rule.
//! Every result has a location: a file with a region that spans the key or value (line 1 when
//! the finding has no position, such as an unreadable file), or, for standard input and
//! environment variables, a logical location that names the source. Columns count characters,
//! which SARIF calls `unicodeCodePoints`; a region's end is the character after it.

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
    let rules: Vec<Value> = Code::ALL.iter().map(|code| rule(*code)).collect();
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

/// The rule of `code`: what code-scanning tools show about every alert of that code.
fn rule(code: Code) -> Value {
    let level = code.severity().as_str();
    let help_uri = code.help_uri();
    let mut properties = match code.security() {
        Some(security) => json!({
            "tags": ["security", format!("external/cwe/cwe-{}", security.cwe)],
            "security-severity": security.severity,
        }),
        None => json!({
            "tags": [match code.severity() {
                Severity::Error => "correctness",
                Severity::Warning => "maintainability",
            }],
        }),
    };
    properties["precision"] = json!("very-high");
    json!({
        "id": code.as_str(),
        "name": code.name(),
        "shortDescription": { "text": code.summary() },
        "fullDescription": { "text": code.help() },
        "help": {
            "text": format!(
                "{}\n\nExample message: {}\n\nSee {help_uri}",
                code.help(),
                code.example()
            ),
            "markdown": format!(
                "{}\n\nExample message: `{}`\n\nSee [`{}` in the reference]({help_uri}).",
                code.help(),
                code.example().replace('`', "'"),
                code.as_str(),
            ),
        },
        "helpUri": help_uri,
        "defaultConfiguration": { "level": level },
        "properties": properties,
    })
}

fn result(finding: &Finding<'_>) -> Value {
    let level = finding.severity.as_str();
    let mut text = finding.headed_message();
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
    result["locations"] = json!([location(finding)]);
    result
}

/// Where a finding is: its file and region, or a logical location naming a source that is not a
/// file. The region spans the key or value; a finding without a position (an unreadable file,
/// a value set by an environment variable) points at the file's first line.
fn location(finding: &Finding<'_>) -> Value {
    let Some(file) = finding.file else {
        return json!({
            "logicalLocations": [{ "name": finding.label, "kind": "resource" }],
        });
    };
    let mut region = json!({ "startLine": 1 });
    if let (Some(at), None) = (finding.location, finding.origin) {
        region = json!({
            "startLine": at.line,
            "startColumn": at.column.max(1),
        });
        let end = (at.end_line, at.end_column);
        if end > (at.line, at.column.max(1)) {
            region["endLine"] = json!(end.0);
            region["endColumn"] = json!(end.1);
        }
    }
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(file) },
            "region": region,
        }
    })
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
            pointer: "",
            location: Some(Location::span((2, 0), (2, 4))),
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
        assert_eq!(
            (&region["endLine"], &region["endColumn"]),
            (&json!(2), &json!(4))
        );
    }
}
