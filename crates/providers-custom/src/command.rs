//! [`CommandSource`]: a subject token printed by an external command, run without a shell, with a
//! timeout, its output bounded and its standard output treated as a secret.

use std::fmt;
use std::io;
use std::process::Stdio;
use std::time::Duration;

use providers_core::{BoxFuture, SourceError, SubjectToken, SubjectTokenSource, TokenType};
use secrecy::SecretString;
use secrecy::zeroize::Zeroizing;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{CustomError, STDERR_LIMIT, StderrHead};

/// The most a command may print on standard output, in bytes. Tokens are a few kilobytes; the
/// bound keeps a runaway command from filling memory before its timeout.
pub const STDOUT_LIMIT: usize = 1 << 20;

/// Runs an external command and takes its trimmed standard output as the subject token.
///
/// The command is an argument vector run directly, never through a shell, with standard input
/// closed and the process environment inherited. It is started again on every fetch.
///
/// - On Unix the command runs in a process group of its own. When the command exits, whatever it
///   left running in that group (a background process still holding its output, say) is killed,
///   so the fetch returns as soon as the command is done; at the timeout, or when the fetch is
///   dropped, the whole group is killed. The command itself is reaped before the fetch returns,
///   or before dropping the fetch returns: a program that drops its work on SIGINT or SIGTERM
///   leaves no token command behind.
/// - Errors carry the exit status and the first [`STDERR_LIMIT`] bytes of standard error, never
///   standard output.
/// - Debug shows the program and the number of arguments, not the arguments: a command line such
///   as `vault read -field=token ...` or `--client-secret=...` may hold secrets.
///
/// A process that leaves the group on purpose (`setsid`, a daemon) is beyond reach; only what
/// stays in the group is stopped.
///
/// Fetching needs a Tokio runtime with I/O and time enabled (`Runtime::enable_all`), as child
/// processes and timeouts are driven by it.
#[derive(Clone)]
pub struct CommandSource {
    argv: Vec<String>,
    timeout: Duration,
    token_type: TokenType,
}

impl CommandSource {
    /// A source running `argv` (program first) for at most `timeout`, whose tokens have
    /// `token_type`.
    ///
    /// Nothing is checked here: the connection parser has already required a program and a
    /// positive timeout, and a program that cannot run (an empty `argv` included) is reported by
    /// every fetch as [`CustomError::ProgramNotFound`] or [`CustomError::Spawn`].
    pub fn new(argv: Vec<String>, timeout: Duration, token_type: TokenType) -> Self {
        CommandSource {
            argv,
            timeout,
            token_type,
        }
    }

    /// The program, the first element of the argument vector (empty if there is none).
    pub fn program(&self) -> &str {
        self.argv.first().map_or("", String::as_str)
    }

    /// The arguments after the program.
    fn arguments(&self) -> &[String] {
        self.argv.get(1..).unwrap_or_default()
    }

    /// How long the command may run.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The type of the tokens this source returns.
    pub fn token_type(&self) -> TokenType {
        self.token_type
    }

