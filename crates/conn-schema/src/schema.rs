//! The published JSON Schemas, generated from the model's types.
//!
//! schemars gives each group of keys its properties, types, bounds, defaults and descriptions (from
//! the doc comments); this module arranges the groups into the shape that VS Code's JSON language
//! service was measured to handle best (`shared/reference/editor-schema-notes.md`):
//!
//! - draft 2020-12, and every `$ref` local (`#/$defs/...`): editors fetch absolute refs as URLs and
//!   lose all validation offline;
//! - `unevaluatedProperties: false` at the root of the `extra`, because `additionalProperties: false`
//!   would reject keys declared inside `allOf`/`if`/`then`;
//! - an `if`/`then` per auth type and per provider, each `if` with `required` (an `if` without it
//!   passes when the key is absent), so completion offers only the chosen provider's keys and a key
//!   of another provider is "not allowed";
//! - `required` in an `allOf` entry of its own, so a missing id does not make the valid keys of the
//!   same branch show up as unevaluated too;
//! - enums as `enum` with `markdownEnumDescriptions` (a `oneOf` of consts gives a misleading
//!   "Value must be ..." for an unknown value), and `markdownDescription` beside every
//!   `description`, since markdown wins in hover and completion.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use crate::keys::{self, Place, Scope};
use crate::model::{
    AuthType, AzureConfig, ClientKwargs, CustomKeys, DataResidency, GcpConfig, GithubActionsConfig,
    KubernetesConfig, ProviderKind, WorkloadIdentityKeys, X509Config,
};

/// Stable `$id` of the Airflow-only `extra` schema (built by `profile.rs`).
pub const AIRFLOW_EXTRA_SCHEMA_ID: &str =
    "https://openai-conn.github.io/schema/v1/openai-connection-extra.airflow.schema.json";
/// File name of the Airflow-only `extra` schema under `schema/`.
pub const AIRFLOW_EXTRA_SCHEMA_FILE: &str = "openai-connection-extra.airflow.schema.json";

/// The JSON Schema dialect of the published schemas.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";
/// Where the schemas are published: each major version lives under `<base>v<major>/`, the newest
/// also under `<base>latest/` (`cargo xtask publish`).
pub const SCHEMA_BASE_URL: &str = "https://openai-conn.github.io/schema/";
/// The folder of the current major version of the schemas under [`SCHEMA_BASE_URL`]. A change
/// that rejects a document an earlier schema of this major accepted needs a new major.
pub const SCHEMA_MAJOR_DIR: &str = "v1";
/// Stable `$id` of the `extra` schema: [`SCHEMA_BASE_URL`], [`SCHEMA_MAJOR_DIR`], the file name.
pub const EXTRA_SCHEMA_ID: &str =
    "https://openai-conn.github.io/schema/v1/openai-connection-extra.schema.json";
/// Stable `$id` of the whole-connection schema: [`SCHEMA_BASE_URL`], [`SCHEMA_MAJOR_DIR`], the
/// file name.
pub const CONNECTION_SCHEMA_ID: &str =
    "https://openai-conn.github.io/schema/v1/openai-connection.schema.json";
/// File name of the `extra` schema under `schema/`.
pub const EXTRA_SCHEMA_FILE: &str = "openai-connection-extra.schema.json";
/// File name of the whole-connection schema under `schema/`.
pub const CONNECTION_SCHEMA_FILE: &str = "openai-connection.schema.json";

// Only the schemas of these two are used: they describe JSON shapes that the parser turns into
// `Extra` and `Connection`, whose resolved forms are not one-to-one with the keys.
#[allow(dead_code)]
#[derive(JsonSchema)]
struct ExtraCommonKeys {
    /// How the connection authenticates: `api_key` (a static key) or `workload_identity`
    /// (short-lived tokens exchanged from the platform's identity). Default: `api_key`.
    #[serde(default = "default_auth_type")]
    auth_type: AuthType,
    /// Options passed to the OpenAI client. Default: none.
    #[serde(default)]
    openai_client_kwargs: ClientKwargs,
}

