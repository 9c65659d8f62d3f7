//! The "Finding codes" section of the reference page: one entry per `conn_schema::Code` (its
//! help, level, security meaning and an example), whose heading's id is
//! `Code::reference_anchor` (`code-unknown-key`), the entry the SARIF rules' `helpUri` links to.

use conn_schema::{Code, Severity};

use super::render::Block;

/// The section: a heading, a paragraph, then one entry per code.
pub(crate) fn blocks() -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Finding codes".into()),
        Block::Paragraph(
            "Every finding of `openai-conn validate` has one of these stable codes: in the human \
             output as `error[CODE]`, in JSON as `\"code\"`, as the annotation title with \
             `--format github` and as the rule id in SARIF, whose rules link here."
                .into(),
        ),
    ];
    for code in Code::ALL {
        blocks.push(Block::Heading(3, format!("Code `{}`", code.as_str())));
        let level = match code.severity() {
            Severity::Error => "an error",
            Severity::Warning => "a warning",
        };
        let mut text = format!("{} It is {level}", code.help());
        if let Some(security) = code.security() {
            text.push_str(&format!(
                ", and a security finding (CWE-{}, security severity {})",
                security.cwe, security.severity
            ));
        }
        text.push_str(&format!(
            ". Example: `{}`",
            code.example().replace('`', "'")
        ));
        blocks.push(Block::Paragraph(text));
    }
    blocks
}
