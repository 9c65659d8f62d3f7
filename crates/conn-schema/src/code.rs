//! The stable code of every finding: a short kebab-case name that CI annotations, SARIF rules and
//! scripts can rely on while the message wording changes.
//!
//! This table is the one place codes are defined: the name, the level ([`Severity`], SARIF's
//! default level), a one-sentence summary, the help text (shown as the SARIF rule's description)
//! and an example message (the README's table) sit side by side. A code, once published, is
//! never renamed or reused for another meaning.

use crate::schema::SCHEMA_BASE_URL;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document is invalid.
    Error,
    /// The document is valid but something in it is ignored or surprising.
    Warning,
}

impl Severity {
    /// `error` or `warning`: the name reports, SARIF levels and GitHub annotations use (and its
    /// serialised form).
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, level: $level:ident, summary: $summary:literal, help: $help:literal, example: $example:literal; )*) => {
        /// The stable code of a finding, serialised as its kebab-case name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in the order of the documentation.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code's kebab-case name, such as `unknown-key`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// The severity findings of this code have (SARIF's `defaultConfiguration.level`).
            pub const fn severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$level,)*
                }
            }

            /// One short sentence on what the code means (SARIF's `shortDescription`).
            pub const fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary,)*
                }
            }

            /// One sentence on what the code means and how to fix it.
            pub const fn help(self) -> &'static str {
                match self {
                    $(Code::$variant => $help,)*
                }
            }

            /// A message that carries this code, as the README's table shows it.
            pub const fn example(self) -> &'static str {
                match self {
                    $(Code::$variant => $example,)*
                }
            }
        }
    };
}

