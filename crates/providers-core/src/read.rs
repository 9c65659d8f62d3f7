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
    let file = File::open(path)?;
    // Checked again on the open file: the path may have been swapped in between.
    check_regular(&file.metadata()?)?;
    let capacity = usize::try_from(metadata.len().saturating_add(1)).unwrap_or(0);
    read_bounded_with_capacity(file, limit, capacity)
}

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
