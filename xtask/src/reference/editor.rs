//! The section on using the schemas in editors: VS Code, the YAML language server and taplo.

use super::render::Block;

pub(crate) fn editor_blocks(extra_url: &str, connection_url: &str) -> Vec<Block> {
    vec![
        Block::Heading(2, "Using the schemas in an editor".into()),
        Block::Paragraph(
            "Name the schema in the file, or associate file names with it. The catalog \
             (`catalog.json` beside the schemas, SchemaStore's format) associates \
             `*.openai-connection-extra.{json,yaml,yml,toml}` and \
             `*.openai-connection.{json,yaml,yml,toml}` by itself in editors that read it."
                .into(),
        ),
        Block::Heading(3, "VS Code (JSON)".into()),
        Block::Paragraph(
            "A `$schema` key names the schema with no settings at all (a URL, or a path relative \
             to the file):"
                .into(),
        ),
        Block::Code(
            "json",
            format!(
                "{{\n  \"$schema\": \"{extra_url}\",\n  \"auth_type\": \"workload_identity\",\n  \
                 \"workload_identity_provider\": \"gcp\",\n  \"identity_provider_id\": \
                 \"your-identity-provider-id\",\n  \"service_account_id\": \
                 \"your-service-account-id\"\n}}\n"
            ),
        ),
        Block::Paragraph("Or associate file names in `settings.json`:".into()),
        Block::Code(
            "json",
            format!(
                "{{\n  \"json.schemas\": [\n    {{ \"fileMatch\": [\"*.openai-connection-extra.json\"], \
                 \"url\": \"{extra_url}\" }},\n    {{ \"fileMatch\": [\"*.openai-connection.json\"], \
                 \"url\": \"{connection_url}\" }}\n  ]\n}}\n"
            ),
        ),
        Block::Heading(3, "YAML language server".into()),
        Block::Paragraph(
            "The VS Code \"YAML\" extension and `yaml-language-server` in other editors: a \
             modeline on the first line names the schema (a URL, or a path relative to the file):"
                .into(),
        ),
        Block::Code(
            "yaml",
            format!(
                "# yaml-language-server: $schema={extra_url}\nauth_type: workload_identity\n\
                 workload_identity_provider: gcp\nidentity_provider_id: your-identity-provider-id\n\
                 service_account_id: your-service-account-id\n"
            ),
        ),
        Block::Paragraph("Or associate file names in the editor's settings:".into()),
        Block::Code(
            "json",
            format!(
                "{{\n  \"yaml.schemas\": {{\n    \"{extra_url}\": [\"*.openai-connection-extra.yaml\", \
                 \"*.openai-connection-extra.yml\"],\n    \"{connection_url}\": \
                 [\"*.openai-connection.yaml\", \"*.openai-connection.yml\"]\n  }}\n}}\n"
            ),
        ),
        Block::Heading(3, "taplo (TOML)".into()),
        Block::Paragraph(
            "taplo (the Even Better TOML extension, and the `taplo` command) reads a `#:schema` \
             directive on the first line (a URL, or a path relative to the file):"
                .into(),
        ),
        Block::Code(
            "toml",
            format!(
                "#:schema {extra_url}\nauth_type = \"workload_identity\"\n\
                 workload_identity_provider = \"gcp\"\nidentity_provider_id = \
                 \"your-identity-provider-id\"\nservice_account_id = \"your-service-account-id\"\n"
            ),
        ),
        Block::Paragraph("Or associate file names in `.taplo.toml`:".into()),
        Block::Code(
            "toml",
            format!(
                "[[rule]]\ninclude = [\"**/*.openai-connection-extra.toml\"]\n\
                 [rule.schema]\nurl = \"{extra_url}\"\n\n[[rule]]\n\
                 include = [\"**/*.openai-connection.toml\"]\n[rule.schema]\nurl = \"{connection_url}\"\n"
            ),
        ),
        Block::Paragraph(TAPLO_SUPPORT.into()),
    ]
}

/// What taplo does with these schemas, as `cargo xtask editor-test` measures it (taplo.test.mjs).
pub(crate) const TAPLO_SUPPORT: &str = "taplo checks types, enum values, bounds, required keys and \
     the per-provider rules, but it reads every schema as draft-07: it ignores \
     `unevaluatedProperties`, so a misspelt key or a key of another provider is not flagged in TOML.";
