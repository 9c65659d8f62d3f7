//! `validate --format github`: one GitHub Actions workflow command per finding, which the runner
//! turns into an annotation on the file and line.
//!
//! The escaping is GitHub's own (the `@actions/core` toolkit's `escapeData` and
//! `escapeProperty`): in the message `%`, CR and LF; in property values also `:` and `,`, which
//! would otherwise end the value.

use crate::finding::Finding;

/// The workflow command for one finding:
/// `::error file=F,line=L,col=C,endLine=L,endColumn=E,title=CODE::MESSAGE`, where `col` to
/// `endColumn` (both included) is the key or value the finding is about. A span over several
/// lines has `line` and `endLine` only (GitHub takes columns on one line only). A finding
/// without a file (standard input, an environment variable) has no `file`; one without a
/// position has no `line` or `col`.
pub(crate) fn command(finding: &Finding<'_>) -> String {
    let kind = finding.severity.as_str();
    let mut properties: Vec<(&str, String)> = Vec::new();
    if let Some(file) = finding.file {
        properties.push(("file", file.display().to_string()));
        if let (Some(at), None) = (finding.location, finding.origin) {
            let (line, column) = (at.line, at.column.max(1));
            // GitHub's end column is the last character, SARIF's (and ours) the one after.
            let end_column = at.end_column.saturating_sub(1).max(column);
            properties.push(("line", line.to_string()));
            if at.end_line > line {
                properties.push(("endLine", at.end_line.to_string()));
            } else {
                properties.push(("col", column.to_string()));
                properties.push(("endLine", line.to_string()));
                properties.push(("endColumn", end_column.to_string()));
            }
        }
    }
    properties.push(("title", finding.code.as_str().to_owned()));
    let properties = properties
        .iter()
        .map(|(name, value)| format!("{name}={}", escape_property(value)))
        .collect::<Vec<_>>()
        .join(",");
    format!("::{kind} {properties}::{}", escape_data(&message(finding)))
}

/// The annotation's text: where the finding is when the file alone does not say it (an entry of
/// a connections file, standard input, an overriding variable), the message, and the
/// suggestion on its own line.
fn message(finding: &Finding<'_>) -> String {
    let mut text = finding.headed_message();
    if let Some(suggestion) = finding.suggestion {
        text.push_str("\nhelp: ");
        text.push_str(suggestion);
    }
    text
}

/// A command's message: `%`, CR and LF escaped.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: as [`escape_data`], and `:` and `,` too.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use conn_schema::{Code, Location, Severity};

    use super::*;

    fn finding<'a>(file: Option<&'a Path>, label: &'a str) -> Finding<'a> {
        Finding {
            file,
            label,
            severity: Severity::Error,
            code: Code::UnknownKey,
            pointer: "",
            location: Some(Location::span((3, 5), (3, 8))),
            message: "unknown key \"x\"".to_owned(),
            suggestion: None,
            origin: None,
        }
    }

    #[test]
    fn data_and_properties_are_escaped_as_github_documents() {
        assert_eq!(escape_data("100% a:b,c\r\nnext"), "100%25 a:b,c%0D%0Anext");
        assert_eq!(
            escape_property("100% a:b,c\r\nnext"),
            "100%25 a%3Ab%2Cc%0D%0Anext"
        );
        // `%` first, so the escapes themselves are not escaped again.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn a_finding_in_a_file_has_its_position_and_code() {
        let path = Path::new("conf/a,b:c.json");
        let mut one = finding(Some(path), "conf/a,b:c.json");
        one.suggestion = Some("did you mean \"y\"? 100%");
        assert_eq!(
            command(&one),
            "::error file=conf/a%2Cb%3Ac.json,line=3,col=5,endLine=3,endColumn=7,title=unknown-key::unknown key \"x\"%0Ahelp: did you mean \"y\"? 100%25"
        );
    }

    #[test]
    fn warnings_entries_and_sources_without_a_file() {
        let path = Path::new("connections.yaml");
        let mut entry = finding(Some(path), "connections.yaml#openai_gcp");
        entry.severity = Severity::Warning;
        entry.code = Code::IgnoredCredential;
        assert_eq!(
            command(&entry),
            "::warning file=connections.yaml,line=3,col=5,endLine=3,endColumn=7,title=ignored-credential::connections.yaml#openai_gcp: unknown key \"x\""
        );
        let stdin = finding(None, "<stdin>");
        assert_eq!(
            command(&stdin),
            "::error title=unknown-key::<stdin>: unknown key \"x\""
        );
        let mut object = finding(Some(path), "connections.yaml");
        object.location = Some(Location::span((3, 5), (9, 2)));
        assert_eq!(
            command(&object),
            "::error file=connections.yaml,line=3,endLine=9,title=unknown-key::unknown key \"x\""
        );
        let mut unplaced = finding(Some(path), "connections.yaml");
        unplaced.location = None;
        assert_eq!(
            command(&unplaced),
            "::error file=connections.yaml,title=unknown-key::unknown key \"x\""
        );
        let mut overridden = finding(Some(path), "connections.yaml");
        overridden.origin = Some("env OPENAI_CONN_EXTRA__AUDIENCE");
        assert_eq!(
            command(&overridden),
            "::error file=connections.yaml,title=unknown-key::env OPENAI_CONN_EXTRA__AUDIENCE: unknown key \"x\""
        );
    }
}
