//! One finding, whatever the output format: what `validate` collects and the GitHub and SARIF
//! writers print. A leaf, so the writers and `validate` do not import each other.

use conn_schema::{Code, Location, Severity};

/// One finding, whatever the format: a validation diagnostic, or a source that could not be
/// loaded at all.
pub(crate) struct Finding<'a> {
    /// The file the finding is in, when it is in a file (not standard input or a variable).
    pub(crate) file: Option<&'a std::path::Path>,
    /// What to call the source: the file, `FILE#conn_id`, `<stdin>`, `env AIRFLOW_CONN_X`.
    pub(crate) label: &'a str,
    pub(crate) severity: Severity,
    pub(crate) code: Code,
    /// The JSON pointer of the key or value the finding is about; empty for a source that could
    /// not be loaded.
    pub(crate) pointer: &'a str,
    /// Where in the file; `None` when unknown.
    pub(crate) location: Option<Location>,
    pub(crate) message: String,
    pub(crate) suggestion: Option<&'a str>,
    /// The variable that set the value, when not the file (`env OPENAI_CONN_EXTRA__AUDIENCE`).
    pub(crate) origin: Option<&'a str>,
}

impl Finding<'_> {
    /// The message with what it is about in front: the overriding variable, or the source when
    /// the annotation's file does not already name it (a connection of a connections file,
    /// standard input, a variable). The suggestion is the writer's to add.
    pub(crate) fn headed_message(&self) -> String {
        let file_label = self.file.map(|file| file.display().to_string());
        match self.origin {
            Some(origin) => format!("{origin}: {}", self.message),
            None if file_label.as_deref() != Some(self.label) => {
                format!("{}: {}", self.label, self.message)
            }
            None => self.message.clone(),
        }
    }
}
