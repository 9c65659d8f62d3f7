//! External token commands through the public API, with real processes.
//!
//! The tests use `sh -c` as the program to script the command's behaviour; the source itself never
//! adds a shell.
#![cfg(unix)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use providers_core::{SourceError, SubjectTokenSource, TokenType};
use providers_custom::{CommandSource, CustomError, STDERR_LIMIT, STDOUT_LIMIT};
use secrecy::ExposeSecret;

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

fn sh(script: &str) -> Vec<String> {
    argv(&["sh", "-c", script])
}

/// A command as a connection gives it: the argument vector and the timeout.
struct Command {
    argv: Vec<String>,
    timeout: Duration,
}

impl Command {
    fn build(self, token_type: TokenType) -> Arc<dyn SubjectTokenSource> {
        Arc::new(CommandSource::new(self.argv, self.timeout, token_type))
    }
}

fn command(argv: Vec<String>, timeout: Duration) -> Command {
    Command { argv, timeout }
}

fn source(argv: Vec<String>) -> CommandSource {
    CommandSource::new(argv, Duration::from_secs(20), TokenType::Jwt)
}

/// Fetches and expects a failure, returning the source error and this crate's error inside it.
async fn fetch_error(source: &dyn SubjectTokenSource) -> (SourceError, String) {
    let error = source.fetch().await.expect_err("the command fails");
    assert_eq!(error.provider(), "custom");
    let cause = error
        .cause()
        .downcast_ref::<CustomError>()
        .expect("the cause is this crate's error");
    let rendered = format!("{cause:?}");
    (error, rendered)
}

fn custom_error(error: &SourceError) -> &CustomError {
    error
        .cause()
        .downcast_ref::<CustomError>()
        .expect("the cause is this crate's error")
}

/// Asserts that a command that failed or timed out is reported with its `program` and the
/// standard error it wrote, `stderr`.
fn assert_names_program_and_stderr(error: &SourceError, program: &str, stderr: &str) {
    match custom_error(error) {
        CustomError::Failed {
            program: named,
            stderr: captured,
            ..
        }
        | CustomError::Timeout {
            program: named,
            stderr: captured,
            ..
        } => {
            assert_eq!(named, program, "the program named by {error}");
            assert_eq!(
                captured.text(),
                stderr,
                "the standard error quoted by {error}"
            );
        }
        other => panic!("a failed or timed-out command was expected, got {other:?}"),
    }
}

/// The PID a test command wrote to `path`.
fn pid_written_to(path: &Path) -> u32 {
    let text = std::fs::read_to_string(path).expect("the command wrote its PID");
    text.trim()
        .parse()
        .unwrap_or_else(|error| panic!("a PID was expected in {text:?}: {error}"))
}

/// Whether the process with `pid` still exists in any state, zombies included.
fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn the_trimmed_standard_output_is_the_token_with_the_configured_type() {
    let custom = command(sh("printf ' tok\\n'"), Duration::from_secs(30));
    let source = custom.build(TokenType::Id);

    let token = source.fetch().await.expect("token");
    assert_eq!(token.secret().expose_secret(), "tok");
    assert_eq!(token.token_type(), TokenType::Id);
    assert!(format!("{source:?}").contains("timeout: 30s"), "{source:?}");
}

#[tokio::test]
async fn arguments_are_passed_without_a_shell() {
    // Shell syntax in an argument reaches the program verbatim: `printf` prints it as is.
    let source = source(argv(&["printf", "%s", "$HOME;`id`"]));
    let token = source.fetch().await.expect("token");
    assert_eq!(token.secret().expose_secret(), "$HOME;`id`");
}

#[tokio::test]
async fn a_non_zero_exit_quotes_stderr_and_never_stdout() {
    let source = source(sh(
        "printf 'eyJ.STDOUT-SECRET-4242'; echo 'vault: backend unavailable' >&2; exit 3",
    ));
    let (error, cause_debug) = fetch_error(&source).await;
    assert!(
        matches!(custom_error(&error), CustomError::Failed { status, .. } if status.code() == Some(3)),
        "expected Failed with exit code 3, got {cause_debug}"
    );
    assert_names_program_and_stderr(&error, "sh", "vault: backend unavailable");
    assert!(error.is_transient());
    assert_eq!(error.step(), "running the token command");

    let display = error.to_string();
    assert!(display.contains("exit status: 3"), "{display}");
    assert!(display.contains("vault: backend unavailable"), "{display}");
    for text in [display, format!("{error:?}"), cause_debug] {
        assert!(!text.contains("STDOUT-SECRET-4242"), "{text}");
    }
}

