//! The API base in a document (`host`, `openai_client_kwargs.base_url`): plain http to another host
//! is a warning at the value, credentials in the URL an error whose message and snippet hold none.

use conn_schema::{Code, Diagnostic, DocumentKind, Severity, api_base_finding, validate};

#[test]
fn a_plain_http_base_to_another_host_is_a_warning_at_its_value() {
    let host = "{\n  \"conn_type\": \"openai\",\n  \"host\": \"http://api.example.com/v1\",\n  \"password\": \"sk-x\"\n}";
    let base_url =
        "{\n  \"openai_client_kwargs\": {\n    \"base_url\": \"http://10.0.0.5:8080/v1\"\n  }\n}";
    for (text, pointer, line, column) in [
        (host, "/host", 3, 11),
        (base_url, "/openai_client_kwargs/base_url", 3, 17),
    ] {
        let report = validate(text, DocumentKind::Auto);
        assert!(!report.has_errors(), "{}", report.render("conn.json"));
        assert!(report.connection().is_some());
        let found: Vec<_> = report
            .diagnostics()
            .iter()
            .filter(|diagnostic| diagnostic.code == Code::CleartextHttp)
            .collect();
        assert_eq!(found.len(), 1, "{}", report.render("conn.json"));
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(
            (
                found[0].pointer.as_str(),
                found[0].location.map(|at| (at.line, at.column))
            ),
            (pointer, Some((line, column)))
        );
    }
    for quiet in [
        "https://api.example.com/v1",
        "http://localhost:8080/v1",
        "http://127.0.0.1:8080/v1",
        "http://[::1]:8080/v1",
    ] {
        let text = format!(r#"{{"openai_client_kwargs": {{"base_url": "{quiet}"}}}}"#);
        let report = validate(&text, DocumentKind::Auto);
        assert!(
            report.diagnostics().is_empty(),
            "{quiet}: {:?}",
            report.diagnostics()
        );
    }
}

#[test]
fn credentials_in_a_base_are_an_error_that_repeats_none_of_them() {
    for text in [
        r#"{"conn_type": "openai", "host": "https://sk-USERINFO-1@api.example.com/v1"}"#,
        r#"{"openai_client_kwargs": {"base_url": "https://u:sk-USERINFO-1@api.example.com/v1"}}"#,
    ] {
        let report = validate(text, DocumentKind::Auto);
        let codes: Vec<Code> = report.diagnostics().iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::CredentialsInUrl], "{text}");
        let rendered = report.render("conn.json");
        assert!(!rendered.contains("USERINFO"), "{rendered}");
    }
}

/// A finding added after validation (the CLI adds what `OPENAI_BASE_URL` does) keeps the rule
/// "a connection only when there are no errors": a warning keeps the connection, an error drops
/// it; a finding without a place is printed against the file alone.
#[test]
fn an_error_added_to_a_report_drops_its_connection() {
    let added = |url: &str| {
        let finding = api_base_finding("OPENAI_BASE_URL", url).expect("a finding");
        Diagnostic {
            severity: finding.severity,
            code: finding.code,
            pointer: String::new(),
            origin: None,
            location: None,
            message: finding.message,
            suggestion: Some(finding.suggestion),
        }
    };
    let mut report = validate(r#"{"conn_type": "openai"}"#, DocumentKind::Auto);
    assert!(report.connection().is_some());
    report.extend([added("http://api.example.com/v1")]);
    assert!(!report.has_errors());
    assert!(report.connection().is_some());
    report.extend([added("https://u:sk-USERINFO-1@api.example.com/v1")]);
    assert!(report.has_errors());
    assert!(report.connection().is_none());
    assert!(report.into_connection().is_none());

    let mut report = validate(r#"{"conn_type": "openai"}"#, DocumentKind::Auto);
    report.extend([added("https://u:sk-USERINFO-1@api.example.com/v1")]);
    let rendered = report.render("conn.json");
    assert!(
        rendered.starts_with("conn.json: error[credentials-in-url]: \"OPENAI_BASE_URL\""),
        "{rendered}"
    );
}
