//! The one error type of this crate, [`CustomError`], the [`StderrHead`] it quotes from a failed
//! command, and their conversion into [`providers_core::SourceError`].

use std::fmt;
use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use providers_core::SourceError;

/// The name this crate's sources report in a [`SourceError`].
pub(crate) const PROVIDER: &str = "custom";

/// How many bytes of a command's standard error an error message keeps.
pub const STDERR_LIMIT: usize = 512;

/// A custom token source could not be built or could not produce a token.
///
/// Messages name the registered source or the command's program (never its arguments, which may
/// hold secrets) and quote at most [`STDERR_LIMIT`] bytes of standard error. They never contain
/// anything the command printed on standard output, since that is where the token goes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CustomError {
    /// `token_provider` names a source the host program did not register.
    #[error(
        "no custom token source is registered as {name:?}; {}",
        registered_list(registered)
    )]
    NotRegistered {
        /// The configured name.
        name: String,
        /// The names that are registered, sorted.
        registered: Vec<String>,
    },
    /// A registered source returned an empty token.
    #[error("custom token source {name:?} returned an empty token; expected a non-empty token")]
    EmptyToken {
        /// The registered name.
        name: String,
    },
    /// The program could not be found.
    #[error(
        "token command program {program:?} was not found; expected an executable on PATH or a path to one"
    )]
    ProgramNotFound {
        /// The program (the first element of `token_command`).
        program: String,
        /// The error from starting the process.
        #[source]
        source: io::Error,
    },
    /// The program was found but could not be started (not executable, too many processes, ...).
    #[error("could not start token command {program:?}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The error from starting the process.
        #[source]
        source: io::Error,
    },
    /// Reading the command's output or waiting for it to exit failed.
    #[error("could not collect the output of token command {program:?}: {source}")]
    Io {
        /// The program.
        program: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The command ran longer than its timeout; it was killed and reaped.
    #[error(
        "token command {program:?} did not finish within {} s and was killed; stderr: {stderr}",
        timeout.as_secs_f64()
    )]
    Timeout {
        /// The program.
        program: String,
        /// The configured timeout.
        timeout: Duration,
        /// The start of what the command wrote on standard error before it was killed.
        stderr: StderrHead,
    },
    /// The command exited unsuccessfully.
    #[error("token command {program:?} failed with {status}; stderr: {stderr}")]
    Failed {
        /// The program.
        program: String,
        /// How the command exited.
        status: ExitStatus,
        /// The start of what the command wrote on standard error.
        stderr: StderrHead,
    },
    /// The command succeeded but printed nothing but whitespace on standard output.
    #[error(
        "token command {program:?} exited with {status} but printed no token on standard output; stderr: {stderr}"
    )]
    EmptyOutput {
        /// The program.
        program: String,
        /// How the command exited.
        status: ExitStatus,
        /// The start of what the command wrote on standard error.
        stderr: StderrHead,
    },
    /// The command's standard output is not UTF-8, so it cannot be a token.
    #[error(
        "token command {program:?} exited with {status} but its standard output is not valid UTF-8; expected a token; stderr: {stderr}"
    )]
    NotUtf8 {
        /// The program.
        program: String,
        /// How the command exited.
        status: ExitStatus,
        /// The start of what the command wrote on standard error.
        stderr: StderrHead,
    },
    /// The command printed more on standard output than any token could be.
    #[error(
        "token command {program:?} printed more than {limit} bytes on standard output; expected a single token"
    )]
    OutputTooLarge {
        /// The program.
        program: String,
        /// The most standard output a command may print, in bytes.
        limit: usize,
    },
}

impl CustomError {
    /// The step that failed, as reported in a [`SourceError`].
    pub fn step(&self) -> &'static str {
        match self {
            CustomError::NotRegistered { .. } => "looking up the registered token source",
            CustomError::EmptyToken { .. } => "checking the registered source's token",
            CustomError::ProgramNotFound { .. } | CustomError::Spawn { .. } => {
                "starting the token command"
            }
            CustomError::Io { .. } | CustomError::Timeout { .. } | CustomError::Failed { .. } => {
                "running the token command"
            }
            CustomError::EmptyOutput { .. }
            | CustomError::NotUtf8 { .. }
            | CustomError::OutputTooLarge { .. } => "reading the token command's output",
        }
    }

    /// Whether running the command again later may succeed.
    ///
    /// A timeout, a non-zero exit (a helper may fail while its own backend is down) and an I/O
    /// error while collecting output are transient. A missing program, a bad configuration and
    /// output that is not a token are not: they stay so until someone changes something.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CustomError::Timeout { .. } | CustomError::Failed { .. } | CustomError::Io { .. }
        )
    }
}