codes! {
    /// The text is not a well-formed document.
    Syntax = "syntax",
        level: Error,
        summary: "The document is not well-formed JSON, YAML or TOML.",
        help: "The file is not well-formed JSON, YAML or TOML (or not UTF-8, or starts with a byte-order mark), so nothing else could be checked; fix the syntax at the position shown.",
        example: "invalid JSON: trailing comma";
    /// An object has the same key twice.
    DuplicateKey = "duplicate-key",
        level: Error,
        summary: "An object has the same key twice.",
        help: "An object has the same key twice; only the last value would be used, so remove one of them.",
        example: "duplicate key \"auth_type\"; only its last value would be used";
    /// A key that no connection or `extra` has (often a typo).
    UnknownKey = "unknown-key",
        level: Error,
        summary: "The key is not part of an OpenAI connection.",
        help: "The key is not part of an OpenAI connection or its extra, often a misspelling; the suggestion names the closest known key.",
        example: "unknown key \"workload_identity_providr\"";
    /// A known key in a place where it does not apply.
    NotAllowedHere = "not-allowed-here",
        level: Error,
        summary: "The key does not apply to this auth_type or provider.",
        help: "The key exists, but not for this auth_type or workload_identity_provider (for example \"resource\", an Azure key, under \"kubernetes\"); remove it or change the selector.",
        example: "key \"resource\" does not apply to workload_identity_provider \"kubernetes\"";
    /// A key that must be present is absent.
    MissingRequired = "missing-required",
        level: Error,
        summary: "A key the connection needs is missing.",
        help: "A key that the chosen auth_type or provider needs is absent; add it.",
        example: "missing required key \"service_account_id\" (needed when \"auth_type\" is \"workload_identity\")";
    /// A value of the wrong JSON type.
    WrongType = "wrong-type",
        level: Error,
        summary: "The value has the wrong JSON type.",
        help: "The value has the wrong JSON type (a string where a number is expected, an array where an object is expected, ...); the message names the type expected.",
        example: "\"timeout\" must be a number, found a string";
    /// An empty string or list where a value is needed.
    EmptyValue = "empty-value",
        level: Error,
        summary: "The value is empty where one is needed.",
        help: "The value is empty where something is needed (an empty id, an empty token_command); give it a value or remove the key.",
        example: "\"identity_provider_id\" must not be empty";
    /// A number outside its allowed range.
    OutOfRange = "out-of-range",
        level: Error,
        summary: "The number is outside the range of its key.",
        help: "The number is outside the range the key allows (a timeout of 0, a negative retry count, a port above 65535).",
        example: "\"timeout\" must be greater than 0";
    /// A string that is not one of the accepted values.
    UnknownValue = "unknown-value",
        level: Error,
        summary: "The value is not one of those the key accepts.",
        help: "The value is not one of those the key accepts (auth_type, workload_identity_provider, token_type, conn_type); the message lists them.",
        example: "unknown auth_type \"workload-identity\"; expected one of \"api_key\", \"workload_identity\"";
    /// A URL that is not an absolute http or https URL.
    InvalidUrl = "invalid-url",
        level: Error,
        summary: "The value is not an absolute http or https URL.",
        help: "The value must be an absolute http or https URL, such as \"https://api.openai.com/v1\".",
        example: "\"base_url\" must be an absolute http or https URL";
    /// A URL with user info (`user:password@` before the host).
    CredentialsInUrl = "credentials-in-url",
        level: Error,
        summary: "A host or base URL carries credentials before \"@\".",
        help: "A host or base URL carries credentials before \"@\" (https://user:key@host), which would be sent and printed with the URL; put the API key in \"password\" and keep only the URL.",
        example: "\"base_url\" must not hold credentials (user info before \"@\" in the URL)";
    /// Two keys that exclude each other are both set.
    ConflictingKeys = "conflicting-keys",
        level: Error,
        summary: "Two keys that exclude each other are both set.",
        help: "Two keys that exclude each other are both set (token_provider and token_command); keep exactly one.",
        example: "\"token_provider\" and \"token_command\" cannot both be set";
    /// Something Airflow's OpenAI provider rejects or ignores (reported under `--profile airflow`).
    NotInAirflow = "not-in-airflow",
        level: Error,
        summary: "Airflow's OpenAI provider rejects or ignores this.",
        help: "With --profile airflow: Airflow's OpenAI provider would reject or silently ignore this (the github_actions and x509 providers, token_command, a token_provider that is not a dotted Python import path); use what Airflow reads, or the default profile if only openai-conn reads the connection.",
        example: "Airflow's OpenAI provider ignores \"token_command\"; only openai-conn runs token commands";
    /// A credential that workload identity ignores (a warning).
    IgnoredCredential = "ignored-credential",
        level: Warning,
        summary: "A credential is set that workload identity never sends.",
        help: "An API key or password is set on a workload-identity connection, which never sends it; remove it so nobody believes it is used.",
        example: "the connection password is ignored under workload identity and never sent";
    /// A part of a connection URI that Airflow ignores or reads differently (a warning).
    IgnoredUriPart = "ignored-uri-part",
        level: Warning,
        summary: "Airflow ignores this part of the connection URI.",
        help: "A part of an Airflow connection URI is ignored or read differently by Airflow (query keys beside __extra__, a path after a host with its own scheme); move it where Airflow reads it.",
        example: "query keys beside __extra__ are ignored, as Airflow ignores them: timeout";
    /// A plain-http API base to another host (a warning).
    CleartextHttp = "cleartext-http",
        level: Warning,
        summary: "The API base is plain http to a host other than this machine.",
        help: "The API base is plain http to a host other than this machine, so the API key or access token would travel in clear text; use https, unless a trusted service mesh or gateway encrypts the traffic.",
        example: "\"base_url\" is plain http to a host other than this machine: the api key or access token would travel in clear text";
    /// A credential header that workload identity strips (a warning).
    IgnoredCredentialHeader = "ignored-credential-header",
        level: Warning,
        summary: "A default header carries a credential that workload identity strips.",
        help: "A header of default_headers carries a credential (Authorization, api-key, x-api-key, api_key, Proxy-Authorization, Cookie, Ocp-Apim-Subscription-Key), which workload identity strips so that only its own bearer authenticates; remove it.",
        example: "\"Cookie\" is a credential header: it is ignored under workload identity and never sent";
    /// The source could not be read at all (exit code 2).
    Unreadable = "unreadable",
        level: Error,
        summary: "The source could not be read.",
        help: "The file or standard input could not be read (missing, not a regular file, larger than 16 MiB, a variable that is not UTF-8), or its extension names no format this tool reads (.json, .toml, .yaml, .yml).",
        example: "cannot read conn.json: No such file or directory (os error 2)";
    /// The named connection does not exist (exit code 2).
    NotFound = "not-found",
        level: Error,
        summary: "The connection asked for does not exist.",
        help: "The connection asked for is not there: the AIRFLOW_CONN_<ID> variable is not set, or the connections file has no such connection id.",
        example: "connection id \"openai_prod\" is not in connections.yaml; it has \"openai_default\"";
    /// An Airflow connections file, or an entry of it, has a shape Airflow rejects (exit code 1).
    InvalidConnectionsFile = "invalid-connections-file",
        level: Error,
        summary: "The Airflow connections file has a shape Airflow rejects.",
        help: "The Airflow connections file is not a mapping of connection ids to connections, or an entry has a shape Airflow rejects (both \"extra\" and \"extra_dejson\", \"uri\" beside other fields).",
        example: "\"extra\" and \"extra_dejson\" cannot both be set; keep one";
    /// An Airflow connection URI that cannot be parsed (exit code 1).
    InvalidUri = "invalid-uri",
        level: Error,
        summary: "The Airflow connection URI cannot be parsed.",
        help: "The Airflow connection URI cannot be parsed; write it as conn_type://login:password@host:port/schema?key=value, URL-encoding each part.",
        example: "invalid connection URI: the port is not an integer from 0 to 65535";
    /// `OPENAI_CONN_*` overrides that cannot be applied (exit code 1).
    InvalidOverride = "invalid-override",
        level: Error,
        summary: "The OPENAI_CONN_* environment overrides cannot be applied.",
        help: "The OPENAI_CONN_* environment overrides cannot be layered onto the document (for example a nested key under a value that is not an object).",
        example: "cannot apply the environment overrides OPENAI_CONN_EXTRA__AUDIENCE__X: ...";
    /// An x509 private key file that the group or others may read (a warning).
    ExposedPrivateKey = "exposed-private-key",
        level: Warning,
        summary: "The x509 private key file is readable by others than its owner.",
        help: "The x509 private key file is readable by its group or by others, as ssh calls an unprotected private key file; make it readable by its owner only (chmod 600).",
        example: "private_key_path \"/etc/openai/key.pem\" is readable by others (mode 644); make it readable by its owner only (chmod 600)";
}