#[allow(dead_code)]
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ConnectionKeys {
    /// Connection type; `openai` for an OpenAI connection. Default: none (the document is read
    /// as an OpenAI connection).
    #[schemars(extend("const" = "openai"))]
    conn_type: Option<String>,
    /// Free-text description of the connection. Default: none.
    #[schemars(extend("type" = ["string", "null"]))]
    description: Option<String>,
    /// API base URL, used when `openai_client_kwargs.base_url` is not set.
    /// Default: the `OPENAI_BASE_URL` environment variable, else `https://api.openai.com/v1`.
    #[schemars(extend("type" = ["string", "null"]))]
    host: Option<String>,
    /// Login; unused by OpenAI connections. Default: none.
    #[schemars(extend("type" = ["string", "null"]))]
    login: Option<String>,
    /// The API key, used under `auth_type` `api_key` when `openai_client_kwargs.api_key` is not
    /// set. Ignored (never sent) under workload identity. Default: the `OPENAI_API_KEY`
    /// environment variable.
    #[schemars(extend("type" = ["string", "null"]))]
    password: Option<String>,
    /// Schema; unused by OpenAI connections. Default: none.
    #[schemars(extend("type" = ["string", "null"]))]
    schema: Option<String>,
    /// Port; unused by OpenAI connections. Default: none.
    #[schemars(extend("type" = ["integer", "null"]))]
    port: Option<u16>,
}

fn default_auth_type() -> AuthType {
    AuthType::ApiKey
}

/// The schema of a bare `extra` object, as published.
pub fn extra_schema() -> Value {
    let mut root = Map::new();
    root.insert("$schema".into(), json!(DIALECT));
    root.insert("$id".into(), json!(EXTRA_SCHEMA_ID));
    // No `title`: the YAML language server shows the nearest title as the heading of every key's
    // hover and inside type errors ("Expected \"object(<title>)\""), where the root's title
    // names the wrong thing; VS Code shows none of it either way.
    describe(
        &mut root,
        "The `extra` object of an Apache Airflow `openai` connection: the auth type, workload \
         identity settings and OpenAI client options.",
    );
    for (key, value) in extra_body() {
        root.insert(key, value);
    }
    root.insert("$defs".into(), Value::Object(definitions()));
    finish(Value::Object(root))
}

/// The schema of a whole connection in Airflow's JSON form, as published.
pub fn connection_schema() -> Value {
    let mut generated = raw_properties_of::<ConnectionKeys>();
    let mut extra = Map::new();
    describe(
        &mut extra,
        "The connection's `extra`: an object, or a string holding a JSON object as Airflow stores \
         it. Default: none (API-key auth).",
    );
    // An object is checked as an `extra`; anything else must be a string or null. This is not
    // `"type": ["object", "string", "null"]` because Ajv's strict mode, which SchemaStore's CI
    // compiles schemas with, refuses a union type other than `[T, "null"]`; the `errorMessage`
    // keeps VS Code from naming only the types of the `else`.
    extra.insert("if".into(), json!({"type": "object"}));
    extra.insert("then".into(), json!({"$ref": "#/$defs/extra"}));
    extra.insert(
        "else".into(),
        json!({
            "type": ["string", "null"],
            "errorMessage": "Incorrect type. Expected an object, a string holding a JSON object, or null.",
        }),
    );
    generated.insert("extra".into(), Value::Object(extra));
    let properties = from_table(&keys::all_names(Place::Connection), generated);

    let mut definitions = definitions();
    let mut extra_definition = Map::new();
    describe(
        &mut extra_definition,
        "The `extra` object of an OpenAI connection.",
    );
    extra_definition.extend(extra_body());
    definitions.insert("extra".into(), Value::Object(extra_definition));

    finish(json!({
        "$schema": DIALECT,
        "$id": CONNECTION_SCHEMA_ID,
        "description": "A whole Apache Airflow `openai` connection in Airflow's JSON form: \
                        `conn_type`, `host`, `password`, `extra` and the unused generic fields.",
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
        // The SDK refuses `data_residency` beside a base URL, and the host is one (the parser's
        // conflicting-keys, at the `data_residency` key).
        "if": {
            "type": "object",
            "properties": {"host": {"type": "string", "pattern": "\\S"}},
            "required": ["host"],
        },
        "then": {
            "properties": {"extra": {
                "if": {"type": "object"},
                "then": {"type": "object", "properties": {"openai_client_kwargs": {
                    "if": {"type": "object"},
                    "then": {"type": "object", "properties": {"data_residency": false}},
                }}},
            }},
            "errorMessage": "Set exactly one of \"data_residency\" and the connection \"host\", not both.",
        },
        "$defs": definitions,
    }))
}