    /// Runs the command once and turns its output into a token.
    async fn run(&self) -> Result<SubjectToken, CustomError> {
        let program = self.program();
        tracing::debug!(
            program,
            arguments = self.arguments().len(),
            timeout_seconds = self.timeout.as_secs_f64(),
            "running the custom token command"
        );
        let mut command = tokio::process::Command::new(program);
        command
            .args(self.arguments())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // If the fetch itself is dropped (the caller gave up), the child must not outlive it.
            .kill_on_drop(true);
        // Its own group, so that it and everything it starts can be signalled at once.
        #[cfg(unix)]
        command.process_group(0);
        let child = command
            .spawn()
            .map_err(|source| spawn_error(program, source))?;
        // Kills the group and reaps the command when dropped: on the timeout, on every early
        // return, and when the fetch itself is dropped (the caller gave up, or a signal ended the
        // tool and its runtime dropped every task).
        let mut running = Running::new(child);
        let Running { child, group } = &mut running;
        let stdout_pipe = child.stdout.take().expect("stdout was set to piped");
        let stderr_pipe = child.stderr.take().expect("stderr was set to piped");

        // Standard output is the token: its buffers are wiped when dropped. Reserving room up
        // front keeps reallocation from leaving copies of a typical token behind.
        let mut stdout = Zeroizing::new(Vec::with_capacity(16 * 1024));
        let mut stderr = Vec::with_capacity(STDERR_LIMIT);
        // Both pipes are drained while waiting, so a chatty command never blocks on a full pipe.
        let collected = tokio::time::timeout(self.timeout, async {
            tokio::join!(
                read_head(stdout_pipe, STDOUT_LIMIT, &mut stdout),
                read_head(stderr_pipe, STDERR_LIMIT, &mut stderr),
                async {
                    let status = child.wait().await;
                    // The command is done: what it left in its group may hold the pipes open,
                    // and the reads above end only once every writer is gone. What it already
                    // wrote stays readable in the pipes.
                    group.kill();
                    status
                },
            )
        })
        .await;

        let Ok((stdout_more, stderr_more, status)) = collected else {
            group.kill();
            // `kill` also waits for the child, so it is reaped here and leaves no zombie. An error
            // means it could not be signalled, which only happens once it has exited by itself.
            if let Err(error) = child.kill().await {
                tracing::warn!(program, %error, "could not kill the timed-out token command");
            }
            tracing::warn!(
                program,
                timeout_seconds = self.timeout.as_secs_f64(),
                "killed the custom token command after its timeout"
            );
            return Err(CustomError::Timeout {
                program: program.to_owned(),
                timeout: self.timeout,
                stderr: StderrHead::new(&stderr, false),
            });
        };
        let io_error = |source| CustomError::Io {
            program: program.to_owned(),
            source,
        };
        let status = status.map_err(io_error)?;
        let stderr = StderrHead::new(&stderr, stderr_more.map_err(io_error)?);
        let stdout_more = stdout_more.map_err(io_error)?;

        if !status.success() {
            return Err(CustomError::Failed {
                program: program.to_owned(),
                status,
                stderr,
            });
        }
        if stdout_more {
            return Err(CustomError::OutputTooLarge {
                program: program.to_owned(),
                limit: STDOUT_LIMIT,
            });
        }
        // `str::from_utf8` borrows, so the only copy of the token outside the wiped buffer is
        // the secret itself. Its error holds positions, not bytes.
        let Ok(text) = std::str::from_utf8(&stdout) else {
            return Err(CustomError::NotUtf8 {
                program: program.to_owned(),
                status,
                stderr,
            });
        };
        let token = text.trim();
        if token.is_empty() {
            return Err(CustomError::EmptyOutput {
                program: program.to_owned(),
                status,
                stderr,
            });
        }
        Ok(SubjectToken::new(
            SecretString::from(token),
            self.token_type,
        ))
    }
}

impl SubjectTokenSource for CommandSource {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        Box::pin(async move { self.run().await.map_err(SourceError::from) })
    }
}

impl fmt::Debug for CommandSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The arguments may hold secrets, so only their number is shown.
        f.debug_struct("CommandSource")
            .field("program", &self.program())
            .field("arguments", &self.arguments().len())
            .field("timeout", &self.timeout)
            .field("token_type", &self.token_type)
            .finish()
    }
}

/// A started command and its process group. Dropped before the command was waited for (the fetch
/// was dropped mid-run), it kills the group and reaps the command, so neither the command nor
/// anything it left in its group outlives the fetch, and no zombie is left for later.
struct Running {
    child: tokio::process::Child,
    group: ProcessGroup,
}

impl Running {
    fn new(child: tokio::process::Child) -> Self {
        let group = ProcessGroup::of(&child);
        Running { child, group }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.group.kill();
        // The command itself, where there are no process groups (Windows); on Unix it was just
        // killed with its group. A command already waited for is not signalled again.
        let _ = self.child.start_kill();
        // The leader was in the group, so it has been sent SIGKILL; it dies as soon as the kernel
        // delivers the signal. Waiting for it here, boundedly, reaps it now rather than whenever
        // the runtime's orphan queue next runs (never, when the tool is about to exit). A command
        // already waited for answers at once.
        for _ in 0..REAP_ATTEMPTS {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => std::thread::sleep(REAP_PAUSE),
                Err(error) => {
                    tracing::warn!(%error, "could not reap the token command");
                    return;
                }
            }
        }
        tracing::warn!("the killed token command did not exit; leaving it to the runtime to reap");
    }
}

