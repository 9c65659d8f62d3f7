//! Compatibility profiles: which program a connection must work in.
//!
//! The default profile, [`Profile::OpenaiConn`], is what this project reads. [`Profile::Airflow`]
//! adds, as errors, everything Apache Airflow's OpenAI provider (2.2.0) would reject or silently
//! ignore, so a connection that passes it behaves the same in Airflow and here:
//!
//! - a `workload_identity_provider` Airflow does not have ([`ProviderKind::known_to_airflow`]);
//! - the keys only this project reads ([`AIRFLOW_IGNORED_KEYS`]): Airflow ignores them, so the
//!   connection would silently lose its token source;
//! - a `custom` `token_provider` that is not a dotted Python import path (Airflow imports it).
//!
//! The same facts derive the Airflow schema ([`airflow_extra_schema`]), so editor and validator
//! cannot drift apart.

use serde_json::{Map, Value, json};

use crate::code::Code;
use crate::model::{AuthType, ProviderKind};
use crate::parse::{Anchor, Parser, marked_list};
use crate::pointer::child;
pub use crate::schema::{AIRFLOW_EXTRA_SCHEMA_FILE, AIRFLOW_EXTRA_SCHEMA_ID};
use crate::schema::{DIALECT, extra_schema};

/// Keys of `extra` this project reads and Airflow's OpenAI provider ignores.
pub const AIRFLOW_IGNORED_KEYS: [&str; 2] = ["token_command", "token_command_timeout_seconds"];

/// The rule Airflow's `import_string` applies to `token_provider`, as a JSON Schema `pattern`:
/// Python identifiers joined by dots, at least a module and an attribute. Kept equivalent to
/// [`is_python_import_path`] (a unit test checks both on the same examples).
pub const PYTHON_IMPORT_PATH_PATTERN: &str = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$";

/// Which program the connection must work in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// openai-conn itself: every provider and key this project supports. The default.
    #[default]
    OpenaiConn,
    /// Apache Airflow's OpenAI provider (2.2.0): additionally reports as errors what it would
    /// reject or silently ignore.
    Airflow,
}

impl Profile {
    /// Every profile, in the order the command line lists them.
    pub const ALL: [Profile; 2] = [Profile::OpenaiConn, Profile::Airflow];

    /// The profile's name on the command line (`--profile`).
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::OpenaiConn => "openai-conn",
            Profile::Airflow => "airflow",
        }
    }
}

impl ProviderKind {
    /// Whether Airflow's OpenAI provider (2.2.0) knows this `workload_identity_provider`.
    /// A new provider must decide here; the Airflow profile and schema follow from it.
    pub fn known_to_airflow(self) -> bool {
        match self {
            ProviderKind::Kubernetes
            | ProviderKind::Azure
            | ProviderKind::Gcp
            | ProviderKind::Custom => true,
            ProviderKind::GithubActions | ProviderKind::X509 => false,
        }
    }
}

/// The providers Airflow knows, in schema order.
fn airflow_providers() -> Vec<ProviderKind> {
    ProviderKind::ALL
        .into_iter()
        .filter(|kind| kind.known_to_airflow())
        .collect()
}

