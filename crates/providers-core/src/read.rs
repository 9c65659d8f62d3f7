//! Bounded reads: a file is read only when it is a regular file, and no read takes more than a
//! stated number of bytes. Connection documents and token files go through here, so a FIFO, a
//! device such as `/dev/zero` or a runaway input ends at once with an error instead of a hang or
//! an exhausted memory.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The most a connection document (a file or standard input) may hold: 16 MiB. A connection is a
/// few hundred bytes; the bound leaves room for generated documents (the test fixtures include a
/// 10 MB one that must still be validated) and stops a runaway input.
pub const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;

/// The most a token file may hold: 64 KiB (a projected service-account token is about 1 KiB).
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// The most a certificate, private key or CA bundle file may hold: 1 MiB (a chain of a few
/// certificates is a few KiB; a CA bundle of every public root is about 200 KiB).
pub const MAX_CREDENTIAL_FILE_BYTES: u64 = 1024 * 1024;

/// Reads the regular file at `path` (symbolic links followed), at most `limit` bytes.
///
/// Anything else (a directory, a FIFO, a socket, a device) is refused before it is opened, with
/// an [`io::ErrorKind::InvalidInput`] error that names what it is; a file larger than `limit` is
/// an [`io::ErrorKind::FileTooLarge`] error, by its size before reading and by what a read
/// returns (a file that grows while it is read).
pub fn read_regular_file(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let metadata = std::fs::metadata(path)?;
    check_regular(&metadata)?;
    if metadata.len() > limit {
        return Err(too_large(limit));
    }
    // Opened without blocking and checked again on the open file: the path may have been
    // swapped for a FIFO in between, and opening a FIFO for reading waits for a writer.
    let file = open_nonblocking(path)?;
    check_regular(&file.metadata()?)?;
    let capacity = usize::try_from(metadata.len().saturating_add(1)).unwrap_or(0);
    read_bounded_with_capacity(file, limit, capacity)
}

/// Opens `path` for reading with `O_NONBLOCK`, so that the open itself never waits (a FIFO
/// waits for a writer, some devices for a carrier). On a regular file the flag changes nothing.
fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(O_NONBLOCK);
    }
    options.open(path)
}

// `O_NONBLOCK` by platform, written out so that this crate needs no `libc` (its weight is a
// stated limit); a test compares it with `libc::O_NONBLOCK`. Each platform family is named once:
// Linux keeps the generic value on every architecture but a few (MIPS, SPARC, Alpha, PA-RISC,
// left out here); the BSDs and Apple share theirs. Elsewhere it is 0 and the check of the
// opened file's type still refuses a swap, after the open.
#[cfg(unix)]
const O_NONBLOCK: i32 = if cfg!(all(
    any(target_os = "linux", target_os = "android"),
    any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
)) {
    0o4000
} else if cfg!(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)) {
    0x4
} else {
    0
};

/// Reads `reader` to its end, at most `limit` bytes; more is an [`io::ErrorKind::FileTooLarge`]
/// error (reading stops one byte past the limit).
pub fn read_bounded(reader: impl Read, limit: u64) -> io::Result<Vec<u8>> {
    read_bounded_with_capacity(reader, limit, 0)
}

fn read_bounded_with_capacity(
    reader: impl Read,
    limit: u64,
    capacity: usize,
) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(capacity);
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("larger than the limit of {limit} bytes"),
    )
}

fn check_regular(metadata: &std::fs::Metadata) -> io::Result<()> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    let what = if file_type.is_dir() {
        "a directory"
    } else {
        special_kind(&file_type)
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a regular file (it is {what})"),
    ))
}

#[cfg(unix)]
fn special_kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a named pipe"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "not a file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_one_byte_past_the_limit() {
        assert_eq!(
            read_bounded(&b"12345"[..], 5).expect("at the limit"),
            b"12345"
        );
        let error = read_bounded(&b"123456"[..], 5).expect_err("past the limit");
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(error.to_string(), "larger than the limit of 5 bytes");
        // An endless reader ends too.
        let error = read_bounded(io::repeat(b'x'), 1024).expect_err("endless");
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
    }

    #[cfg(unix)]
    #[test]
    fn the_nonblocking_flag_is_the_platforms() {
        assert_eq!(O_NONBLOCK, libc::O_NONBLOCK);
    }

    /// A FIFO opened by the non-blocking open does not wait for a writer, and the check of the
    /// opened file refuses it: what a path swapped after the first check meets.
    #[cfg(unix)]
    #[test]
    fn a_fifo_opened_without_blocking_is_refused_at_once() {
        let directory = std::env::temp_dir().join(format!("read-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("temp dir");
        let fifo = directory.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let file = open_nonblocking(&fifo).expect("opens without a writer");
        let error = check_regular(&file.metadata().expect("fstat")).expect_err("a FIFO");
        assert_eq!(error.to_string(), "not a regular file (it is a named pipe)");
        let _ = std::fs::remove_dir_all(&directory);
    }

    #[test]
    fn directories_and_devices_are_refused_before_reading() {
        let error = read_regular_file(Path::new("."), 1024).expect_err("a directory");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(error.to_string(), "not a regular file (it is a directory)");
        #[cfg(unix)]
        {
            let error = read_regular_file(Path::new("/dev/zero"), 1024).expect_err("a device");
            assert_eq!(
                error.to_string(),
                "not a regular file (it is a character device)"
            );
        }
    }
}
