//! The error every source returns.

/// A boxed error, the cause kept inside a [`SourceError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A subject-token source failed.
///
/// It names the source (`kubernetes`, `azure`, ...) and the step (`reading the token file`,
/// `requesting a token from IMDS`, ...), says whether the failure is transient (worth retrying
/// later), and keeps the source crate's own typed error as its cause, so callers can downcast it.
/// The message never contains a token or a response body that could hold one.
#[derive(Debug, thiserror::Error)]
#[error("{provider} token source failed while {step}: {cause}")]
pub struct SourceError {
    provider: &'static str,
    step: &'static str,
    transient: bool,
    #[source]
    cause: BoxError,
}

impl SourceError {
    /// A failure of `provider` at `step`.
    pub fn new(
        provider: &'static str,
        step: &'static str,
        transient: bool,
        cause: impl Into<BoxError>,
    ) -> Self {
        SourceError {
            provider,
            step,
            transient,
            cause: cause.into(),
        }
    }

    /// The source that failed (`kubernetes`, `azure`, `gcp`, `custom`, `github_actions`).
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The step that failed.
    pub fn step(&self) -> &'static str {
        self.step
    }

    /// Whether retrying later may succeed (a timeout, a 5xx) or not (a missing file, a 400).
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The source crate's own error.
    pub fn cause(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.cause.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("token file /t is empty")]
    struct Empty;

    #[test]
    fn message_names_source_and_step_and_keeps_the_cause() {
        let error = SourceError::new("kubernetes", "reading the token file", false, Empty);
        assert_eq!(
            error.to_string(),
            "kubernetes token source failed while reading the token file: token file /t is empty"
        );
        assert!(!error.is_transient());
        assert!(error.cause().downcast_ref::<Empty>().is_some());
    }
}