/// How often, and how far apart, a dropped fetch checks whether its killed command has exited:
/// at most about two seconds in all, for a process stuck in the kernel; a killed process normally
/// exits within the first pause.
const REAP_ATTEMPTS: u32 = 400;
const REAP_PAUSE: Duration = Duration::from_millis(5);

/// The process group of a started command, killed once (by [`Running`] when dropped, at the
/// latest).
struct ProcessGroup {
    #[cfg(unix)]
    leader: Option<rustix::process::Pid>,
}

impl ProcessGroup {
    /// The group `child` leads (it was spawned with `process_group(0)`).
    fn of(child: &tokio::process::Child) -> Self {
        #[cfg(unix)]
        {
            let leader = child
                .id()
                .and_then(|id| i32::try_from(id).ok())
                // Never 0 or 1: `kill(-1, ..)` would signal every process the user may signal.
                .filter(|id| *id > 1)
                .and_then(rustix::process::Pid::from_raw);
            ProcessGroup { leader }
        }
        #[cfg(not(unix))]
        {
            let _ = child;
            ProcessGroup {}
        }
    }

    /// Sends `SIGKILL` to every process left in the group, once. A group that is already empty is
    /// not an error.
    fn kill(&mut self) {
        #[cfg(unix)]
        if let Some(leader) = self.leader.take() {
            match rustix::process::kill_process_group(leader, rustix::process::Signal::KILL) {
                Ok(()) | Err(rustix::io::Errno::SRCH) => {}
                Err(error) => {
                    tracing::warn!(%error, "could not kill the token command's process group");
                }
            }
        }
    }
}

/// Maps a failure to start `program` to the variant that says what went wrong.
fn spawn_error(program: &str, source: io::Error) -> CustomError {
    let program = program.to_owned();
    if source.kind() == io::ErrorKind::NotFound {
        CustomError::ProgramNotFound { program, source }
    } else {
        CustomError::Spawn { program, source }
    }
}

/// Reads `pipe` to its end, keeping the first `limit` bytes in `head` and discarding the rest.
/// Returns whether anything was discarded.
async fn read_head<R: AsyncRead + Unpin>(
    mut pipe: R,
    limit: usize,
    head: &mut Vec<u8>,
) -> io::Result<bool> {
    // The chunk may hold part of a token, so it is wiped too.
    let mut chunk = Zeroizing::new([0u8; 8 * 1024]);
    let mut more = false;
    loop {
        let read = pipe.read(&mut chunk[..]).await?;
        if read == 0 {
            return Ok(more);
        }
        let keep = read.min(limit.saturating_sub(head.len()));
        head.extend_from_slice(&chunk[..keep]);
        more |= keep < read;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawn_errors_tell_a_missing_program_from_other_failures() {
        let missing = spawn_error("vault", io::Error::from(io::ErrorKind::NotFound));
        assert!(
            matches!(missing, CustomError::ProgramNotFound { .. }),
            "{missing:?}"
        );
        assert!(!missing.is_transient());
        let denied = spawn_error("vault", io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(matches!(denied, CustomError::Spawn { .. }), "{denied:?}");
        assert!(denied.to_string().contains("\"vault\""), "{denied}");
    }

    #[tokio::test]
    async fn read_head_keeps_the_first_bytes_and_reports_the_rest() {
        let input = vec![b'x'; 20_000];
        let mut head = Vec::new();
        let more = read_head(&input[..], 100, &mut head)
            .await
            .expect("in memory");
        assert_eq!(head.len(), 100);
        assert!(more);

        let mut head = Vec::new();
        let more = read_head(&b"short"[..], 100, &mut head)
            .await
            .expect("in memory");
        assert_eq!(head, b"short");
        assert!(!more);
    }
}
