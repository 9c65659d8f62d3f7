//! The one table of known keys. The parser, the snippet masking, the schema generator and the tests
//! all derive their key lists from [`KEYS`]; the types in `model` give each key its shape.

use crate::model::ProviderKind;

/// Where in a document a key is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The top level of a whole connection (`conn_type`, `host`, `extra`, ...).
    Connection,
    /// The top level of the `extra` object.
    Extra,
    /// Inside `openai_client_kwargs`.
    ClientKwargs,
}

/// When a key of the `extra` applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Whatever the auth type (and every key outside the `extra`).
    Always,
    /// Under workload identity, whatever the provider.
    WorkloadIdentity,
    /// Under workload identity, with one of these providers.
    Providers(&'static [ProviderKind]),
}

/// One known key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key as written.
    pub name: &'static str,
    /// Where it is written.
    pub place: Place,
    /// When it applies.
    pub scope: Scope,
    /// Whether a string value written here may be shown in a snippet. Every other string value is
    /// masked, because it may be a secret (a password, an API key, a header value) or hold one;
    /// numeric keys are not shown either, since a string there is a mistake of unknown content.
    pub shown: bool,
}

const fn key(name: &'static str, place: Place, scope: Scope, shown: bool) -> Key {
    Key {
        name,
        place,
        scope,
        shown,
    }
}

use Place::{ClientKwargs, Connection, Extra};
use ProviderKind::{Azure, Custom, Gcp, GithubActions, Kubernetes, X509};
use Scope::{Always, Providers, WorkloadIdentity};

/// Every key the model knows, in the order the schema lists them.
pub const KEYS: &[Key] = &[
    key("$schema", Connection, Always, true),
    key("conn_type", Connection, Always, true),
    key("description", Connection, Always, true),
    key("host", Connection, Always, true),
    key("login", Connection, Always, true),
    key("password", Connection, Always, false),
    key("schema", Connection, Always, true),
    key("port", Connection, Always, false),
    key("extra", Connection, Always, false),
    key("$schema", Extra, Always, true),
    key("auth_type", Extra, Always, true),
    key("openai_client_kwargs", Extra, Always, false),
    key("base_url", ClientKwargs, Always, true),
    key("organization", ClientKwargs, Always, true),
    key("project", ClientKwargs, Always, true),
    key("timeout", ClientKwargs, Always, false),
    key("max_retries", ClientKwargs, Always, false),
    key("default_headers", ClientKwargs, Always, false),
    key("default_query", ClientKwargs, Always, false),
    key("api_key", ClientKwargs, Always, false),
    key("workload_identity_provider", Extra, WorkloadIdentity, true),
    key("identity_provider_id", Extra, WorkloadIdentity, true),
    key("service_account_id", Extra, WorkloadIdentity, true),
    key("refresh_buffer_seconds", Extra, WorkloadIdentity, false),
    key("token_file_path", Extra, Providers(&[Kubernetes]), true),
    key("resource", Extra, Providers(&[Azure]), true),
    key("client_id", Extra, Providers(&[Azure]), true),
    key("object_id", Extra, Providers(&[Azure]), true),
    key("msi_res_id", Extra, Providers(&[Azure]), true),
    key("api_version", Extra, Providers(&[Azure]), true),
    key("audience", Extra, Providers(&[Gcp, GithubActions]), true),
    key("token_provider", Extra, Providers(&[Custom]), true),
    key("token_command", Extra, Providers(&[Custom]), false),
    key(
        "token_command_timeout_seconds",
        Extra,
        Providers(&[Custom]),
        false,
    ),
    key("token_type", Extra, Providers(&[Custom]), true),
    key("certificate_path", Extra, Providers(&[X509]), true),
    key("private_key_path", Extra, Providers(&[X509]), true),
    key("ca_bundle_path", Extra, Providers(&[X509]), true),
];

/// The names of the keys at `place` that apply in `scope`, in table order.
pub fn names(place: Place, scope: Scope) -> Vec<&'static str> {
    KEYS.iter()
        .filter(|key| key.place == place && key.scope == scope)
        .map(|key| key.name)
        .collect()
}

/// The names of every key at `place`, in table order, each once.
pub fn all_names(place: Place) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for key in KEYS.iter().filter(|key| key.place == place) {
        if !names.contains(&key.name) {
            names.push(key.name);
        }
    }
    names
}

/// The keys of the `extra` that only `kind` (among others) uses, in table order.
pub fn provider_names(kind: ProviderKind) -> Vec<&'static str> {
    KEYS.iter()
        .filter(|key| matches!(key.scope, Providers(kinds) if kinds.contains(&kind)))
        .map(|key| key.name)
        .collect()
}

/// The providers that use the `extra` key `name` (empty for a key of no provider).
pub fn providers_of(name: &str) -> Vec<ProviderKind> {
    KEYS.iter()
        .filter(|key| key.place == Extra && key.name == name)
        .flat_map(|key| match key.scope {
            Providers(kinds) => kinds.to_vec(),
            _ => Vec::new(),
        })
        .collect()
}

/// The scope of the `extra` key `name`, if it is one.
pub fn extra_scope(name: &str) -> Option<Scope> {
    KEYS.iter()
        .find(|key| key.place == Extra && key.name == name)
        .map(|key| key.scope)
}

/// Whether the value at `pointer` (in a bare `extra` or a whole connection) may be shown in a
/// snippet: only a value of a known, harmless key at its own place in the document. Anything
/// nested deeper, in an array, or under an unknown key is masked.
pub fn value_is_shown(pointer: &str) -> bool {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    let shown_at = |place: Place, name: &str| {
        KEYS.iter()
            .any(|key| key.place == place && key.name == name && key.shown)
    };
    match segments.as_slice() {
        [name] => shown_at(Connection, name) || shown_at(Extra, name),
        ["extra", name] => shown_at(Extra, name),
        ["openai_client_kwargs", name] | ["extra", "openai_client_kwargs", name] => {
            shown_at(ClientKwargs, name)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_has_its_keys_and_audience_is_shared() {
        assert_eq!(provider_names(Kubernetes), ["token_file_path"]);
        assert_eq!(providers_of("audience"), [Gcp, GithubActions]);
        assert!(providers_of("auth_type").is_empty());
        assert_eq!(extra_scope("service_account_id"), Some(WorkloadIdentity));
    }

    #[test]
    fn values_are_shown_only_at_their_own_place() {
        assert!(value_is_shown("/auth_type"));
        assert!(value_is_shown("/extra/auth_type"));
        assert!(value_is_shown("/extra/openai_client_kwargs/base_url"));
        assert!(!value_is_shown("/password"));
        assert!(!value_is_shown("/extra/openai_client_kwargs/api_key"));
        // A harmless name somewhere else is not harmless: it may be a header carrying a secret.
        assert!(!value_is_shown(
            "/openai_client_kwargs/default_headers/project"
        ));
        assert!(!value_is_shown("/extra/token_command/0"));
        assert!(!value_is_shown("/api_kye"));
    }
}