impl From<CustomError> for SourceError {
    fn from(error: CustomError) -> Self {
        SourceError::new(PROVIDER, error.step(), error.is_transient(), error)
    }
}

fn registered_list(registered: &[String]) -> String {
    if registered.is_empty() {
        return "none are registered".to_owned();
    }
    let quoted: Vec<String> = registered.iter().map(|name| format!("{name:?}")).collect();
    format!("registered: {}", quoted.join(", "))
}

/// The first [`STDERR_LIMIT`] bytes of a command's standard error, decoded lossily and cut at a
/// character boundary, for error messages.
///
/// Display quotes it with escapes, so newlines and terminal control sequences the command printed
/// stay inert in logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StderrHead {
    text: String,
    truncated: bool,
}

impl StderrHead {
    /// Keeps at most [`STDERR_LIMIT`] bytes of `head`; `more` says whether the command wrote more
    /// than `head` holds.
    pub(crate) fn new(head: &[u8], more: bool) -> Self {
        let kept = &head[..head.len().min(STDERR_LIMIT)];
        let mut text = String::from_utf8_lossy(kept).into_owned();
        let mut truncated = more || kept.len() < head.len();
        // Lossy decoding can grow the text (a replacement character is three bytes), so cut again
        // at the last character boundary within the limit.
        if text.len() > STDERR_LIMIT {
            let mut end = STDERR_LIMIT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            truncated = true;
        }
        let trimmed_len = text.trim_end().len();
        text.truncate(trimmed_len);
        StderrHead { text, truncated }
    }

    /// The kept text, at most [`STDERR_LIMIT`] bytes, without trailing whitespace.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the command wrote more than was kept.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for StderrHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() && !self.truncated {
            return f.write_str("(empty)");
        }
        write!(f, "{:?}", self.text)?;
        if self.truncated {
            f.write_str(" (truncated)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_is_cut_at_a_character_boundary_within_the_limit() {
        // 200 euro signs are 600 bytes; the first 512 bytes end inside the 171st sign.
        let bytes = "€".repeat(200).into_bytes();
        let head = StderrHead::new(&bytes, false);
        assert!(head.text().len() <= STDERR_LIMIT, "{}", head.text().len());
        assert!(head.text().starts_with("€€€"));
        assert!(head.is_truncated());
        assert!(head.to_string().ends_with(" (truncated)"), "{head}");
    }

    #[test]
    fn invalid_utf8_is_replaced_and_still_bounded() {
        let bytes = vec![0xff; 600];
        let head = StderrHead::new(&bytes, false);
        assert!(head.text().len() <= STDERR_LIMIT);
        assert!(
            head.text()
                .chars()
                .all(|c| c == char::REPLACEMENT_CHARACTER)
        );
        assert!(head.is_truncated());
    }

    #[test]
    fn short_stderr_is_kept_whole_and_quoted() {
        let head = StderrHead::new(b"vault: permission denied\n", false);
        assert_eq!(head.text(), "vault: permission denied");
        assert!(!head.is_truncated());
        assert_eq!(head.to_string(), "\"vault: permission denied\"");
        assert_eq!(StderrHead::new(b"", false).to_string(), "(empty)");
    }

    #[test]
    fn not_registered_lists_the_names_or_says_none() {
        let error = CustomError::NotRegistered {
            name: "corp.x".to_owned(),
            registered: vec!["a".to_owned(), "b".to_owned()],
        };
        assert_eq!(
            error.to_string(),
            "no custom token source is registered as \"corp.x\"; registered: \"a\", \"b\""
        );
        let error = CustomError::NotRegistered {
            name: "corp.x".to_owned(),
            registered: Vec::new(),
        };
        assert_eq!(
            error.to_string(),
            "no custom token source is registered as \"corp.x\"; none are registered"
        );
    }

    #[test]
    fn conversion_keeps_step_transience_and_cause() {
        let error: SourceError = CustomError::NotRegistered {
            name: "corp.x".to_owned(),
            registered: Vec::new(),
        }
        .into();
        assert_eq!(error.provider(), "custom");
        assert_eq!(error.step(), "looking up the registered token source");
        assert!(!error.is_transient());
        assert!(matches!(
            error.cause().downcast_ref::<CustomError>(),
            Some(CustomError::NotRegistered { .. })
        ));
    }
}