/// The keywords of the `extra` object itself, shared by both schemas.
fn extra_body() -> Map<String, Value> {
    let mut properties = from_table(
        &keys::names(Place::Extra, Scope::Always),
        properties_of::<ExtraCommonKeys>(),
    );
    // The editor's own text for a pattern mismatch prints the regex ("String does not match the
    // pattern of \"^[hH][tT]...\"."), which tells a person nothing; VS Code shows
    // `patternErrorMessage` instead. Spec validators ignore it.
    if let Some(Value::Object(kwargs)) = properties
        .get_mut("openai_client_kwargs")
        .and_then(|kwargs| kwargs.get_mut("properties"))
    {
        *kwargs = from_table(
            &keys::all_names(Place::ClientKwargs),
            std::mem::take(kwargs),
        );
    }
    if let Some(Value::Object(base_url)) = properties
        .get_mut("openai_client_kwargs")
        .and_then(|kwargs| kwargs.pointer_mut("/properties/base_url"))
    {
        base_url.insert(
            "patternErrorMessage".into(),
            json!(
                "\"base_url\" must be an absolute http or https URL, such as \
                 \"https://api.openai.com/v1\"."
            ),
        );
    }
    // The SDK refuses `data_residency` beside `base_url` (the parser's conflicting-keys).
    if let Some(Value::Object(kwargs)) = properties.get_mut("openai_client_kwargs") {
        // As for token_provider/token_command: an if/then underlines only the
        // `data_residency` key, where the parser reports the conflict.
        not_both(kwargs, ["data_residency", "base_url"], "data_residency");
    }
    let mut body = Map::new();
    body.insert("type".into(), json!("object"));
    body.insert("properties".into(), Value::Object(properties));
    body.insert(
        "allOf".into(),
        json!([{
            // `type` in each condition: `required` passes on a non-object, and the branch would
            // then report its own type error next to the root's (the YAML language server
            // lists each one).
            "if": {
                "type": "object",
                "properties": {"auth_type": {"const": AuthType::WorkloadIdentity.as_str()}},
                "required": ["auth_type"],
            },
            "then": {"$ref": "#/$defs/workload_identity"},
        }]),
    );
    body.insert("unevaluatedProperties".into(), json!(false));
    body
}

/// `$defs` shared by both schemas: workload identity and one entry per provider.
fn definitions() -> Map<String, Value> {
    let mut definitions = Map::new();
    let mut branches = vec![json!({"required": required_of::<WorkloadIdentityKeys>()})];
    for kind in ProviderKind::ALL {
        branches.push(json!({
            "if": {
                "type": "object",
                "properties": {"workload_identity_provider": {"const": kind.as_str()}},
                "required": ["workload_identity_provider"],
            },
            "then": {"$ref": format!("#/$defs/{}", kind.as_str())},
        }));
    }
    let mut workload_identity = Map::new();
    describe(
        &mut workload_identity,
        "Keys of a workload-identity connection: the provider, the two ids and the refresh buffer.",
    );
    workload_identity.insert("type".into(), json!("object"));
    workload_identity.insert(
        "properties".into(),
        Value::Object(from_table(
            &keys::names(Place::Extra, Scope::WorkloadIdentity),
            properties_of::<WorkloadIdentityKeys>(),
        )),
    );
    workload_identity.insert("allOf".into(), Value::Array(branches));
    definitions.insert("workload_identity".into(), Value::Object(workload_identity));

    for kind in ProviderKind::ALL {
        let (summary, properties) = provider_shape(kind);
        let mut definition = Map::new();
        describe(&mut definition, &summary);
        definition.insert("type".into(), json!("object"));
        definition.insert(
            "properties".into(),
            Value::Object(from_table(&keys::provider_names(kind), properties)),
        );
        if kind == ProviderKind::X509 {
            // In an entry of its own, as for the ids: a missing path must not make the keys
            // beside it unevaluated.
            // Only the regions with a mutual-TLS endpoint (the parser's unknown-value).
            let regions: Vec<&str> = DataResidency::mtls_values()
                .into_iter()
                .map(DataResidency::as_str)
                .collect();
            definition.insert(
                "allOf".into(),
                json!([
                    {"required": required_of::<X509Config>()},
                    // A region without a mutual-TLS endpoint fails the whole object: stated as
                    // `if`/`then: false` so that editors offer no second `openai_client_kwargs`;
                    // `type` beside each `properties` for Ajv's strict mode.
                    {
                        "if": {
                            "type": "object",
                            "required": ["openai_client_kwargs"],
                            "properties": {"openai_client_kwargs": {
                                "type": "object",
                                "required": ["data_residency"],
                                "properties": {"data_residency": {"not": {"enum": regions}}},
                            }},
                        },
                        "then": false,
                        "errorMessage": "Under \"x509\", \"data_residency\" is one of \"global\", \"us\", \"eu\" (the regions with a mutual-TLS endpoint).",
                    },
                ]),
            );
        }
        if kind == ProviderKind::Custom {
            // Exactly one source. Neither: `anyOf` of the two `required`s gives "Missing property"
            // at the object's `{` (a `required` message cannot be reworded or moved).
            //
            // Both: this used to be `not: {required: [both]}` with an `errorMessage`. The editor
            // reports a failed `not` over the WHOLE object (every line underlined) and, because
            // `required` passes on a non-object, also on a root array or string. Stating it as
            // "when `token_provider` is set, `token_command` is not allowed" gives the same verdict
            // in every validator, and the editor underlines only the `token_command` key, with the
            // `errorMessage` of the `then` (VS Code uses it for a `false` property).
            definition.insert(
                "anyOf".into(),
                json!([{"required": ["token_provider"]}, {"required": ["token_command"]}]),
            );
            not_both(
                &mut definition,
                ["token_provider", "token_command"],
                "token_command",
            );
        }
        definitions.insert(kind.as_str().into(), Value::Object(definition));
    }
    definitions
}

