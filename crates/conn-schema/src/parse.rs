//! The typed parser: turns a JSON value into the resolved model, collecting every problem.
//!
//! It is the reference implementation of the rules the published schema encodes; a test in
//! `tests/agreement.rs` proves both give the same verdict on every fixture. It never echoes a value
//! that could be a secret: only enum values (truncated) and type names appear in messages.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::code::{Code, Severity};
use crate::keys::{self, Place, Scope};
use crate::model::{
    Auth, AuthType, AzureConfig, CONN_TYPE, ClientKwargs, Connection, CustomConfig, CustomSource,
    DEFAULT_AUDIENCE, DEFAULT_AZURE_API_VERSION, DEFAULT_AZURE_RESOURCE,
    DEFAULT_REFRESH_BUFFER_SECONDS, DEFAULT_TOKEN_COMMAND_TIMEOUT_SECONDS, DEFAULT_TOKEN_FILE_PATH,
    DataResidency, Extra, GcpConfig, GithubActionsConfig, KubernetesConfig, MAX_SECONDS_EXCLUSIVE,
    ProviderConfig, ProviderKind, TokenType, WorkloadIdentity, X509Config,
};
use crate::pointer::{child, suggest};
use crate::redact::{has_user_info, is_cleartext_remote, is_credential_header};

/// Keys of `extra` that apply whatever the auth type.
pub(crate) fn common_keys() -> Vec<&'static str> {
    keys::names(Place::Extra, Scope::Always)
}

/// Keys of `extra` that apply under workload identity, whatever the provider.
pub(crate) fn workload_identity_keys() -> Vec<&'static str> {
    keys::names(Place::Extra, Scope::WorkloadIdentity)
}

/// Which part of a member a finding points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// The member's key (unknown or misplaced keys).
    Key,
    /// The member's value (wrong type, bad value, missing keys of an object).
    Value,
}

/// One problem found by the parser, before positions are attached.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    pub(crate) code: Code,
    pub(crate) pointer: String,
    pub(crate) anchor: Anchor,
    pub(crate) message: String,
    pub(crate) suggestion: Option<String>,
}

/// Collects findings while building the typed model.
#[derive(Default)]
pub(crate) struct Parser {
    pub(crate) findings: Vec<Finding>,
}

/// What a JSON value is, for messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A non-negative whole number, written as `3` or `3.0` (JSON Schema counts both as integers).
fn whole_number(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|number| number.fract() == 0.0 && *number >= 0.0 && *number < 1.8e19)
            .map(|number| number as u64)
    })
}

/// Quotes a user-written enum value for a message, cut short so a pasted blob stays readable.
fn quote_short(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    if text.chars().count() <= MAX_CHARS {
        format!("\"{text}\"")
    } else {
        let head: String = text.chars().take(MAX_CHARS).collect();
        format!("\"{head}…\"")
    }
}

fn quoted_list(values: &[&str]) -> String {
    marked_list(values, '"')
}

