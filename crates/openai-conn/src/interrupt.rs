//! SIGINT, SIGTERM and SIGHUP while a subcommand runs work that may start a `token_command`
//! (`token`, `test`, `doctor`): the work is dropped, so the command source kills and reaps the
//! command's process group, and the tool exits with the conventional status, 128 + the signal.
//!
//! The token command runs in a process group of its own, so a terminal's Ctrl-C never reaches
//! it: without this, the tool would die at the signal and leave the command running.

use std::future::Future;
use std::process::ExitCode;
use std::task::Poll;

use tokio::runtime::Runtime;

/// Runs `work` on `runtime` until it finishes or one of the signals arrives. On a signal the
/// runtime is dropped before this returns, which drops `work` and every task it spawned (the
/// token cache runs its exchange in a task), and with them any running token command: its group
/// is killed and the command reaped by the command source. The error is the exit code.
pub(crate) fn block_on<F: Future>(runtime: Runtime, work: F) -> Result<F::Output, ExitCode> {
    let outcome = runtime.block_on(async {
        // Listening starts here, before `work` is first polled, so no command starts unwatched.
        let signals = Signals::listen();
        tokio::select! {
            biased;
            status = signals.recv() => Err(status),
            output = work => Ok(output),
        }
    });
    outcome.map_err(|status| {
        drop(runtime);
        ExitCode::from(status)
    })
}

/// The signals listened for, each with the exit status it ends the tool with. A signal that
/// cannot be listened for keeps its default action (the tool dies at it); the others still
/// count.
struct Signals {
    #[cfg(unix)]
    streams: Vec<(tokio::signal::unix::Signal, u8)>,
    #[cfg(windows)]
    ctrl_c: Option<tokio::signal::windows::CtrlC>,
}

impl Signals {
    /// Starts listening (needs the runtime's context).
    #[cfg(unix)]
    fn listen() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        // 128 + the signal's number, which POSIX fixes: SIGHUP 1, SIGINT 2, SIGTERM 15.
        let streams = [
            (SignalKind::hangup(), 129),
            (SignalKind::interrupt(), 130),
            (SignalKind::terminate(), 143),
        ]
        .into_iter()
        .filter_map(|(kind, status)| Some((signal(kind).ok()?, status)))
        .collect();
        Signals { streams }
    }

    /// Starts listening for Ctrl-C, reported as 130 as a Unix shell reports SIGINT.
    #[cfg(windows)]
    fn listen() -> Self {
        Signals {
            ctrl_c: tokio::signal::windows::ctrl_c().ok(),
        }
    }

    /// Waits for the first signal and returns its exit status.
    async fn recv(mut self) -> u8 {
        std::future::poll_fn(|context| {
            #[cfg(unix)]
            for (stream, status) in &mut self.streams {
                if stream.poll_recv(context).is_ready() {
                    return Poll::Ready(*status);
                }
            }
            #[cfg(windows)]
            if let Some(ctrl_c) = &mut self.ctrl_c {
                if ctrl_c.poll_recv(context).is_ready() {
                    return Poll::Ready(130);
                }
            }
            Poll::Pending
        })
        .await
    }
}
