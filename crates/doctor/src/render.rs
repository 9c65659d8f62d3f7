//! The report for people: one block per step, its facts indented under it, each hint as
//! `warn[code]: message`. Every piece of text that came from a file, a server or a token is
//! escaped for the terminal (`conn_schema::escape_controls`, the escaping the CLI's other human
//! output uses), so none can forge a line or send a terminal sequence.

use conn_schema::escape_controls;
use serde_json::Value;

use crate::{Report, Status};

/// The report as lines for a terminal.
pub fn render_human(report: &Report) -> String {
    let mut out = format!(
        "openai-conn doctor: connection {}\n",
        escape_controls(&format!("{:?}", report.conn_id))
    );
    for step in &report.steps {
        let label = format!("[{}]", step.status.as_str());
        match &step.reason {
            Some(reason) if step.status == Status::Skipped => out.push_str(&format!(
                "{label:<10}{}: {}\n",
                step.id.as_str(),
                escape_controls(reason)
            )),
            _ => out.push_str(&format!(
                "{label:<10}{} ({} ms)\n",
                step.id.as_str(),
                step.took_ms
            )),
        }
        for (name, value) in &step.facts {
            fact(&mut out, "    ", name, value);
        }
        for hint in &step.hints {
            let level = if step.status == Status::Fail {
                "fail"
            } else {
                "warn"
            };
            out.push_str(&format!(
                "    {level}[{}]: {}\n",
                hint.code,
                escape_controls(&hint.message)
            ));
        }
    }
    let failed = report
        .steps
        .iter()
        .filter(|step| step.status == Status::Fail)
        .count();
    let warned = report
        .steps
        .iter()
        .filter(|step| step.status == Status::Warn)
        .count();
    out.push_str(&format!(
        "result: {} ({failed} failed, {warned} with warnings)\n",
        if report.ok { "ok" } else { "fail" }
    ));
    out
}

fn fact(out: &mut String, indent: &str, name: &str, value: &Value) {
    let name = escape_controls(name);
    match value {
        // A time fact (`exp`, `nbf`, `iat`): the date and how far it is, on one line.
        Value::Object(map) if map.contains_key("utc") && map.contains_key("relative") => {
            out.push_str(&format!(
                "{indent}{name}: {} ({})\n",
                scalar(&map["utc"]),
                scalar(&map["relative"])
            ));
        }
        Value::Object(map) if !map.is_empty() => {
            out.push_str(&format!("{indent}{name}:\n"));
            let deeper = format!("{indent}  ");
            for (name, value) in map {
                fact(out, &deeper, name, value);
            }
        }
        other => out.push_str(&format!("{indent}{name}: {}\n", scalar(other))),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => escape_controls(text),
        Value::Null => "none".to_owned(),
        Value::Array(items) if items.is_empty() => "none".to_owned(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        Value::Object(_) => "{}".to_owned(),
        other => other.to_string(),
    }
}
