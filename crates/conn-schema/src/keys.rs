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
    /// What of a value written here a snippet may show.
    pub shown: Shown,
}

/// What of a key's value a validation snippet may show; everything else is masked as `"…"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Any value: the key holds an id, a name, an enum value or a URL (a URL with user info, a
    /// query or a fragment is masked all the same, since it may carry a credential).
    Any,
    /// A number or a boolean, the key's own type; a string there is a mistake of unknown content
    /// (perhaps a secret pasted into the wrong key), so it is masked.
    Scalar,
    /// Nothing: the value is, or may hold, a secret (a password of any type, an API key, header
    /// values, a command line, the host, which Airflow users write credentials into).
    Never,
}

const fn key(name: &'static str, place: Place, scope: Scope, shown: Shown) -> Key {
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
    key("$schema", Connection, Always, Shown::Any),
    key("conn_type", Connection, Always, Shown::Any),
    key("description", Connection, Always, Shown::Any),
    key("host", Connection, Always, Shown::Never),
    key("login", Connection, Always, Shown::Any),
    key("password", Connection, Always, Shown::Never),
    key("schema", Connection, Always, Shown::Any),
    key("port", Connection, Always, Shown::Scalar),
    key("extra", Connection, Always, Shown::Never),
    key("$schema", Extra, Always, Shown::Any),
    key("auth_type", Extra, Always, Shown::Any),
    key("openai_client_kwargs", Extra, Always, Shown::Never),
    key("base_url", ClientKwargs, Always, Shown::Any),
    key("data_residency", ClientKwargs, Always, Shown::Any),
    key("organization", ClientKwargs, Always, Shown::Any),
    key("project", ClientKwargs, Always, Shown::Any),
    key("timeout", ClientKwargs, Always, Shown::Scalar),
    key("max_retries", ClientKwargs, Always, Shown::Scalar),
    key("default_headers", ClientKwargs, Always, Shown::Never),
    key("default_query", ClientKwargs, Always, Shown::Never),
    key("api_key", ClientKwargs, Always, Shown::Never),
    key(
        "workload_identity_provider",
        Extra,
        WorkloadIdentity,
        Shown::Any,
    ),
    key("identity_provider_id", Extra, WorkloadIdentity, Shown::Any),
    key("service_account_id", Extra, WorkloadIdentity, Shown::Any),
    key(
        "refresh_buffer_seconds",
        Extra,
        WorkloadIdentity,
        Shown::Scalar,
    ),
    key(
        "token_file_path",
        Extra,
        Providers(&[Kubernetes]),
        Shown::Any,
    ),
    key("resource", Extra, Providers(&[Azure]), Shown::Any),
    key("client_id", Extra, Providers(&[Azure]), Shown::Any),
    key("object_id", Extra, Providers(&[Azure]), Shown::Any),
    key("msi_res_id", Extra, Providers(&[Azure]), Shown::Any),
    key("api_version", Extra, Providers(&[Azure]), Shown::Any),
    key(
        "audience",
        Extra,
        Providers(&[Gcp, GithubActions]),
        Shown::Any,
    ),
    key("token_provider", Extra, Providers(&[Custom]), Shown::Any),
    key("token_command", Extra, Providers(&[Custom]), Shown::Never),
    key(
        "token_command_timeout_seconds",
        Extra,
        Providers(&[Custom]),
        Shown::Scalar,
    ),
    key("token_type", Extra, Providers(&[Custom]), Shown::Any),
    key("certificate_path", Extra, Providers(&[X509]), Shown::Any),
    key("private_key_path", Extra, Providers(&[X509]), Shown::Any),
    key("ca_bundle_path", Extra, Providers(&[X509]), Shown::Any),
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

/// What a snippet may show of the value at `pointer` (in a bare `extra` or a whole connection):
/// only the value of a known key at its own place in the document. Anything nested deeper, in an
/// array, or under an unknown key (or a known name at another place) is [`Shown::Never`].
pub fn shown_at(pointer: &str) -> Shown {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    let at = |place: Place, name: &str| {
        KEYS.iter()
            .find(|key| key.place == place && key.name == name)
            .map(|key| key.shown)
    };
    let found = match segments.as_slice() {
        [name] => at(Connection, name).or_else(|| at(Extra, name)),
        ["extra", name] => at(Extra, name),
        ["openai_client_kwargs", name] | ["extra", "openai_client_kwargs", name] => {
            at(ClientKwargs, name)
        }
        _ => None,
    };
    found.unwrap_or(Shown::Never)
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
        assert_eq!(shown_at("/auth_type"), Shown::Any);
        assert_eq!(shown_at("/extra/auth_type"), Shown::Any);
        assert_eq!(shown_at("/extra/openai_client_kwargs/base_url"), Shown::Any);
        assert_eq!(
            shown_at("/extra/openai_client_kwargs/timeout"),
            Shown::Scalar
        );
        assert_eq!(shown_at("/password"), Shown::Never);
        assert_eq!(shown_at("/host"), Shown::Never);
        assert_eq!(
            shown_at("/extra/openai_client_kwargs/api_key"),
            Shown::Never
        );
        // A harmless name somewhere else is not harmless: it may be a header carrying a secret.
        assert_eq!(
            shown_at("/openai_client_kwargs/default_headers/project"),
            Shown::Never
        );
        assert_eq!(
            shown_at("/extra/openai_client_kwargs/default_headers/timeout"),
            Shown::Never
        );
        assert_eq!(shown_at("/extra/token_command/0"), Shown::Never);
        assert_eq!(shown_at("/api_kye"), Shown::Never);
    }
}
