//! `validate --format github` and `--format sarif`, the finding codes in every format, the README's
//! table of codes, and connections files checked whole (the pre-commit hook's way).

use std::collections::BTreeSet;

use conn_schema::Code;
mod support;

use serde_json::Value;
use support::{run, run_exiting, stdout, workspace};

/// One error per kind of source: a typo and a missing key, a syntax error, a warning only, and a
/// file that cannot be read.
const FILES: [&str; 3] = [
    "tests/fixtures/invalid/typo-provider-key.json",
    "tests/fixtures/invalid/syntax-trailing-comma.json",
    "tests/fixtures/valid/workload-identity-ignored-api-key.json",
];

fn sarif_schema() -> Value {
    let path = workspace().join("tests/sarif/sarif-schema-2.1.0.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the vendored SARIF schema"))
        .expect("the SARIF schema is JSON")
}

/// Every violation of the official SARIF 2.1.0 schema, as `pointer: message` lines.
fn sarif_violations(log: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(&sarif_schema()).expect("the SARIF schema compiles");
    validator
        .iter_errors(log)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

#[test]
fn sarif_is_a_valid_sarif_2_1_0_log_with_a_rule_per_code() {
    let output = run(&[&["validate", "--format", "sarif"], &FILES[..]].concat());
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let log: Value = serde_json::from_slice(&output.stdout).expect("--format sarif prints JSON");
    assert_eq!(sarif_violations(&log), Vec::<String>::new());

    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "openai-conn");
    assert!(driver["informationUri"].as_str().is_some());
    let rules = support::texts_at(&driver["rules"], "id");
    let codes: Vec<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
    assert_eq!(rules, codes);

    let results = runs[0]["results"].as_array().expect("results");
    let found: BTreeSet<(&str, &str)> = results
        .iter()
        .map(|result| {
            (
                result["ruleId"].as_str().expect("ruleId"),
                result["level"].as_str().expect("level"),
            )
        })
        .collect();
    let expected: BTreeSet<(&str, &str)> = [
        ("missing-required", "error"),
        ("unknown-key", "error"),
        ("syntax", "error"),
        ("ignored-credential", "warning"),
    ]
    .into();
    assert_eq!(found, expected);
    let typo = results
        .iter()
        .find(|result| result["ruleId"] == "unknown-key")
        .expect("the typo");
    let location = &typo["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], FILES[0]);
    assert_eq!(location["region"]["startLine"], 3);
    assert_eq!(location["region"]["startColumn"], 3);

    insta::assert_snapshot!("sarif", stdout(&output));
}

/// The schema check itself can fail: a log that breaks the schema is caught.
#[test]
fn the_sarif_schema_check_rejects_a_broken_log() {
    let output = run(&["validate", "--format", "sarif", FILES[0]]);
    let mut log: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert_eq!(
        sarif_violations(&log).len(),
        2,
        "{:?}",
        sarif_violations(&log)
    );
}

#[test]
fn sarif_reports_unreadable_files_and_exits_2() {
    let output = run_exiting(
        &[
            "validate",
            "--format",
            "sarif",
            "examples/gcp.json",
            "tests/fixtures/no-such-file.json",
        ],
        2,
    );
    let log: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(sarif_violations(&log), Vec::<String>::new());
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["ruleId"], "unreadable");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "tests/fixtures/no-such-file.json"
    );
}

#[test]
fn github_prints_one_workflow_command_per_finding() {
    let output = run(&[&["validate", "--format", "github"], &FILES[..]].concat());
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines.contains(&"::error file=tests/fixtures/invalid/typo-provider-key.json,line=3,col=3,endLine=3,endColumn=29,title=unknown-key::unknown key \"workload_identity_providr\"%0Ahelp: did you mean \"workload_identity_provider\"?"),
        "{text}"
    );
    assert!(
        lines.iter().any(|line| line.starts_with(
            "::warning file=tests/fixtures/valid/workload-identity-ignored-api-key.json,line="
        ) && line.contains(",title=ignored-credential::")),
        "{text}"
    );
    insta::assert_snapshot!("github", text);

    let clean = run_exiting(&["validate", "--format", "github", "examples/gcp.json"], 0);
    assert_eq!(stdout(&clean), "");

    let missing = run_exiting(
        &[
            "validate",
            "--format",
            "github",
            "tests/fixtures/no-such-file.json",
        ],
        2,
    );
    assert!(
        stdout(&missing).starts_with(
            "::error file=tests/fixtures/no-such-file.json,title=unreadable::cannot read tests/fixtures/no-such-file.json"
        ),
        "{}",
        stdout(&missing)
    );
}

#[test]
fn json_carries_the_code_of_every_finding() {
    let output = run(&[&["validate", "--format", "json"], &FILES[..]].concat());
    let findings: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    let codes: Vec<&str> = findings
        .iter()
        .map(|finding| finding["code"].as_str().expect("a code on every finding"))
        .collect();
    assert_eq!(
        codes,
        [
            "missing-required",
            "unknown-key",
            "syntax",
            "ignored-credential"
        ]
    );
}