/// Whether `text` is a dotted Python import path (`package.module.attribute`), the form
/// Airflow's `import_string` accepts for `token_provider`.
pub fn is_python_import_path(text: &str) -> bool {
    let mut parts = 0;
    for part in text.split('.') {
        let mut characters = part.chars();
        let starts_well = characters
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_');
        if !starts_well
            || !characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
        {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

/// Adds the profile's findings for the `extra` object `extra` found at `pointer`. Under the
/// default profile it adds nothing. Only what the parser cannot already see is judged here;
/// the shape of every value is the parser's job.
pub(crate) fn check(profile: Profile, extra: Option<&Value>, pointer: &str, parser: &mut Parser) {
    if profile == Profile::OpenaiConn {
        return;
    }
    let Some(Value::Object(map)) = extra else {
        return;
    };
    let under_workload_identity =
        map.get("auth_type").and_then(Value::as_str) == Some(AuthType::WorkloadIdentity.as_str());
    let provider = map
        .get("workload_identity_provider")
        .and_then(Value::as_str)
        .and_then(|name| {
            ProviderKind::ALL
                .into_iter()
                .find(|kind| kind.as_str() == name)
        });
    if under_workload_identity
        && let Some(kind) = provider
        && !kind.known_to_airflow()
    {
        let known: Vec<&str> = airflow_providers()
            .into_iter()
            .map(ProviderKind::as_str)
            .collect();
        parser.error(
            Code::NotInAirflow,
            &child(pointer, "workload_identity_provider"),
            Anchor::Value,
            format!(
                "Airflow's OpenAI provider has no workload_identity_provider \"{}\"; it accepts {}",
                kind.as_str(),
                marked_list(&known, '"')
            ),
            Some(
                "use one of those (a \"custom\" token_provider can fetch any token), or check with \
                 --profile openai-conn if only openai-conn reads this connection"
                    .to_owned(),
            ),
        );
    }
    for key in AIRFLOW_IGNORED_KEYS {
        if map.contains_key(key) {
            parser.error(
                Code::NotInAirflow,
                &child(pointer, key),
                Anchor::Key,
                format!(
                    "Airflow's OpenAI provider ignores \"{key}\"; only openai-conn runs token commands"
                ),
                Some(
                    "in Airflow, set \"token_provider\" to the dotted import path of a function \
                     that returns the token"
                        .to_owned(),
                ),
            );
        }
    }
    if let Some(Value::Object(kwargs)) = map.get("openai_client_kwargs")
        && kwargs.contains_key("data_residency")
    {
        parser.error(
            Code::NotInAirflow,
            &child(&child(pointer, "openai_client_kwargs"), "data_residency"),
            Anchor::Key,
            "Airflow's OpenAI provider always passes a base URL, so the SDK refuses \"data_residency\" beside it"
                .to_owned(),
            Some(
                "in Airflow, put the region's URL in \"base_url\" or the connection host, such as \"https://eu.api.openai.com/v1\""
                    .to_owned(),
            ),
        );
    }
    if under_workload_identity && provider == Some(ProviderKind::Custom) {
        match map.get("token_provider") {
            Some(Value::String(name)) if !name.is_empty() && !is_python_import_path(name) => {
                parser.error(
                    Code::NotInAirflow,
                    &child(pointer, "token_provider"),
                    Anchor::Value,
                    "Airflow imports \"token_provider\", so it must be a dotted Python import path"
                        .to_owned(),
                    Some("for example \"my_company.tokens.get_openai_subject_token\"".to_owned()),
                );
            }
            None if map.contains_key("token_command") => parser.error(
                Code::MissingRequired,
                pointer,
                Anchor::Value,
                "missing required key \"token_provider\" (Airflow's OpenAI provider needs it when \
                 \"workload_identity_provider\" is \"custom\")"
                    .to_owned(),
                None,
            ),
            _ => {}
        }
    }
}

/// The schema of an `extra` that Airflow's OpenAI provider accepts exactly: the published `extra`
/// schema without the providers Airflow lacks and without [`AIRFLOW_IGNORED_KEYS`], with
/// `token_provider` required for `custom` and constrained to a dotted import path.
pub fn airflow_extra_schema() -> Value {
    let mut schema = extra_schema();
    let Value::Object(root) = &mut schema else {
        return schema;
    };
    root.insert("$schema".into(), json!(DIALECT));
    root.insert("$id".into(), json!(AIRFLOW_EXTRA_SCHEMA_ID));
    // No `title`, as in the other schemas (the YAML language server shows it in every hover).
    let description = "The `extra` object of an Apache Airflow `openai` connection, limited to \
                       what Airflow's OpenAI provider (2.2.0) reads: the auth type, workload \
                       identity with the kubernetes, azure, gcp or custom (import path) provider, \
                       and OpenAI client options.";
    root.insert("description".into(), json!(description));
    root.insert("markdownDescription".into(), json!(description));
    if let Some(Value::Object(definitions)) = root.get_mut("$defs") {
        restrict_definitions(definitions);
    }
    // Airflow's hook always passes a base URL, which the SDK refuses beside data_residency.
    if let Some(Value::Object(kwargs)) = root
        .get_mut("properties")
        .and_then(|properties| properties.get_mut("openai_client_kwargs"))
    {
        kwargs.shift_remove("if");
        kwargs.shift_remove("then");
        if let Some(Value::Object(properties)) = kwargs.get_mut("properties") {
            properties.shift_remove("data_residency");
        }
    }
    schema
}

fn restrict_definitions(definitions: &mut Map<String, Value>) {
    let unknown: Vec<&str> = ProviderKind::ALL
        .into_iter()
        .filter(|kind| !kind.known_to_airflow())
        .map(ProviderKind::as_str)
        .collect();
    for name in &unknown {
        definitions.remove(*name);
    }
    if let Some(Value::Object(workload_identity)) = definitions.get_mut("workload_identity") {
        if let Some(Value::Array(branches)) = workload_identity.get_mut("allOf") {
            branches.retain(|branch| {
                let target = branch.pointer("/then/$ref").and_then(Value::as_str);
                !unknown
                    .iter()
                    .any(|name| target == Some(format!("#/$defs/{name}").as_str()))
            });
        }
        if let Some(Value::Object(selector)) = workload_identity
            .get_mut("properties")
            .and_then(|properties| properties.get_mut("workload_identity_provider"))
        {
            remove_enum_values(selector, &unknown);
            let names: Vec<&str> = airflow_providers()
                .into_iter()
                .map(ProviderKind::as_str)
                .collect();
            let text = format!(
                "Where the subject token comes from: {}. Required under workload identity.",
                marked_list(&names, '`')
            );
            selector.insert("description".into(), json!(text));
            selector.insert("markdownDescription".into(), json!(text));
        }
    }
    if let Some(Value::Object(custom)) = definitions.get_mut(ProviderKind::Custom.as_str()) {
        // Airflow has one custom source, the import path: it is required, and alone.
        custom.remove("anyOf");
        custom.remove("if");
        custom.remove("then");
        custom.insert("required".into(), json!(["token_provider"]));
        let text = "Keys of the `custom` provider: `token_provider` (required) and `token_type`.";
        custom.insert("description".into(), json!(text));
        custom.insert("markdownDescription".into(), json!(text));
        if let Some(Value::Object(properties)) = custom.get_mut("properties") {
            for key in AIRFLOW_IGNORED_KEYS {
                properties.remove(key);
            }
            if let Some(Value::Object(provider)) = properties.get_mut("token_provider") {
                provider.insert("pattern".into(), json!(PYTHON_IMPORT_PATH_PATTERN));
                provider.insert(
                    "patternErrorMessage".into(),
                    json!(
                        "\"token_provider\" must be a dotted Python import path, such as \
                         \"my_company.tokens.get_openai_subject_token\"."
                    ),
                );
                let text = "Dotted import path of a zero-argument Python callable that returns \
                            the subject token, such as `my_company.tokens.get_openai_subject_token`; \
                            Airflow imports and calls it. Required when `workload_identity_provider` \
                            is `custom`.";
                provider.insert("description".into(), json!(text));
                provider.insert("markdownDescription".into(), json!(text));
            }
        }
    }
}

/// Drops `values` from an `enum` and its parallel description arrays.
fn remove_enum_values(schema: &mut Map<String, Value>, values: &[&str]) {
    let Some(Value::Array(items)) = schema.get("enum") else {
        return;
    };
    let keep: Vec<bool> = items
        .iter()
        .map(|item| !item.as_str().is_some_and(|name| values.contains(&name)))
        .collect();
    for key in ["enum", "enumDescriptions", "markdownEnumDescriptions"] {
        if let Some(Value::Array(items)) = schema.get_mut(key) {
            let mut index = 0;
            items.retain(|_| {
                let kept = keep.get(index).copied().unwrap_or(true);
                index += 1;
                kept
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMPORT_PATHS: [(&str, bool); 10] = [
        ("my_company.tokens.get_token", true),
        ("a.b", true),
        ("_private._x1", true),
        ("corp.tokens.vault_jwt", true),
        ("vault_jwt", false),
        ("", false),
        ("a..b", false),
        ("a.b.", false),
        ("1a.b", false),
        ("my-company.tokens", false),
    ];

    /// The rule on examples; `tests/profile.rs` runs the same examples through the schema's
    /// `pattern`.
    #[test]
    fn import_path_rule() {
        for (text, expected) in IMPORT_PATHS {
            assert_eq!(is_python_import_path(text), expected, "{text:?}");
        }
    }

    #[test]
    fn airflow_schema_lists_only_the_providers_airflow_knows() {
        let schema = airflow_extra_schema();
        let selector =
            &schema["$defs"]["workload_identity"]["properties"]["workload_identity_provider"];
        assert_eq!(
            selector["enum"],
            json!(["kubernetes", "azure", "gcp", "custom"])
        );
        assert_eq!(
            selector["markdownEnumDescriptions"]
                .as_array()
                .map(Vec::len),
            Some(4)
        );
        assert!(schema["$defs"].get("github_actions").is_none());
        let custom = &schema["$defs"]["custom"]["properties"];
        assert!(custom.get("token_command").is_none());
        assert!(custom.get("token_command_timeout_seconds").is_none());
        assert_eq!(
            custom["token_provider"]["pattern"],
            PYTHON_IMPORT_PATH_PATTERN
        );
        assert_eq!(schema["$id"], AIRFLOW_EXTRA_SCHEMA_ID);
    }
}
