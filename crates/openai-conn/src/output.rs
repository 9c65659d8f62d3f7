//! Standard output and standard error that cannot panic and carry no raw control character.
//!
//! `out!` / `outln!` write to standard output, `err!` / `errln!` to standard error, like
//! `print!` / `eprintln!`, with two differences:
//! - Everything written is escaped by `crate::escape` first: `outln!` and `err!` keep the line
//!   feeds of text the tool composed ([`escape::lines`]), `errln!` writes one line and escapes a
//!   line feed inside it too ([`escape::line`]: every message on standard error is one line),
//!   and [`json`] writes a JSON document ([`escape::json`]).
//! - A write that fails (a closed pipe, as in `openai-conn schema | true`, or a full disk) ends
//!   the process with exit code 2 instead of a panic: on standard output with a message on
//!   standard error, on standard error silently (there is nowhere left to say it).

use std::io::Write;

use crate::escape;

/// Where a write goes.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Out,
    Err,
}

/// Writes `text` (already escaped) to `stream`, or ends the process as the module says.
pub(crate) fn write_escaped(stream: Stream, text: &str) {
    let written = match stream {
        Stream::Out => std::io::stdout().lock().write_all(text.as_bytes()),
        Stream::Err => std::io::stderr().lock().write_all(text.as_bytes()),
    };
    if let Err(error) = written {
        failed(stream, &error);
    }
}

/// Writes `arguments`, escaped by [`escape::lines`], to `stream`.
pub(crate) fn write_lines(stream: Stream, arguments: std::fmt::Arguments<'_>) {
    let text = arguments.to_string();
    write_escaped(stream, &escape::lines(&text));
}

/// Writes `arguments` as one line, escaped by [`escape::line`], and a line feed to `stream`.
pub(crate) fn write_line(stream: Stream, arguments: std::fmt::Arguments<'_>) {
    let text = arguments.to_string();
    let mut line = escape::line(&text).into_owned();
    line.push('\n');
    write_escaped(stream, &line);
}

/// Writes `value` as pretty JSON and a line feed to standard output, escaped by
/// [`escape::json`].
pub(crate) fn json(value: &impl serde::Serialize) {
    if let Some(text) = json_text(value) {
        write_escaped(Stream::Out, &text);
    }
}

/// `value` as pretty JSON and a line feed, escaped by [`escape::json`]; `None` (said on standard
/// error) when it cannot be encoded.
fn json_text(value: &impl serde::Serialize) -> Option<String> {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            let mut text = escape::json(&text).into_owned();
            text.push('\n');
            Some(text)
        }
        Err(error) => {
            write_line(
                Stream::Err,
                format_args!("openai-conn: cannot encode the report: {error}"),
            );
            None
        }
    }
}

/// Flushes both streams at exit, where a buffered write may fail last.
pub(crate) fn flush() {
    if let Err(error) = std::io::stdout().lock().flush() {
        failed(Stream::Out, &error);
    }
    if let Err(error) = std::io::stderr().lock().flush() {
        failed(Stream::Err, &error);
    }
}

fn failed(stream: Stream, error: &std::io::Error) -> ! {
    if let Stream::Out = stream {
        // Standard error may be closed too: what cannot be said is not said.
        let _ = writeln!(
            std::io::stderr().lock(),
            "openai-conn: cannot write to standard output: {}",
            escape::line(&error.to_string())
        );
    }
    std::process::exit(i32::from(crate::EXIT_USAGE))
}

/// `print!` that escapes and never panics; see the module docs.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_lines($crate::output::Stream::Out, format_args!($($arg)*))
    };
}

/// `println!` that escapes and never panics; see the module docs.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write_lines(
            $crate::output::Stream::Out,
            format_args!("{}\n", format_args!($($arg)*)),
        )
    };
}

/// `eprint!` for text of several lines that the tool composed; see the module docs.
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::output::write_lines($crate::output::Stream::Err, format_args!($($arg)*))
    };
}

/// `eprintln!` for one line (a line feed inside it is escaped); see the module docs.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::write_line($crate::output::Stream::Err, format_args!($($arg)*))
    };
}

/// Where `validate` writes its report: standard output, or the file of `--output-file`. Text goes
/// through `crate::escape` as on the streams above; a write that fails ends the process with a
/// message and exit code 2.
pub(crate) struct Sink {
    writer: Box<dyn Write>,
    /// What to call the destination in an error message.
    name: String,
}

impl Sink {
    /// Standard output, buffered.
    pub(crate) fn stdout() -> Sink {
        Sink {
            writer: Box::new(std::io::BufWriter::new(std::io::stdout())),
            name: "standard output".to_owned(),
        }
    }

    /// The file at `path`, created or truncated.
    pub(crate) fn file(path: &std::path::Path) -> std::io::Result<Sink> {
        let file = std::fs::File::create(path)?;
        Ok(Sink {
            writer: Box::new(std::io::BufWriter::new(file)),
            name: path.display().to_string(),
        })
    }

    /// Writes text of several lines that the tool composed, escaped by [`escape::lines`].
    pub(crate) fn lines(&mut self, text: &str) {
        self.raw(&escape::lines(text));
    }

    /// Writes `value` as pretty JSON and a line feed, escaped by [`escape::json`].
    pub(crate) fn json(&mut self, value: &impl serde::Serialize) {
        if let Some(text) = json_text(value) {
            self.raw(&text);
        }
    }

    /// Writes `text` that is escaped already (the colours of `crate::color` are added after
    /// escaping, so they are the only control sequences that reach the terminal).
    pub(crate) fn raw(&mut self, text: &str) {
        if let Err(error) = self.writer.write_all(text.as_bytes()) {
            self.failed(&error);
        }
    }

    /// Flushes what is buffered, or ends the process.
    pub(crate) fn finish(mut self) {
        if let Err(error) = self.writer.flush() {
            self.failed(&error);
        }
    }

    fn failed(&self, error: &std::io::Error) -> ! {
        write_line(
            Stream::Err,
            format_args!("openai-conn: cannot write to {}: {error}", self.name),
        );
        std::process::exit(i32::from(crate::EXIT_USAGE))
    }
}