#[test]
fn a_connections_file_without_conn_id_is_checked_whole() {
    let output = run_exiting(
        &[
            "validate",
            "--connections-file",
            "tests/fixtures/connections/airflow-connections.yaml",
        ],
        1,
    );
    let text = stdout(&output);
    for line in [
        "tests/fixtures/connections/airflow-connections.yaml#openai_default: ok (api_key)",
        "tests/fixtures/connections/airflow-connections.yaml#openai_gcp: ok (workload_identity, provider gcp)",
        "tests/fixtures/connections/airflow-connections.yaml#openai_broken:20:5: error[not-allowed-here]",
        "tests/fixtures/connections/airflow-connections.yaml#openai_uri: ok (api_key)",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }

    // As pre-commit calls it: the flag without a value, the files after the other arguments.
    let both = run_exiting(
        &[
            "validate",
            "--connections-file",
            "--format",
            "github",
            "tests/fixtures/connections/airflow-connections.json",
            "tests/fixtures/connections/airflow-connections.yaml",
        ],
        1,
    );
    assert_eq!(
        stdout(&both),
        "::error file=tests/fixtures/connections/airflow-connections.yaml,line=20,col=5,endLine=20,endColumn=12,title=not-allowed-here::tests/fixtures/connections/airflow-connections.yaml#openai_broken: key \"audience\" does not apply to workload_identity_provider \"azure\"%0Ahelp: it belongs to \"gcp\" and \"github_actions\"; remove it\n"
    );
}

#[test]
fn connections_of_other_types_are_skipped_and_syntax_errors_reported() {
    let folder = tempfile::tempdir().expect("tempdir");
    let mixed = folder.path().join("connections.json");
    std::fs::write(
        &mixed,
        r#"{
  "warehouse": {"conn_type": "postgres", "host": "db", "extra": {"sslmode": "require"}},
  "cache": "redis://:pw@cache:6379/0",
  "openai_default": {"conn_type": "openai", "extra": {"auth_typ": "api_key"}}
}"#,
    )
    .expect("write");
    let path = mixed.to_str().expect("utf-8");
    let output = run(&["validate", "--format", "json", "--connections-file", path]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let findings: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["file"], format!("{path}#openai_default"));
    assert_eq!(findings[0]["code"], "unknown-key");
    assert_eq!(findings[0]["line"], 4);

    let broken = folder.path().join("broken-connections.json");
    std::fs::write(&broken, "{\"openai_default\": {,}}").expect("write");
    let output = run_exiting(
        &[
            "validate",
            "--connections-file",
            broken.to_str().expect("utf-8"),
        ],
        1,
    );
    assert!(
        stdout(&output).contains(":1:21: error[syntax]: invalid JSON"),
        "{}",
        stdout(&output)
    );

    // The commands that need one connection still want an id.
    let plan = run_exiting(&["plan", "--connections-file", path], 2);
    assert!(String::from_utf8_lossy(&plan.stderr).contains("--conn-id"));
}

/// The README's table of codes lists every code, in order, with its example, and nothing else.
#[test]
fn the_readme_documents_every_code() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let rows: Vec<(String, String)> = readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let code = cells.first()?.strip_prefix("| `")?.strip_suffix('`')?;
            code.parse::<Code>().ok()?;
            Some((code.to_owned(), line.to_owned()))
        })
        .collect();
    let documented: Vec<&str> = rows.iter().map(|(code, _)| code.as_str()).collect();
    let codes: Vec<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
    assert_eq!(documented, codes, "the README's table of codes");
    for ((_, row), code) in rows.iter().zip(Code::ALL) {
        assert!(
            row.contains(&code.example().replace('|', "\\|")),
            "the README's row for {code} shows its example {:?}:\n{row}",
            code.example()
        );
    }
}

