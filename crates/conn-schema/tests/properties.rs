//! Property tests: on generated JSON and on generated near-valid extras, validation never panics
//! and the typed parser and the published schema always agree on valid/invalid.

mod common;

use common::Published;
use conn_schema::{DocumentKind, validate};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Keys the model knows, from the one key table, so generated objects often hit real rules rather
/// than only "unknown key".
fn known_keys() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for key in conn_schema::keys::KEYS {
        if !names.contains(&key.name) {
            names.push(key.name);
        }
    }
    names
}

/// Values the rules care about: enum values (right and wrong case), ids, URLs, edge numbers.
const WORDS: &[&str] = &[
    "api_key",
    "workload_identity",
    "Workload_Identity",
    "kubernetes",
    "azure",
    "gcp",
    "custom",
    "github_actions",
    "x509",
    "/etc/tls/tls.crt",
    "jwt",
    "id",
    "idp-1",
    "",
    "https://api.openai.com/v1",
    "api.openai.com",
    "http://127.0.0.1:1/v1",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|number| json!(number)),
        prop_oneof![Just(-1.0), Just(0.0), Just(0.5), Just(1200.0), Just(1e300)]
            .prop_map(|number: f64| json!(number)),
        proptest::sample::select(WORDS).prop_map(|word| json!(word)),
        "[a-z_]{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        proptest::sample::select(known_keys()).prop_map(str::to_owned),
                        "[a-z_]{1,10}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid extra for each provider, then one random edit: a key removed, a key added with a
/// generated value, or a value replaced.
fn near_valid_extra() -> impl Strategy<Value = Value> {
    let bases = vec![
        json!({"auth_type": "workload_identity", "workload_identity_provider": "kubernetes", "identity_provider_id": "i", "service_account_id": "s"}),
        json!({"auth_type": "workload_identity", "workload_identity_provider": "azure", "identity_provider_id": "i", "service_account_id": "s", "client_id": "c"}),
        json!({"auth_type": "workload_identity", "workload_identity_provider": "gcp", "identity_provider_id": "i", "service_account_id": "s", "audience": "a"}),
        json!({"auth_type": "workload_identity", "workload_identity_provider": "custom", "identity_provider_id": "i", "service_account_id": "s", "token_command": ["x"]}),
        json!({"auth_type": "workload_identity", "workload_identity_provider": "github_actions", "identity_provider_id": "i", "service_account_id": "s"}),
        json!({"auth_type": "workload_identity", "workload_identity_provider": "x509", "identity_provider_id": "i", "service_account_id": "s", "certificate_path": "c", "private_key_path": "k"}),
        json!({"auth_type": "api_key", "openai_client_kwargs": {"base_url": "https://x/v1", "timeout": 5, "max_retries": 1}}),
    ];
    (
        proptest::sample::select(bases),
        0usize..3,
        proptest::sample::select(known_keys()),
        scalar(),
    )
        .prop_map(|(mut base, edit, key, value)| {
            let map = base.as_object_mut().expect("bases are objects");
            match edit {
                0 => {
                    map.remove(key);
                }
                _ => {
                    map.insert(key.to_owned(), value);
                }
            }
            base
        })
}

fn assert_agreement(published: &Published, value: &Value) -> Result<(), TestCaseError> {
    let text = serde_json::to_string_pretty(value).expect("generated values serialize");
    let report = validate(&text, DocumentKind::Auto);
    prop_assert!(report.well_formed());
    let schema_errors = published.errors(value, report.kind());
    prop_assert_eq!(
        report.has_errors(),
        !schema_errors.is_empty(),
        "{}\nparser: {:?}\nschema: {:?}",
        text,
        report.diagnostics(),
        schema_errors
    );
    for diagnostic in report.diagnostics() {
        prop_assert!(
            diagnostic
                .location
                .is_some_and(|at| at.line >= 1 && at.column >= 1)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn generated_json_values_agree(value in json_value()) {
        thread_local!(static PUBLISHED: Published = Published::load());
        PUBLISHED.with(|published| assert_agreement(published, &value))?;
    }

    #[test]
    fn near_valid_extras_agree(value in near_valid_extra()) {
        thread_local!(static PUBLISHED: Published = Published::load());
        PUBLISHED.with(|published| assert_agreement(published, &value))?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let report = validate(&text, DocumentKind::Auto);
        prop_assert!(report.well_formed() || report.has_errors());
    }
}