#[tokio::test]
async fn stderr_beyond_the_limit_is_truncated() {
    let source = source(sh("head -c 5000 /dev/zero | tr '\\0' e >&2; exit 1"));
    let (error, cause_debug) = fetch_error(&source).await;
    let CustomError::Failed { stderr, .. } = custom_error(&error) else {
        panic!("expected Failed, got {cause_debug}");
    };
    assert_eq!(stderr.text(), "e".repeat(STDERR_LIMIT));
    assert!(stderr.is_truncated());
    let display = error.to_string();
    assert!(display.contains("(truncated)"), "{display}");
    assert!(
        !display.contains(&"e".repeat(STDERR_LIMIT + 1)),
        "{display}"
    );
}

#[tokio::test]
async fn a_command_that_outlives_its_timeout_is_killed_and_reaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("pid");
    let pid_arg = pid_file.to_str().expect("temp paths are UTF-8");
    // `exec` makes `sleep` the very process the source started, so its PID is the child's.
    let custom = command(
        argv(&[
            "sh",
            "-c",
            "echo $$ > \"$0\"; echo 'waiting for vault' >&2; exec sleep 30",
            pid_arg,
        ]),
        Duration::from_secs(1),
    );
    let source = custom.build(TokenType::Jwt);

    let (error, cause_debug) = fetch_error(source.as_ref()).await;
    assert!(
        matches!(custom_error(&error), CustomError::Timeout { timeout, .. } if *timeout == Duration::from_secs(1)),
        "expected Timeout after 1 s, got {cause_debug}"
    );
    assert_names_program_and_stderr(&error, "sh", "waiting for vault");
    assert!(error.is_transient());
    assert!(
        error.to_string().contains("did not finish within 1 s"),
        "{error}"
    );

    let pid = pid_written_to(&pid_file);
    // Killed and waited for: not running, and not left behind as a zombie either.
    assert!(!process_exists(pid), "process {pid} still exists");
}

/// PIDs of live (not zombie) processes whose command line is exactly `argv`.
fn live_processes(argv: &[&str]) -> Vec<u32> {
    let wanted: Vec<u8> = argv
        .iter()
        .flat_map(|arg| [arg.as_bytes(), b"\0"])
        .flatten()
        .copied()
        .collect();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| cmd == wanted))
        .filter(|pid| {
            // The state follows the parenthesised command name in /proc/PID/stat.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit_once(") ")
                        .map(|(_, rest)| !rest.starts_with('Z'))
                })
                .unwrap_or(false)
        })
        .collect()
}

/// Live processes running exactly `argv`, once they had a moment to die: `SIGKILL` is delivered
/// asynchronously, so a killed process may still be listed right after the signal was sent. Polls
/// for at most 10 s (an unkilled `sleep 31x` lives for 5 minutes, so a regression still fails).
async fn survivors(argv: &[&str]) -> Vec<u32> {
    for _ in 0..500 {
        if live_processes(argv).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    live_processes(argv)
}

#[tokio::test]
async fn at_the_timeout_the_whole_process_group_is_killed() {
    // Both sleeps are children of the shell; before process groups, only the shell was killed
    // and both sleeps ran on for five minutes.
    let source = command(
        sh("sleep 313 & sleep 314; echo tok"),
        Duration::from_secs(1),
    )
    .build(TokenType::Jwt);

    let (error, cause_debug) = fetch_error(source.as_ref()).await;
    assert!(
        matches!(custom_error(&error), CustomError::Timeout { .. }),
        "expected Timeout, got {cause_debug}"
    );
    for argv in [["sleep", "313"], ["sleep", "314"]] {
        assert_eq!(
            survivors(&argv).await,
            Vec::<u32>::new(),
            "{argv:?} still runs"
        );
    }
}

#[tokio::test]
async fn a_command_that_leaves_a_background_child_succeeds_and_the_child_is_killed() {
    // The background sleep inherits standard output and would hold the pipe open for 315 s.
    let source = CommandSource::new(
        sh("sleep 315 & echo tok"),
        Duration::from_secs(5),
        TokenType::Jwt,
    );

    let token = source.fetch().await.expect("the token, not a timeout");
    assert_eq!(token.secret().expose_secret(), "tok");
    assert_eq!(survivors(&["sleep", "315"]).await, Vec::<u32>::new());
}

#[tokio::test]
async fn blank_standard_output_is_an_empty_output_error() {
    let source = source(sh("printf '  \\n'"));
    let (error, cause_debug) = fetch_error(&source).await;
    assert!(
        matches!(custom_error(&error), CustomError::EmptyOutput { status, .. } if status.success()),
        "{cause_debug}"
    );
    assert!(!error.is_transient());
    assert_eq!(error.step(), "reading the token command's output");
}

#[tokio::test]
async fn a_missing_program_is_not_found_and_named() {
    let source = source(argv(&["openai-conn-no-such-program-3f9a", "--secret-arg"]));
    let (error, cause_debug) = fetch_error(&source).await;
    assert!(
        matches!(custom_error(&error), CustomError::ProgramNotFound { program, .. }
            if program == "openai-conn-no-such-program-3f9a"),
        "{cause_debug}"
    );
    assert!(!error.is_transient());
    assert_eq!(error.step(), "starting the token command");
    let display = error.to_string();
    assert!(
        display.contains("\"openai-conn-no-such-program-3f9a\" was not found"),
        "{display}"
    );
    assert!(!display.contains("--secret-arg"), "{display}");
}

#[tokio::test]
async fn standard_output_that_is_not_utf8_is_rejected_without_echoing_it() {
    let source = source(sh("printf 'eyJ.SECRET-PART\\377\\376'"));
    let (error, cause_debug) = fetch_error(&source).await;
    assert!(
        matches!(custom_error(&error), CustomError::NotUtf8 { .. }),
        "{cause_debug}"
    );
    assert!(!error.is_transient());
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains("SECRET-PART"), "{text}");
    }
}

