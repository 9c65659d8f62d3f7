//! Standard output that cannot panic: `out!` and `outln!` write
//! like `print!` and `println!`, but a write that fails (a closed pipe, as in
//! `openai-conn schema | true`, or a full disk) ends the process with a message on standard error
//! and exit code 2 instead of a panic.

use std::io::Write;

/// Writes `arguments` to standard output, or ends the process as the module says.
pub(crate) fn write(arguments: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_fmt(arguments) {
        failed(&error);
    }
}

/// Flushes standard output at exit, where a buffered write may fail last.
pub(crate) fn flush() {
    if let Err(error) = std::io::stdout().lock().flush() {
        failed(&error);
    }
}

fn failed(error: &std::io::Error) -> ! {
    eprintln!("openai-conn: cannot write to standard output: {error}");
    std::process::exit(i32::from(crate::EXIT_USAGE))
}

/// `print!` that never panics; see the module docs.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*))
    };
}

/// `println!` that never panics; see the module docs.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}