/// "Not both of `pair`", stated so that an editor underlines only `underlined` (one of the
/// pair): when the other is set, `underlined` is not allowed, with the message
/// "Set exactly one of ... not both.".
fn not_both(object: &mut Map<String, Value>, pair: [&str; 2], underlined: &str) {
    let other = if pair[0] == underlined {
        pair[1]
    } else {
        pair[0]
    };
    object.insert("if".into(), json!({"type": "object", "required": [other]}));
    object.insert(
        "then".into(),
        json!({
            "properties": {underlined: false},
            "errorMessage": format!("Set exactly one of \"{}\" and \"{}\", not both.", pair[0], pair[1]),
        }),
    );
}

/// The properties named by the key table, in its order: `$schema` is the shared key below, every
/// other key takes the shape its type gave it in `generated` (a key the types lack is left out,
/// and the tests below fail).
fn from_table(names: &[&str], mut generated: Map<String, Value>) -> Map<String, Value> {
    names
        .iter()
        .filter_map(|name| match *name {
            "$schema" => Some(((*name).to_owned(), schema_key())),
            _ => generated
                .remove(*name)
                .map(|shape| ((*name).to_owned(), shape)),
        })
        .collect()
}

/// The `$schema` key documents may carry so editors find the schema without an association.
fn schema_key() -> Value {
    let mut key = Map::new();
    describe(
        &mut key,
        "URI or relative path of the JSON Schema this document follows; used by editors. \
         Default: none.",
    );
    key.insert("type".into(), json!("string"));
    key.insert("minLength".into(), json!(1));
    key.insert("doNotSuggest".into(), json!(true));
    Value::Object(key)
}

fn describe(map: &mut Map<String, Value>, text: &str) {
    map.insert("description".into(), json!(text));
}

fn root_schema_of<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>()
}

/// A provider's summary and the properties its config type gives (the one place a provider's
/// type is named, so the schema and the key-table test cannot miss one).
fn provider_shape(kind: ProviderKind) -> (String, Map<String, Value>) {
    // What the summary says after "Keys of the `<provider>` provider", and the properties.
    let (more, properties) = match kind {
        ProviderKind::Kubernetes => ("", properties_of::<KubernetesConfig>()),
        ProviderKind::Azure => ("", properties_of::<AzureConfig>()),
        ProviderKind::Gcp => ("", properties_of::<GcpConfig>()),
        ProviderKind::Custom => (
            "; exactly one of `token_provider` and `token_command` is required",
            properties_of::<CustomKeys>(),
        ),
        ProviderKind::GithubActions => ("", properties_of::<GithubActionsConfig>()),
        ProviderKind::X509 => (
            ": the client certificate presented over mutual TLS",
            properties_of::<X509Config>(),
        ),
    };
    let summary = format!("Keys of the `{}` provider{more}.", kind.as_str());
    (summary, properties)
}