/// `values`, each between two `mark`s (`"` in messages, `` ` `` in Markdown), joined by ", ".
pub(crate) fn marked_list(values: &[&str], mark: char) -> String {
    values
        .iter()
        .map(|value| format!("{mark}{value}{mark}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A problem with a URL that becomes the API base, before it is placed in a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiBaseFinding {
    /// An error for credentials in the URL, a warning for plain http to another host.
    pub severity: Severity,
    /// The finding's code.
    pub code: Code,
    /// What is wrong; names the setting, never its value.
    pub message: String,
    /// The fix.
    pub suggestion: String,
}

/// What is wrong with a URL that becomes the API base (`host`, `base_url`, or `OPENAI_BASE_URL`,
/// named `what` in the message): user info in it is an error (it would be sent, and printed with
/// the URL), plain http to a host other than this machine a warning (legitimate behind a service
/// mesh or gateway, but a bearer would travel in clear text). The message names `what`, never
/// the value.
pub fn api_base_finding(what: &str, url: &str) -> Option<ApiBaseFinding> {
    if has_user_info(url) {
        Some(ApiBaseFinding {
            severity: Severity::Error,
            code: Code::CredentialsInUrl,
            message: format!(
                "\"{what}\" must not hold credentials (user info before \"@\" in the URL)"
            ),
            suggestion: "put the API key in \"password\" and keep only the URL here".to_owned(),
        })
    } else if is_cleartext_remote(url) {
        Some(ApiBaseFinding {
            severity: Severity::Warning,
            code: Code::CleartextHttp,
            message: format!(
                "\"{what}\" is plain http to a host other than this machine: the api key or \
                 access token would travel in clear text"
            ),
            suggestion: "use https, unless a trusted service mesh or gateway encrypts the traffic"
                .to_owned(),
        })
    } else {
        None
    }
}

/// The base-URL rule, kept equivalent to the `pattern` on `openai_client_kwargs.base_url`:
/// `http://` or `https://` (any case), a non-empty authority without whitespace, `/`, `?`, `#` or
/// `@`, then optionally a path, query or fragment without whitespace.
pub(crate) fn is_http_url(text: &str) -> bool {
    let lower = text
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = if lower.starts_with("https://") {
        &text[8..]
    } else if lower.starts_with("http://") {
        &text[7..]
    } else {
        return false;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    !authority.is_empty() && !authority.contains('@') && !rest.chars().any(char::is_whitespace)
}

impl Parser {
    fn push(
        &mut self,
        severity: Severity,
        code: Code,
        pointer: &str,
        anchor: Anchor,
        message: String,
        suggestion: Option<String>,
    ) {
        self.findings.push(Finding {
            severity,
            code,
            pointer: pointer.to_owned(),
            anchor,
            message,
            suggestion,
        });
    }

    fn push_api_base(&mut self, finding: ApiBaseFinding, pointer: &str) {
        self.push(
            finding.severity,
            finding.code,
            pointer,
            Anchor::Value,
            finding.message,
            Some(finding.suggestion),
        );
    }

    pub(crate) fn error(
        &mut self,
        code: Code,
        pointer: &str,
        anchor: Anchor,
        message: String,
        suggestion: Option<String>,
    ) {
        self.push(Severity::Error, code, pointer, anchor, message, suggestion);
    }

    /// A [`Code::WrongType`] error at the value: "`subject` must be `expected`, found" and the
    /// JSON kind of `found`.
    fn wrong_type(
        &mut self,
        pointer: &str,
        subject: &str,
        expected: &str,
        found: &Value,
        suggestion: Option<String>,
    ) {
        let message = format!("{subject} must be {expected}, found {}", kind_of(found));
        self.error(Code::WrongType, pointer, Anchor::Value, message, suggestion);
    }

    /// A [`Code::OutOfRange`] error at the value.
    fn out_of_range(&mut self, pointer: &str, message: String) {
        self.error(Code::OutOfRange, pointer, Anchor::Value, message, None);
    }

    fn warning(&mut self, code: Code, pointer: &str, message: String, suggestion: Option<String>) {
        self.push(
            Severity::Warning,
            code,
            pointer,
            Anchor::Key,
            message,
            suggestion,
        );
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .any(|finding| finding.severity == Severity::Error)
    }

    fn object<'v>(
        &mut self,
        value: &'v Value,
        pointer: &str,
        what: &str,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.wrong_type(pointer, what, "a JSON object", other, None);
                None
            }
        }
    }

    fn string(&mut self, value: &Value, pointer: &str, key: &str) -> Option<String> {
        match value {
            Value::String(text) if text.is_empty() => {
                self.error(
                    Code::EmptyValue,
                    pointer,
                    Anchor::Value,
                    format!("\"{key}\" must not be empty"),
                    Some(match key {
                        "identity_provider_id" | "service_account_id" => {
                            format!("set \"{key}\" to the id registered with OpenAI")
                        }
                        "certificate_path" | "private_key_path" => {
                            format!("set \"{key}\" to the path of the PEM file")
                        }
                        _ => format!("give \"{key}\" a value, or remove it"),
                    }),
                );
                None
            }
            Value::String(text) => Some(text.clone()),
            other => {
                self.wrong_type(pointer, &format!("\"{key}\""), "a string", other, None);
                None
            }
        }
    }

    /// A connection-level string: Airflow exports absent fields as `null`, and blanks as `""`.
    fn nullable_string(&mut self, value: &Value, pointer: &str, key: &str) -> Option<String> {
        match value {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => {
                self.wrong_type(
                    pointer,
                    &format!("\"{key}\""),
                    "a string or null",
                    other,
                    None,
                );
                None
            }
        }
    }

    fn number(
        &mut self,
        value: &Value,
        pointer: &str,
        key: &str,
        exclusive_zero: bool,
    ) -> Option<f64> {
        let Some(number) = value.as_f64().filter(|_| value.is_number()) else {
            let hint = match value {
                Value::String(text) if text.trim().parse::<f64>().is_ok() => {
                    Some("write the number without quotes".to_owned())
                }
                _ => None,
            };
            self.wrong_type(pointer, &format!("\"{key}\""), "a number", value, hint);
            return None;
        };
        if exclusive_zero && number <= 0.0 {
            self.out_of_range(pointer, format!("\"{key}\" must be greater than 0"));
            None
        } else if number < 0.0 {
            self.out_of_range(pointer, format!("\"{key}\" must be 0 or more"));
            None
        } else {
            Some(number)
        }
    }

    /// A number of seconds as a `Duration`: [`Self::number`]'s checks, then a bound, because a
    /// `Duration` holds less than 2^64 seconds (the schema's `exclusiveMaximum` says the same).
    fn seconds(
        &mut self,
        value: &Value,
        pointer: &str,
        key: &str,
        exclusive_zero: bool,
    ) -> Option<Duration> {
        let number = self.number(value, pointer, key, exclusive_zero)?;
        let duration = (number < MAX_SECONDS_EXCLUSIVE)
            .then(|| Duration::try_from_secs_f64(number).ok())
            .flatten();
        if duration.is_none() {
            self.out_of_range(
                pointer,
                format!("\"{key}\" must be less than 2^64 seconds (about 585 billion years)"),
            );
        }
        duration
    }

    fn enum_value<T: Copy>(
        &mut self,
        value: &Value,
        pointer: &str,
        key: &str,
        all: &[T],
        name: fn(T) -> &'static str,
    ) -> Option<T> {
        let names: Vec<&str> = all.iter().map(|item| name(*item)).collect();
        let Value::String(text) = value else {
            let expected = format!("one of {}", quoted_list(&names));
            self.wrong_type(pointer, &format!("\"{key}\""), &expected, value, None);
            return None;
        };
        if let Some(found) = all.iter().find(|item| name(**item) == text) {
            return Some(*found);
        }
        let normalized = text.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        let suggestion = names
            .iter()
            .find(|candidate| **candidate == normalized)
            .map(|candidate| (*candidate).to_owned())
            .or_else(|| suggest(&normalized, names.iter().copied()).map(str::to_owned));
        self.error(
            Code::UnknownValue,
            pointer,
            Anchor::Value,
            format!(
                "unknown {key} {}; expected one of {}",
                quote_short(text),
                quoted_list(&names)
            ),
            suggestion.map(|candidate| format!("did you mean \"{candidate}\"?")),
        );
        None
    }

    fn string_map(
        &mut self,
        value: &Value,
        pointer: &str,
        key: &str,
    ) -> Option<BTreeMap<String, String>> {
        let map = self.object(value, pointer, &format!("\"{key}\""))?;
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (name, item) in map {
            match item {
                Value::String(text) => {
                    out.insert(name.clone(), text.clone());
                }
                other => {
                    ok = false;
                    self.error(
                        Code::WrongType,
                        &child(pointer, name),
                        Anchor::Value,
                        format!(
                            "values of \"{key}\" must be strings, found {} for \"{name}\"",
                            kind_of(other)
                        ),
                        matches!(other, Value::Number(_) | Value::Bool(_))
                            .then(|| "put the value in quotes".to_owned()),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    fn unknown_key(&mut self, pointer: &str, key: &str, candidates: &[&str]) {
        let suggestion = suggest(key, candidates.iter().copied())
            .map(|candidate| format!("did you mean \"{candidate}\"?"));
        self.error(
            Code::UnknownKey,
            &child(pointer, key),
            Anchor::Key,
            format!("unknown key \"{key}\""),
            suggestion.or_else(|| Some(format!("expected one of {}", quoted_list(candidates)))),
        );
    }

    fn missing(&mut self, pointer: &str, key: &str, why: &str) {
        self.error(
            Code::MissingRequired,
            pointer,
            Anchor::Value,
            format!("missing required key \"{key}\" ({why})"),
            None,
        );
    }

    /// Parses `openai_client_kwargs`.
    fn client_kwargs(&mut self, value: &Value, pointer: &str) -> Option<ClientKwargs> {
        let map = self.object(value, pointer, "\"openai_client_kwargs\"")?;
        let mut kwargs = ClientKwargs::default();
        let errors_before = self.error_count();
        for (key, item) in map {
            let item_pointer = child(pointer, key);
            match key.as_str() {
                "base_url" => {
                    if let Some(url) = self.string(item, &item_pointer, key) {
                        // User info is its own error (not an invalid URL on top of it); plain
                        // http to another host is a warning on a URL that is kept.
                        let finding = api_base_finding("base_url", &url);
                        let refused = finding
                            .as_ref()
                            .is_some_and(|finding| finding.severity == Severity::Error);
                        if let Some(finding) = finding {
                            self.push_api_base(finding, &item_pointer);
                        }
                        if is_http_url(&url) {
                            kwargs.base_url = Some(url);
                        } else if !refused {
                            self.error(
                                Code::InvalidUrl,
                                &item_pointer,
                                Anchor::Value,
                                "\"base_url\" must be an absolute http or https URL".to_owned(),
                                Some("for example \"https://api.openai.com/v1\"".to_owned()),
                            );
                        }
                    }
                }
                "data_residency" => {
                    kwargs.data_residency = self.enum_value(
                        item,
                        &item_pointer,
                        key,
                        &DataResidency::ALL,
                        DataResidency::as_str,
                    );
                }
                "organization" => kwargs.organization = self.string(item, &item_pointer, key),
                "project" => kwargs.project = self.string(item, &item_pointer, key),
                "timeout" => kwargs.timeout = self.seconds(item, &item_pointer, key, true),
                "max_retries" => kwargs.max_retries = self.max_retries(item, &item_pointer),
                "default_headers" => {
                    kwargs.default_headers = self
                        .string_map(item, &item_pointer, key)
                        .unwrap_or_default();
                }
                "default_query" => {
                    kwargs.default_query = self
                        .string_map(item, &item_pointer, key)
                        .unwrap_or_default();
                }
                "api_key" => {
                    kwargs.api_key = self.string(item, &item_pointer, key).map(Into::into);
                }
                _ => self.unknown_key(pointer, key, &keys::all_names(Place::ClientKwargs)),
            }
        }
        if map.contains_key("data_residency") && map.contains_key("base_url") {
            self.data_residency_conflict(pointer, "base_url");
        }
        (self.error_count() == errors_before).then_some(kwargs)
    }

    /// `data_residency` names the API base, so it excludes `other` (`base_url`, or the
    /// connection `host`), as the SDK refuses `data_residency` beside `base_url`.
    fn data_residency_conflict(&mut self, kwargs_pointer: &str, other: &str) {
        self.error(
            Code::ConflictingKeys,
            &child(kwargs_pointer, "data_residency"),
            Anchor::Key,
            format!("\"data_residency\" and \"{other}\" cannot both be set"),
            Some(format!(
                "keep exactly one of them: \"data_residency\" selects the API base URL, as \"{other}\" does"
            )),
        );
    }

    /// Under x509 only the regions with a mutual-TLS endpoint exist.
    fn x509_data_residency(&mut self, map: &Map<String, Value>, pointer: &str) {
        let kwargs_pointer = child(pointer, "openai_client_kwargs");
        let Some(Value::String(text)) = map
            .get("openai_client_kwargs")
            .and_then(|kwargs| kwargs.get("data_residency"))
        else {
            return;
        };
        let Some(value) = DataResidency::ALL
            .into_iter()
            .find(|value| value.as_str() == text)
        else {
            return;
        };
        if value.mtls_base_url().is_none() {
            let names: Vec<&str> = DataResidency::mtls_values()
                .into_iter()
                .map(DataResidency::as_str)
                .collect();
            self.error(
                Code::UnknownValue,
                &child(&kwargs_pointer, "data_residency"),
                Anchor::Value,
                format!(
                    "data_residency \"{}\" has no mutual-TLS endpoint; under \"x509\" expected one of {}",
                    value.as_str(),
                    quoted_list(&names)
                ),
                Some("use \"global\", \"us\" or \"eu\", or another provider".to_owned()),
            );
        }
    }

    fn max_retries(&mut self, value: &Value, pointer: &str) -> Option<u32> {
        match whole_number(value) {
            Some(count) => match u32::try_from(count) {
                Ok(count) => Some(count),
                Err(_) => {
                    self.error(
                        Code::OutOfRange,
                        pointer,
                        Anchor::Value,
                        format!("\"max_retries\" must be at most {}", u32::MAX),
                        None,
                    );
                    None
                }
            },
            None => {
                let (code, message) = match value {
                    Value::Number(n) if n.as_i64().is_some_and(|n| n < 0) => (
                        Code::OutOfRange,
                        "\"max_retries\" must be 0 or more".to_owned(),
                    ),
                    other => (
                        Code::WrongType,
                        format!(
                            "\"max_retries\" must be an integer, 0 or more, found {}",
                            kind_of(other)
                        ),
                    ),
                };
                self.error(code, pointer, Anchor::Value, message, None);
                None
            }
        }
    }

    fn error_count(&self) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.severity == Severity::Error)
            .count()
    }

    /// Parses an `extra` object. `has_password` turns on the warning for a password that workload
    /// identity ignores.
    pub(crate) fn extra(
        &mut self,
        value: &Value,
        pointer: &str,
        password_pointer: Option<&str>,
    ) -> Option<Extra> {
        let map = self.object(value, pointer, "the connection extra")?;
        let errors_before = self.error_count();

        let auth_type = match map.get("auth_type") {
            None => Some(AuthType::ApiKey),
            Some(item) => self.enum_value(
                item,
                &child(pointer, "auth_type"),
                "auth_type",
                &AuthType::ALL,
                AuthType::as_str,
            ),
        };
        let provider = match (auth_type, map.get("workload_identity_provider")) {
            (Some(AuthType::WorkloadIdentity), Some(item)) => self.enum_value(
                item,
                &child(pointer, "workload_identity_provider"),
                "workload_identity_provider",
                &ProviderKind::ALL,
                ProviderKind::as_str,
            ),
            _ => None,
        };
        self.check_extra_keys(map, pointer, auth_type, provider);
        if auth_type == Some(AuthType::WorkloadIdentity) && provider == Some(ProviderKind::X509) {
            self.x509_data_residency(map, pointer);
        }

        let client_kwargs = match map.get("openai_client_kwargs") {
            Some(item) => self.client_kwargs(item, &child(pointer, "openai_client_kwargs")),
            None => Some(ClientKwargs::default()),
        };
        if let Some(item) = map.get("$schema") {
            self.string(item, &child(pointer, "$schema"), "$schema");
        }
        if provider == Some(ProviderKind::X509)
            && let Some(url) = client_kwargs
                .as_ref()
                .and_then(|kwargs| kwargs.base_url.as_deref())
        {
            self.x509_needs_https(
                "base_url",
                url,
                &child(&child(pointer, "openai_client_kwargs"), "base_url"),
            );
        }

        let auth = match auth_type? {
            AuthType::ApiKey => {
                self.host_header_findings(map, pointer, false);
                Some(Auth::ApiKey)
            }
            AuthType::WorkloadIdentity => {
                let identity = self.workload_identity(map, pointer, provider);
                if identity.is_some() {
                    self.workload_identity_warnings(map, pointer, password_pointer);
                    self.host_header_findings(map, pointer, true);
                }
                identity.map(Auth::WorkloadIdentity)
            }
        };
        if self.error_count() != errors_before {
            return None;
        }
        Some(Extra {
            auth: auth?,
            client_kwargs: client_kwargs?,
        })
    }

    /// Under x509 the API base must be https, as the client refuses any other: the client
    /// certificate is presented in the TLS handshake (loopback http included).
    fn x509_needs_https(&mut self, what: &str, url: &str, pointer: &str) {
        if crate::redact::read_url(url).is_some_and(|url| url.scheme() == "http") {
            self.error(
                Code::InvalidUrl,
                pointer,
                Anchor::Value,
                format!(
                    "\"{what}\" must be https under x509 workload identity: the client certificate \
                     is presented in the TLS handshake"
                ),
                Some("use the https URL of the API".to_owned()),
            );
        }
    }

    /// Reports keys that are unknown, or known but out of place for the chosen auth type or
    /// provider. Misplacement is only judged once the selector itself is valid, so a typo in
    /// `auth_type` yields one error, not one per key.
    fn check_extra_keys(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        auth_type: Option<AuthType>,
        provider: Option<ProviderKind>,
    ) {
        let all_keys = keys::all_names(Place::Extra);
        for key in map.keys() {
            let key = key.as_str();
            let scope = keys::extra_scope(key);
            if scope == Some(Scope::Always) {
                continue;
            }
            let owners = keys::providers_of(key);
            if scope.is_none() {
                let mut candidates = common_keys();
                if auth_type == Some(AuthType::WorkloadIdentity) {
                    candidates.extend(workload_identity_keys());
                    if let Some(kind) = provider {
                        candidates.extend(keys::provider_names(kind));
                    }
                }
                let suggestion = suggest(key, candidates.iter().copied())
                    .or_else(|| suggest(key, all_keys.iter().copied()));
                self.error(
                    Code::UnknownKey,
                    &child(pointer, key),
                    Anchor::Key,
                    format!("unknown key \"{key}\""),
                    suggestion.map(|candidate| format!("did you mean \"{candidate}\"?")),
                );
                continue;
            }
            match auth_type {
                Some(AuthType::ApiKey) => self.error(
                    Code::NotAllowedHere,
                    &child(pointer, key),
                    Anchor::Key,
                    format!(
                        "key \"{key}\" applies only when \"auth_type\" is \"workload_identity\""
                    ),
                    Some("set \"auth_type\": \"workload_identity\", or remove the key".to_owned()),
                ),
                Some(AuthType::WorkloadIdentity) => {
                    if let Some(kind) = provider
                        && !owners.is_empty()
                        && !owners.contains(&kind)
                    {
                        let names: Vec<&str> = owners.iter().map(|owner| owner.as_str()).collect();
                        self.error(
                            Code::NotAllowedHere,
                            &child(pointer, key),
                            Anchor::Key,
                            format!(
                                "key \"{key}\" does not apply to workload_identity_provider \"{}\"",
                                kind.as_str()
                            ),
                            Some(format!(
                                "it belongs to {}; remove it",
                                names
                                    .iter()
                                    .map(|name| format!("\"{name}\""))
                                    .collect::<Vec<_>>()
                                    .join(" and ")
                            )),
                        );
                    }
                }
                None => {}
            }
        }
    }

    fn workload_identity(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        provider: Option<ProviderKind>,
    ) -> Option<WorkloadIdentity> {
        let why = "needed when \"auth_type\" is \"workload_identity\"";
        if !map.contains_key("workload_identity_provider") {
            self.missing(pointer, "workload_identity_provider", why);
        }
        let identity_provider_id = self.required_string(map, pointer, "identity_provider_id", why);
        let service_account_id = self.required_string(map, pointer, "service_account_id", why);
        let refresh_buffer = match map.get("refresh_buffer_seconds") {
            Some(item) => self.seconds(
                item,
                &child(pointer, "refresh_buffer_seconds"),
                "refresh_buffer_seconds",
                false,
            ),
            None => Some(Duration::from_secs_f64(DEFAULT_REFRESH_BUFFER_SECONDS)),
        };
        let provider = match provider? {
            ProviderKind::Kubernetes => self
                .kubernetes(map, pointer)
                .map(ProviderConfig::Kubernetes),
            ProviderKind::Azure => self.azure(map, pointer).map(ProviderConfig::Azure),
            ProviderKind::Gcp => {
                let audience = self.optional_string(map, pointer, "audience", DEFAULT_AUDIENCE);
                audience.map(|audience| ProviderConfig::Gcp(GcpConfig { audience }))
            }
            ProviderKind::Custom => self.custom(map, pointer).map(ProviderConfig::Custom),
            ProviderKind::GithubActions => {
                let audience = self.optional_string(map, pointer, "audience", DEFAULT_AUDIENCE);
                audience
                    .map(|audience| ProviderConfig::GithubActions(GithubActionsConfig { audience }))
            }
            ProviderKind::X509 => self.x509(map, pointer).map(ProviderConfig::X509),
        };
        Some(WorkloadIdentity {
            identity_provider_id: identity_provider_id?,
            service_account_id: service_account_id?,
            refresh_buffer: refresh_buffer?,
            provider: provider?,
        })
    }

    /// A string `key` of `map`, `default` when it is absent.
    fn optional_string(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        key: &str,
        default: &str,
    ) -> Option<String> {
        let value = self.maybe_string(map, pointer, key).ok()?;
        Some(value.unwrap_or_else(|| default.to_owned()))
    }

    /// A string `key` of `map` that must be there (`why` says why when it is missing).
    fn required_string(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        key: &str,
        why: &str,
    ) -> Option<String> {
        let value = self.maybe_string(map, pointer, key).ok()?;
        if value.is_none() {
            self.missing(pointer, key, why);
        }
        value
    }

    /// An optional string with no default: `Ok(None)` when absent, `Err(())` when invalid.
    fn maybe_string(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        key: &str,
    ) -> Result<Option<String>, ()> {
        match map.get(key) {
            Some(item) => self
                .string(item, &child(pointer, key), key)
                .map(Some)
                .ok_or(()),
            None => Ok(None),
        }
    }

    fn kubernetes(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<KubernetesConfig> {
        let token_file_path =
            self.optional_string(map, pointer, "token_file_path", DEFAULT_TOKEN_FILE_PATH)?;
        Some(KubernetesConfig { token_file_path })
    }

    fn azure(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<AzureConfig> {
        let resource = self.optional_string(map, pointer, "resource", DEFAULT_AZURE_RESOURCE);
        let api_version =
            self.optional_string(map, pointer, "api_version", DEFAULT_AZURE_API_VERSION);
        let client_id = self.maybe_string(map, pointer, "client_id");
        let object_id = self.maybe_string(map, pointer, "object_id");
        let msi_res_id = self.maybe_string(map, pointer, "msi_res_id");
        Some(AzureConfig {
            resource: resource?,
            client_id: client_id.ok()?,
            object_id: object_id.ok()?,
            msi_res_id: msi_res_id.ok()?,
            api_version: api_version?,
        })
    }

    fn x509(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<X509Config> {
        let why = "needed when \"workload_identity_provider\" is \"x509\"";
        let certificate_path = self.required_string(map, pointer, "certificate_path", why);
        let private_key_path = self.required_string(map, pointer, "private_key_path", why);
        let ca_bundle_path = self.maybe_string(map, pointer, "ca_bundle_path");
        Some(X509Config {
            certificate_path: certificate_path?,
            private_key_path: private_key_path?,
            ca_bundle_path: ca_bundle_path.ok()?,
        })
    }

    fn custom(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<CustomConfig> {
        let token_provider = self.maybe_string(map, pointer, "token_provider");
        let token_command = match map.get("token_command") {
            Some(item) => self.argv(item, &child(pointer, "token_command")).map(Some),
            None => Some(None),
        };
        let timeout = match map.get("token_command_timeout_seconds") {
            Some(item) => self.seconds(
                item,
                &child(pointer, "token_command_timeout_seconds"),
                "token_command_timeout_seconds",
                true,
            ),
            None => Some(Duration::from_secs_f64(
                DEFAULT_TOKEN_COMMAND_TIMEOUT_SECONDS,
            )),
        };
        let token_type = match map.get("token_type") {
            Some(item) => self.enum_value(
                item,
                &child(pointer, "token_type"),
                "token_type",
                &TokenType::ALL,
                TokenType::as_str,
            ),
            None => Some(TokenType::Jwt),
        };
        match (map.contains_key("token_provider"), map.contains_key("token_command")) {
            (true, true) => self.error(Code::ConflictingKeys,
                &child(pointer, "token_command"),
                Anchor::Key,
                "\"token_provider\" and \"token_command\" cannot both be set".to_owned(),
                Some("keep exactly one of them".to_owned()),
            ),
            (false, false) => self.missing(
                pointer,
                "token_provider",
                "or \"token_command\"; one of them is needed when \"workload_identity_provider\" is \"custom\"",
            ),
            _ => {}
        }
        let (token_provider, token_command, timeout) =
            (token_provider.ok()?, token_command?, timeout?);
        let source = match (token_provider, token_command) {
            (Some(name), None) => CustomSource::Registered(name),
            (None, Some(argv)) => CustomSource::Command { argv, timeout },
            // Both or neither: reported above.
            _ => return None,
        };
        Some(CustomConfig {
            source,
            token_type: token_type?,
        })
    }

    fn argv(&mut self, value: &Value, pointer: &str) -> Option<Vec<String>> {
        let hint = "write the command as an array of strings, such as [\"vault\", \"read\", \"-field=token\", \"secret/openai\"]";
        let Value::Array(items) = value else {
            self.wrong_type(
                pointer,
                "\"token_command\"",
                "an array of strings",
                value,
                Some(hint.to_owned()),
            );
            return None;
        };
        if items.is_empty() {
            self.error(
                Code::EmptyValue,
                pointer,
                Anchor::Value,
                "\"token_command\" must name a program to run".to_owned(),
                Some(hint.to_owned()),
            );
            return None;
        }
        let mut argv = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match item {
                Value::String(text) if !text.is_empty() => argv.push(text.clone()),
                Value::String(_) => self.error(
                    Code::EmptyValue,
                    &child(pointer, &index.to_string()),
                    Anchor::Value,
                    "arguments of \"token_command\" must not be empty".to_owned(),
                    None,
                ),
                other => self.wrong_type(
                    &child(pointer, &index.to_string()),
                    "arguments of \"token_command\"",
                    "strings",
                    other,
                    None,
                ),
            }
        }
        (argv.len() == items.len()).then_some(argv)
    }

    /// A `Host` in `default_headers` would let a request name another virtual host than the one
    /// its URL and TLS name: refused under workload identity, where every request carries the
    /// bearer (the SDK refuses it under X.509), a warning under an API key.
    fn host_header_findings(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        workload_identity: bool,
    ) {
        let headers = map
            .get("openai_client_kwargs")
            .and_then(|kwargs| kwargs.get("default_headers"))
            .and_then(Value::as_object);
        for name in headers.into_iter().flat_map(Map::keys) {
            if !name.trim().eq_ignore_ascii_case("host") {
                continue;
            }
            let at = child(
                &child(&child(pointer, "openai_client_kwargs"), "default_headers"),
                name,
            );
            let suggestion = Some(
                "remove it; put the API's address in base_url or host, so that the URL, the TLS \
                 name and the Host header agree"
                    .to_owned(),
            );
            if workload_identity {
                self.error(
                    Code::NotAllowedHere,
                    &at,
                    Anchor::Key,
                    format!(
                        "\"{name}\" is not allowed in default_headers under workload identity: a \
                         request carrying the bearer must name the host of its url"
                    ),
                    suggestion,
                );
            } else {
                self.warning(
                    Code::NotAllowedHere,
                    &at,
                    format!(
                        "\"{name}\" in default_headers makes requests name another host than their \
                         url; the api key goes with them"
                    ),
                    suggestion,
                );
            }
        }
    }

    fn workload_identity_warnings(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        password_pointer: Option<&str>,
    ) {
        let has_kwargs_key = map
            .get("openai_client_kwargs")
            .and_then(Value::as_object)
            .is_some_and(|kwargs| kwargs.contains_key("api_key"));
        if has_kwargs_key {
            self.warning(
                Code::IgnoredCredential,
                &child(&child(pointer, "openai_client_kwargs"), "api_key"),
                "\"api_key\" is ignored under workload identity and never sent".to_owned(),
                Some("remove it from openai_client_kwargs".to_owned()),
            );
        }
        if let Some(password_pointer) = password_pointer {
            self.warning(
                Code::IgnoredCredential,
                password_pointer,
                "the connection password is ignored under workload identity and never sent"
                    .to_owned(),
                Some("clear the password".to_owned()),
            );
        }
        let headers = map
            .get("openai_client_kwargs")
            .and_then(|kwargs| kwargs.get("default_headers"))
            .and_then(Value::as_object);
        for name in headers.into_iter().flat_map(Map::keys) {
            if is_credential_header(name) {
                self.warning(
                    Code::IgnoredCredentialHeader,
                    &child(
                        &child(&child(pointer, "openai_client_kwargs"), "default_headers"),
                        name,
                    ),
                    format!(
                        "\"{name}\" is a credential header: it is ignored under workload \
                         identity and never sent"
                    ),
                    Some("remove it from default_headers".to_owned()),
                );
            }
        }
    }

    /// Parses a whole connection. An `extra` given as a string is parsed by `parse_inner`, which
    /// the caller provides so nested findings can be placed.
    pub(crate) fn connection(
        &mut self,
        value: &Value,
        inner_extra: Option<&Value>,
    ) -> Option<Connection> {
        let map = self.object(value, "", "a connection")?;
        let errors_before = self.error_count();
        let text = |parser: &mut Self, key: &str| {
            map.get(key)
                .and_then(|item| parser.nullable_string(item, &child("", key), key))
        };
        let conn_type = map
            .get("conn_type")
            .and_then(|item| self.string(item, "/conn_type", "conn_type"));
        let description = text(self, "description");
        let host = text(self, "host");
        if let Some(finding) = host
            .as_deref()
            .and_then(|host| api_base_finding("host", host))
        {
            self.push_api_base(finding, "/host");
        }
        let login = text(self, "login");
        let password = text(self, "password");
        let schema = text(self, "schema");
        if let Some(conn_type) = &conn_type
            && conn_type != CONN_TYPE
        {
            self.error(
                Code::UnknownValue,
                "/conn_type",
                Anchor::Value,
                format!(
                    "\"conn_type\" must be \"{CONN_TYPE}\" for an OpenAI connection, found {}",
                    quote_short(conn_type)
                ),
                None,
            );
        }
        if let Some(schema_value) = map.get("$schema") {
            self.string(schema_value, "/$schema", "$schema");
        }
        let port = match map.get("port") {
            None | Some(Value::Null) => None,
            Some(item) => match whole_number(item).and_then(|port| u16::try_from(port).ok()) {
                Some(port) => Some(port),
                None => {
                    self.error(
                        match item.as_f64() {
                            Some(number) if number.fract() == 0.0 => Code::OutOfRange,
                            _ => Code::WrongType,
                        },
                        "/port",
                        Anchor::Value,
                        match item.as_f64() {
                            Some(number) => format!(
                                "\"port\" must be an integer from 0 to 65535, found {number}"
                            ),
                            None => format!(
                                "\"port\" must be an integer from 0 to 65535, found {}",
                                kind_of(item)
                            ),
                        },
                        None,
                    );
                    None
                }
            },
        };
        for key in map.keys() {
            let known = keys::all_names(Place::Connection);
            if !known.contains(&key.as_str()) {
                self.unknown_key("", key, &known);
            }
        }
        let has_password = password.as_deref().is_some_and(|text| !text.is_empty());
        let password_pointer = has_password.then_some("/password");
        let extra = match (map.get("extra"), inner_extra) {
            (_, Some(parsed)) => self.extra(parsed, "/extra", password_pointer),
            (None | Some(Value::Null), None) => {
                self.extra(&Value::Object(Map::new()), "/extra", password_pointer)
            }
            (Some(Value::String(text)), None) if text.trim().is_empty() => {
                self.extra(&Value::Object(Map::new()), "/extra", password_pointer)
            }
            (Some(item @ Value::Object(_)), None) => self.extra(item, "/extra", password_pointer),
            (Some(other), None) => {
                self.wrong_type(
                    "/extra",
                    "\"extra\"",
                    "an object or a string holding a JSON object",
                    other,
                    None,
                );
                None
            }
        };
        // The API base under x509 is `base_url`, else `host`: mutual TLS needs https.
        if let Some(Extra {
            auth: Auth::WorkloadIdentity(identity),
            client_kwargs,
        }) = &extra
            && identity.provider.kind() == ProviderKind::X509
            && client_kwargs.base_url.is_none()
            && let Some(host) = host.as_deref()
        {
            self.x509_needs_https("host", host, "/host");
        }
        if host.as_deref().is_some_and(|host| !host.trim().is_empty())
            && extra
                .as_ref()
                .is_some_and(|extra| extra.client_kwargs.data_residency.is_some())
        {
            self.data_residency_conflict("/extra/openai_client_kwargs", "host");
        }
        if self.error_count() != errors_before {
            return None;
        }
        Some(Connection {
            conn_type,
            description,
            host,
            login,
            password: password.map(Into::into),
            schema,
            port,
            extra: extra?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rule_matches_examples() {
        assert!(is_http_url("https://api.openai.com/v1"));
        assert!(is_http_url("HTTP://127.0.0.1:8080"));
        assert!(is_http_url("http://h?x=1"));
        assert!(!is_http_url("api.openai.com/v1"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("https:///v1"));
        assert!(!is_http_url("https://user@host"));
        assert!(!is_http_url("https://host/a b"));
        assert!(!is_http_url("ftp://host"));
    }
}
