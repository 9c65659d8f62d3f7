//! Criterion benches of validation: the example connections through `validate` (a library call),
//! and compiling the published schema with `jsonschema`.
#![allow(missing_docs)]

use conn_schema::schema::{connection_schema, extra_schema};
use conn_schema::{DocumentKind, SchemaValidator, validate};
use criterion::{Criterion, criterion_group, criterion_main};

fn examples() -> Vec<String> {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut texts: Vec<String> = std::fs::read_dir(directory)
        .expect("examples/")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .map(|path| std::fs::read_to_string(path).expect("example"))
        .collect();
    texts.sort();
    texts
}

fn validate_examples(c: &mut Criterion) {
    let texts = examples();
    c.bench_function("validate every example connection", |b| {
        b.iter(|| {
            for text in &texts {
                assert!(!validate(text, DocumentKind::Auto).has_errors());
            }
        })
    });
}

fn compile_schema(c: &mut Criterion) {
    let (extra, connection) = (extra_schema(), connection_schema());
    c.bench_function("compile the extra schema", |b| {
        b.iter(|| SchemaValidator::new(&extra).expect("compiles"))
    });
    c.bench_function("compile the connection schema", |b| {
        b.iter(|| SchemaValidator::new(&connection).expect("compiles"))
    });
}

/// Thousands of unknown keys on one line (2 000 are about 23 KB), each a finding with a
/// snippet of that line. Rendering used to rescan the line for every finding (34 s for 2 000, 128 s
/// for 3 000); it is now linear, so the 4 000-key case takes about twice the 2 000-key one.
fn many_findings_on_one_line(c: &mut Criterion) {
    for count in [2000, 4000] {
        let keys: Vec<String> = (0..count).map(|i| format!("\"k{i:04}\":\"v\"")).collect();
        let text = format!("{{\"conn_type\":\"openai\",{}}}", keys.join(","));
        c.bench_function(
            &format!("validate and render {count} unknown keys on one line"),
            |b| {
                b.iter(|| {
                    let report = validate(&text, DocumentKind::Auto);
                    assert!(report.diagnostics().len() >= count);
                    report.render("one-line.json").len()
                })
            },
        );
    }
}

criterion_group!(
    benches,
    validate_examples,
    compile_schema,
    many_findings_on_one_line
);
criterion_main!(benches);