/// What code scanning shows about each rule: a name, a one-sentence short description, a full
/// description, help as text and Markdown, a link to the code's entry in the reference page, a
/// default level and tags; the credential codes are security alerts with a severity score.
#[test]
fn sarif_rules_describe_themselves_and_credential_codes_are_security_alerts() {
    let output = run(&[&["validate", "--format", "sarif"], &FILES[..]].concat());
    let log: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    for (rule, code) in rules.iter().zip(Code::ALL) {
        let id = code.as_str();
        let name = rule["name"].as_str().expect("name");
        assert!(
            !name.is_empty() && name.chars().all(char::is_alphanumeric),
            "{id}: {name}"
        );
        let short = rule["shortDescription"]["text"].as_str().expect("short");
        assert!(
            short.ends_with('.') && !short.contains(". ") && short.len() <= 80,
            "{id}: {short}"
        );
        let full = rule["fullDescription"]["text"].as_str().expect("full");
        assert!(full.len() > short.len(), "{id}");
        assert!(
            rule["help"]["text"]
                .as_str()
                .is_some_and(|text| text.contains(code.example()))
        );
        let markdown = rule["help"]["markdown"].as_str().expect("markdown");
        let uri = rule["helpUri"].as_str().expect("helpUri");
        assert_eq!(
            uri,
            format!("{}#code-{id}", conn_schema::schema::SCHEMA_BASE_URL)
        );
        assert!(markdown.contains(&format!("]({uri})")), "{id}: {markdown}");
        let level = rule["defaultConfiguration"]["level"]
            .as_str()
            .expect("level");
        let warning = matches!(
            id,
            "ignored-credential"
                | "ignored-uri-part"
                | "cleartext-http"
                | "ignored-credential-header"
                | "exposed-private-key"
        );
        assert_eq!(level, if warning { "warning" } else { "error" }, "{id}");
        let tags: Vec<&str> = rule["properties"]["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|tag| tag.as_str().expect("a tag"))
            .collect();
        let security = matches!(
            id,
            "credentials-in-url"
                | "cleartext-http"
                | "ignored-credential-header"
                | "exposed-private-key"
        );
        assert_eq!(tags.contains(&"security"), security, "{id}: {tags:?}");
        let score = rule["properties"]["security-severity"].as_str();
        assert_eq!(score.is_some(), security, "{id}");
        if let Some(score) = score {
            let score: f64 = score.parse().expect("a number, as GitHub reads it");
            assert!((0.1..=10.0).contains(&score), "{id}: {score}");
        }
    }
    // A result's level is its rule's default level.
    for result in log["runs"][0]["results"].as_array().expect("results") {
        let rule = &rules[result["ruleIndex"].as_u64().expect("index") as usize];
        assert_eq!(result["level"], rule["defaultConfiguration"]["level"]);
    }
}

/// Regions span the key or value in JSON, YAML and TOML; a source without a position or a file
/// still has a valid location.
#[test]
fn sarif_regions_span_keys_and_values_and_every_result_has_a_location() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let toml = directory.path().join("conn.toml");
    std::fs::write(&toml, "auth_type = \"api_key\"\ntimeot = 3\n").expect("a file");
    let toml = toml.to_str().expect("a UTF-8 path");
    let mut results = Vec::new();
    for args in [
        &["tests/fixtures/invalid/typo-provider-key.json"][..],
        &[
            "--connections-file",
            "tests/fixtures/connections/airflow-connections.yaml",
        ][..],
    ] {
        let output = run(&[&["validate", "--format", "sarif"], args].concat());
        let log: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(sarif_violations(&log), Vec::<String>::new());
        results.extend(
            log["runs"][0]["results"]
                .as_array()
                .expect("results")
                .clone(),
        );
    }
    let regions: Vec<(String, String, Value)> = results
        .iter()
        .map(|result| {
            let location = &result["locations"][0]["physicalLocation"];
            (
                location["artifactLocation"]["uri"]
                    .as_str()
                    .expect("uri")
                    .to_owned(),
                result["ruleId"].as_str().expect("rule").to_owned(),
                location["region"].clone(),
            )
        })
        .collect();
    let region = |uri: &str, rule: &str| {
        regions
            .iter()
            .find(|(u, r, _)| u == uri && r == rule)
            .map(|(_, _, region)| region.clone())
            .unwrap_or_else(|| panic!("no {rule} in {uri}: {regions:?}"))
    };
    // `"workload_identity_providr"`, quotes included.
    assert_eq!(
        region(
            "tests/fixtures/invalid/typo-provider-key.json",
            "unknown-key"
        ),
        serde_json::json!({"startLine": 3, "startColumn": 3, "endLine": 3, "endColumn": 30})
    );
    // The YAML key `audience`.
    assert_eq!(
        region(
            "tests/fixtures/connections/airflow-connections.yaml",
            "not-allowed-here"
        ),
        serde_json::json!({"startLine": 20, "startColumn": 5, "endLine": 20, "endColumn": 13})
    );

    let output = run(&["validate", "--format", "sarif", toml]);
    let log: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "unknown-key");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"],
        serde_json::json!({"startLine": 2, "startColumn": 1, "endLine": 2, "endColumn": 7})
    );

    // An unreadable file: the file, at its first line. Standard input: a logical location.
    let output = support::with_stdin(
        &["validate", "--format", "sarif", "nope.json", "-"],
        "{\"auth_type\": 1}",
    );
    let log: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(sarif_violations(&log), Vec::<String>::new());
    let results = log["runs"][0]["results"].as_array().expect("results");
    let unreadable = &results[0];
    assert_eq!(unreadable["ruleId"], "unreadable");
    assert_eq!(
        unreadable["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    let stdin = &results[1];
    assert_eq!(
        stdin["locations"][0]["logicalLocations"][0]["name"],
        "<stdin>"
    );
    for result in results {
        assert_eq!(result["locations"].as_array().map(Vec::len), Some(1));
    }
}