#[tokio::test]
async fn standard_output_beyond_the_limit_is_rejected() {
    let script = format!("head -c {} /dev/zero | tr '\\0' a", STDOUT_LIMIT + 1);
    let source = source(sh(&script));
    let (error, cause_debug) = fetch_error(&source).await;
    assert!(
        matches!(custom_error(&error), CustomError::OutputTooLarge { limit, .. } if *limit == STDOUT_LIMIT),
        "{cause_debug}"
    );
    assert!(!error.to_string().contains("aaaa"), "{error}");
}

#[test]
fn debug_shows_the_program_and_argument_count_but_not_the_arguments() {
    let source = CommandSource::new(
        sh("printf super-secret-argument"),
        Duration::from_millis(1500),
        TokenType::Id,
    );
    let debug = format!("{source:?}");
    assert_eq!(
        debug,
        "CommandSource { program: \"sh\", arguments: 2, timeout: 1.5s, token_type: Id }"
    );
    assert_eq!(source.program(), "sh");
    assert_eq!(source.timeout(), Duration::from_millis(1500));
    assert_eq!(source.token_type(), TokenType::Id);
}

#[tokio::test]
async fn an_empty_command_fails_at_fetch_time_as_a_missing_program() {
    // The parser never produces one; built by hand, it is not a panic but an honest error.
    for argv in [Vec::new(), vec![String::new()]] {
        let source = CommandSource::new(argv, Duration::from_secs(5), TokenType::Jwt);
        assert_eq!(source.program(), "");
        let (error, cause_debug) = fetch_error(&source).await;
        assert!(
            matches!(custom_error(&error), CustomError::ProgramNotFound { program, .. } if program.is_empty()),
            "{cause_debug}"
        );
        assert!(!error.is_transient());
    }
}

#[tokio::test]
async fn concurrent_fetches_each_run_the_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = dir.path().join("runs");
    let counter_arg = counter.to_str().expect("temp paths are UTF-8");
    let source: Arc<dyn SubjectTokenSource> = Arc::new(source(argv(&[
        "sh",
        "-c",
        "echo run >> \"$0\"; printf 'eyJ.token'",
        counter_arg,
    ])));

    let (first, second) = tokio::join!(source.fetch(), source.fetch());
    assert_eq!(first.expect("first").secret().expose_secret(), "eyJ.token");
    assert_eq!(
        second.expect("second").secret().expose_secret(),
        "eyJ.token"
    );
    let runs = std::fs::read_to_string(&counter).expect("the command ran");
    assert_eq!(runs.lines().count(), 2);
}

#[tokio::test]
async fn dropping_a_fetch_kills_the_group_and_reaps_the_command_before_the_drop_returns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("pid");
    let pid_arg = pid_file.to_str().expect("temp paths are UTF-8");
    // The shell writes its PID once its background sleep has started, then waits for it.
    let source = source(argv(&[
        "sh",
        "-c",
        "sleep 316 & echo $$ > \"$0.tmp\" && mv \"$0.tmp\" \"$0\"; wait",
        pid_arg,
    ]));
    let mut fetch = source.fetch();
    // Drives the fetch until the command has written its PID, then drops it mid-run.
    let waited = tokio::select! {
        result = &mut fetch => panic!("the command ended by itself: {:?}", result.map(|_| "a token")),
        () = async {
            while !pid_file.exists() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        } => "the PID file",
    };
    assert_eq!(waited, "the PID file");
    drop(fetch);

    let pid = pid_written_to(&pid_file);
    // Reaped by the drop itself: no zombie waits for the runtime's next turn.
    assert!(!process_exists(pid), "the command {pid} still exists");
    assert_eq!(survivors(&["sleep", "316"]).await, Vec::<u32>::new());
}