/// The properties of `T`'s schema. schemars lets every `Option` field be `null`; in an `extra`
/// an absent key and a `null` are not the same mistake, so `null` is taken out (a connection's
/// keys keep it, through `raw_properties_of`: Airflow exports a connection's unused fields as
/// `null`).
fn properties_of<T: JsonSchema>() -> Map<String, Value> {
    let mut properties = raw_properties_of::<T>();
    properties.values_mut().for_each(strip_null);
    properties
}

fn raw_properties_of<T: JsonSchema>() -> Map<String, Value> {
    root_schema_of::<T>()
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn strip_null(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    if let Some(Value::Object(nested)) = map.get_mut("properties") {
        nested.values_mut().for_each(strip_null);
    }
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|name| name != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(branches)) = map.get("anyOf") {
        let kept: Vec<Value> = branches
            .iter()
            .filter(|branch| branch.get("type") != Some(&json!("null")))
            .cloned()
            .collect();
        if kept.len() == 1 && kept.len() < branches.len() {
            map.remove("anyOf");
            if let Value::Object(inner) = &kept[0] {
                for (key, value) in inner {
                    map.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
        }
    }
}

fn required_of<T: JsonSchema>() -> Value {
    root_schema_of::<T>()
        .get("required")
        .cloned()
        .unwrap_or_else(|| json!([]))
}

/// Editor-oriented finishing applied to the whole tree: enums from `oneOf` consts, a
/// `markdownDescription` beside each `description`, and no schemars-only `format`s.
fn finish(mut schema: Value) -> Value {
    polish(&mut schema);
    schema
}

fn polish(value: &mut Value) {
    match value {
        Value::Object(map) => {
            const_one_of_to_enum(map);
            declare_required(map);
            if let Some(Value::String(format)) = map.get("format")
                && matches!(
                    format.as_str(),
                    "uint16" | "uint32" | "uint64" | "double" | "float" | "int64" | "int32"
                )
            {
                map.remove("format");
            }
            if let Some(Value::String(description)) = map.get("description") {
                let description = unwrap_lines(description);
                map.insert("description".into(), json!(description));
                map.insert("markdownDescription".into(), json!(description));
            }
            for key in ["enumDescriptions", "markdownEnumDescriptions"] {
                if let Some(Value::Array(items)) = map.get_mut(key) {
                    for item in items.iter_mut() {
                        if let Value::String(text) = item {
                            *item = json!(unwrap_lines(text));
                        }
                    }
                }
            }
            // serde writes an `f64` default of 1200 as `1200.0`; editors insert it as written.
            if let Some(Value::Number(number)) = map.get("default")
                && let Some(whole) = number.as_f64().filter(|value| value.fract() == 0.0)
                && whole.abs() < 1e15
            {
                map.insert("default".into(), json!(whole as i64));
            }
            // Recurse into every sub-schema, but not into literal values.
            for (key, child) in map.iter_mut() {
                if !matches!(key.as_str(), "default" | "const" | "enum" | "examples") {
                    polish(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(polish),
        _ => {}
    }
}

/// Ajv's strict mode (how SchemaStore's CI compiles a schema) refuses a `required` name that the
/// same subschema does not declare, as in `{"required": ["token_provider"]}` inside an `anyOf`.
/// Declaring it as `true` there changes no verdict: the key's real schema is in the enclosing
/// `properties`.
fn declare_required(map: &mut Map<String, Value>) {
    let Some(Value::Array(required)) = map.get("required") else {
        return;
    };
    let names: Vec<String> = required
        .iter()
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect();
    if names.is_empty() {
        return;
    }
    let properties = map
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(properties) = properties {
        for name in names {
            properties.entry(name).or_insert(Value::Bool(true));
        }
    }
}

/// Doc comments arrive with their source line breaks; a description is one paragraph.
fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| paragraph.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Rewrites `{"oneOf": [{"const": "a", "description": ".."}, ..]}` as an `enum` with
/// `enumDescriptions` and `markdownEnumDescriptions`.
fn const_one_of_to_enum(map: &mut Map<String, Value>) {
    let Some(Value::Array(variants)) = map.get("oneOf") else {
        return;
    };
    let mut values = Vec::new();
    let mut descriptions = Vec::new();
    for variant in variants {
        let Some(constant) = variant.get("const") else {
            return;
        };
        values.push(constant.clone());
        descriptions.push(
            variant
                .get("description")
                .cloned()
                .unwrap_or_else(|| json!("")),
        );
    }
    map.remove("oneOf");
    map.insert("type".into(), json!("string"));
    map.insert("enum".into(), Value::Array(values));
    map.insert(
        "enumDescriptions".into(),
        Value::Array(descriptions.clone()),
    );
    map.insert(
        "markdownEnumDescriptions".into(),
        Value::Array(descriptions),
    );
}

/// Pretty-printed with a trailing newline: the exact bytes of the checked-in files.
pub fn to_pretty(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    fn keys(value: &Value) -> Vec<String> {
        value
            .as_object()
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The schema lists exactly the table's keys at each place, and every field the types give a
    /// shape to is in the table (a field missing from it would be left out of the schema).
    #[test]
    fn schema_properties_are_the_key_table() {
        let schema = extra_schema();
        assert_eq!(
            keys(&schema["properties"]),
            keys::names(Place::Extra, Scope::Always)
        );
        assert_eq!(
            keys(&schema["properties"]["openai_client_kwargs"]["properties"]),
            keys::all_names(Place::ClientKwargs)
        );
        assert_eq!(
            keys(&schema["$defs"]["workload_identity"]["properties"]),
            keys::names(Place::Extra, Scope::WorkloadIdentity)
        );
        for kind in ProviderKind::ALL {
            assert_eq!(
                keys(&schema["$defs"][kind.as_str()]["properties"]),
                keys::provider_names(kind),
                "{kind:?}"
            );
        }
        assert_eq!(
            keys(&connection_schema()["properties"]),
            keys::all_names(Place::Connection)
        );
        // Every provider's config type comes from `provider_shape`, which matches on every kind.
        let typed = [
            raw_properties_of::<ExtraCommonKeys>(),
            raw_properties_of::<ClientKwargs>(),
            raw_properties_of::<WorkloadIdentityKeys>(),
            raw_properties_of::<ConnectionKeys>(),
        ]
        .into_iter()
        .chain(ProviderKind::ALL.map(|kind| provider_shape(kind).1));
        for properties in typed {
            for name in properties.keys() {
                assert!(
                    keys::KEYS.iter().any(|key| key.name == name),
                    "{name} has a type but is not in the key table"
                );
            }
        }
    }

    /// The `$id`s are the published URLs: the base, the major's folder, the file name.
    #[test]
    fn ids_are_the_base_the_major_and_the_file_name() {
        assert_eq!(
            EXTRA_SCHEMA_ID,
            format!("{SCHEMA_BASE_URL}{SCHEMA_MAJOR_DIR}/{EXTRA_SCHEMA_FILE}")
        );
        assert_eq!(
            CONNECTION_SCHEMA_ID,
            format!("{SCHEMA_BASE_URL}{SCHEMA_MAJOR_DIR}/{CONNECTION_SCHEMA_FILE}")
        );
        assert_eq!(
            AIRFLOW_EXTRA_SCHEMA_ID,
            format!(
                "{SCHEMA_BASE_URL}{SCHEMA_MAJOR_DIR}/{}",
                AIRFLOW_EXTRA_SCHEMA_FILE
            )
        );
        assert_eq!(extra_schema()["$id"], EXTRA_SCHEMA_ID);
        assert_eq!(connection_schema()["$id"], CONNECTION_SCHEMA_ID);
    }

    #[test]
    fn every_ref_is_local() {
        fn walk(value: &Value, refs: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        refs.push(target.clone());
                    }
                    map.values().for_each(|child| walk(child, refs));
                }
                Value::Array(items) => items.iter().for_each(|child| walk(child, refs)),
                _ => {}
            }
        }
        for schema in [extra_schema(), connection_schema()] {
            let mut refs = Vec::new();
            walk(&schema, &mut refs);
            assert!(!refs.is_empty());
            for target in refs {
                let name = target.strip_prefix("#/$defs/").expect("local ref");
                assert!(schema["$defs"].get(name).is_some(), "{target} resolves");
            }
        }
    }
}