/// What a code that is about protecting credentials means for security, as code-scanning tools
/// rank alerts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Security {
    /// GitHub's `security-severity`: a CVSS-like score from 0.0 to 10.0 (9.0 and above critical,
    /// 7.0 high, 4.0 medium, below that low).
    pub severity: &'static str,
    /// The CWE (Common Weakness Enumeration) number of the weakness.
    pub cwe: u16,
}

impl Code {
    /// The security meaning of the code, for the codes about credentials leaving where they
    /// belong: a URL that carries them (high: sent and printed with every request), plain http
    /// to another host (medium: exposed on the network unless something else encrypts it), a
    /// credential header that is stripped (low: a credential stored where it is never used), a
    /// private key file others may read (medium: exposed to the other users of the machine).
    pub const fn security(self) -> Option<Security> {
        let (severity, cwe) = match self {
            Code::CredentialsInUrl => ("8.1", 522),
            Code::CleartextHttp => ("5.9", 319),
            Code::IgnoredCredentialHeader => ("3.1", 260),
            Code::ExposedPrivateKey => ("5.5", 732),
            _ => return None,
        };
        Some(Security { severity, cwe })
    }

    /// The id of the code's entry in the reference page (`docs/reference.md`, published as the
    /// site's `index.html`): `code-unknown-key`.
    pub fn reference_anchor(self) -> String {
        format!("code-{}", self.as_str())
    }

    /// The URL of the code's entry in the published reference page.
    pub fn help_uri(self) -> String {
        format!("{SCHEMA_BASE_URL}#{}", self.reference_anchor())
    }

    /// The code as an identifier, such as `UnknownKey` (SARIF's rule `name`).
    pub fn name(self) -> String {
        self.as_str()
            .split('-')
            .map(|word| {
                let mut characters = word.chars();
                characters.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + characters.as_str()
                })
            })
            .collect()
    }
}

providers_core::display_via!(Code, as_str);

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::str::FromStr for Code {
    type Err = UnknownCode;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Code::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == name)
            .ok_or_else(|| UnknownCode(name.to_owned()))
    }
}

/// A name that is no [`Code`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown finding code {0:?}")]
pub struct UnknownCode(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} is used twice");
            assert!(
                !name.is_empty()
                    && !name.starts_with('-')
                    && !name.ends_with('-')
                    && !name.contains("--")
                    && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{name} is not kebab-case"
            );
            assert_eq!(name.parse::<Code>(), Ok(*code));
            assert_eq!(
                serde_json::to_value(code).expect("a code serialises"),
                serde_json::Value::String(name.to_owned())
            );
            assert!(code.help().ends_with('.'), "{name}: help is a sentence");
            assert!(!code.example().is_empty(), "{name}: example");
            let summary = code.summary();
            assert!(
                summary.ends_with('.') && summary.matches(". ").count() == 0 && summary.len() <= 80,
                "{name}: the summary is one short sentence"
            );
        }
        assert!("no-such-code".parse::<Code>().is_err());
        assert_eq!(Code::CredentialsInUrl.name(), "CredentialsInUrl");
        assert_eq!(
            Code::UnknownKey.help_uri(),
            "https://openai-conn.github.io/schema/#code-unknown-key"
        );
    }
}
