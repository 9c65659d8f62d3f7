//! The proxy's log on standard error, written when the proxy has nothing else to do.
//!
//! A request log line written at once costs a system call on the request's path (and wakes
//! whatever reads the log, on the same cores). Here lines gather in memory and are written
//! together when the proxy's runtime is about to go idle ([`flush`] is its park hook), when
//! [`FLUSH_AT`] bytes are waiting (a proxy that never idles still logs), and at exit. A line is
//! never cut: each event is formatted whole and appended whole.

use std::io::Write;
use std::sync::Mutex;

/// The most bytes of log that wait for the runtime to go idle.
const FLUSH_AT: usize = 64 * 1024;

/// The lines not yet written.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// A [`tracing_subscriber::fmt::MakeWriter`] whose writers append to the pending lines.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DeferredStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for DeferredStderr {
    type Writer = DeferredStderr;

    fn make_writer(&'a self) -> Self::Writer {
        DeferredStderr
    }
}

impl Write for DeferredStderr {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut pending = lock();
            pending.extend_from_slice(bytes);
            pending.len() >= FLUSH_AT
        };
        if full {
            flush();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes the pending lines to standard error. A failed write drops them: a log that cannot be
/// written must not stop the proxy.
pub(crate) fn flush() {
    let lines = std::mem::take(&mut *lock());
    if !lines.is_empty() {
        let _ = std::io::stderr().lock().write_all(&lines);
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<u8>> {
    // A panic while appending leaves whole lines behind at worst: the buffer stays usable.
    PENDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
