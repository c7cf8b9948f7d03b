//! Host I/O over Arm semihosting (QEMU `-semihosting-config enable=on`):
//! files in the emulator's working directory, the host clock and exit.
//!
//! On a real board the same calls work under a debug probe with
//! semihosting enabled; a product would use a UART and a TRNG instead.

use core::ffi::CStr;
use cortex_m_semihosting::nr::open;
use cortex_m_semihosting::{syscall, syscall1};
use postcard::ser_flavors::{Flavor, Size};
use serde::Serialize;

/// A host I/O call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostError {
    /// The host refused to open the file.
    Open,
    /// The host file ended early.
    ShortRead,
    /// The host accepted fewer bytes than written.
    ShortWrite,
    /// A frame could not be serialized.
    Serialize,
}

/// A file on the host, closed on drop.
pub struct HostFile(usize);

impl HostFile {
    /// Opens `name` for binary reading.
    pub fn open_read(name: &CStr) -> Result<Self, HostError> {
        Self::open(name, open::R_BINARY)
    }

    /// Creates (or truncates) `name` for binary writing.
    pub fn create(name: &CStr) -> Result<Self, HostError> {
        Self::open(name, open::W_TRUNC_BINARY)
    }

    fn open(name: &CStr, mode: usize) -> Result<Self, HostError> {
        let bytes = name.to_bytes();
        // SAFETY: SYS_OPEN reads `bytes.len()` bytes of a NUL-terminated name.
        let fd = unsafe { syscall!(OPEN, bytes.as_ptr(), mode, bytes.len()) };
        if fd == usize::MAX {
            Err(HostError::Open)
        } else {
            Ok(HostFile(fd))
        }
    }

    /// Fills `buf` from the file.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), HostError> {
        // SAFETY: SYS_READ writes at most `buf.len()` bytes into `buf`;
        // it returns how many bytes were *not* read.
        let missing = unsafe { syscall!(READ, self.0, buf.as_mut_ptr(), buf.len()) };
        if missing == 0 {
            Ok(())
        } else {
            Err(HostError::ShortRead)
        }
    }

    /// Writes all of `buf` to the file.
    pub fn write_all(&mut self, buf: &[u8]) -> Result<(), HostError> {
        // SAFETY: SYS_WRITE reads `buf.len()` bytes from `buf`; it returns
        // how many bytes were *not* written.
        let missing = unsafe { syscall!(WRITE, self.0, buf.as_ptr(), buf.len()) };
        if missing == 0 {
            Ok(())
        } else {
            Err(HostError::ShortWrite)
        }
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        // SAFETY: closes a handle this value owns; nothing else uses it.
        unsafe { syscall!(CLOSE, self.0) };
    }
}

/// Host time since the emulator started, in nanoseconds (SYS_ELAPSED scaled
/// by SYS_TICKFREQ); `None` if the host does not provide it.
pub fn elapsed_ns() -> Option<u64> {
    let mut ticks = [0u32; 2];
    // SAFETY: SYS_ELAPSED writes a 64-bit tick count into the two words.
    let rc = unsafe { syscall1!(ELAPSED, ticks.as_mut_ptr()) };
    // SAFETY: SYS_TICKFREQ takes no argument.
    let freq = unsafe { syscall1!(TICKFREQ, 0) };
    if rc != 0 || freq == usize::MAX || freq == 0 {
        return None;
    }
    let ticks = u64::from(ticks[0]) | (u64::from(ticks[1]) << 32);
    Some((u128::from(ticks) * 1_000_000_000 / freq as u128) as u64)
}

/// A binary stream of length-prefixed records to a host file: each record
/// is its length as a little-endian `u32`, then its bytes; a zero length
/// ends the stream. Writes go through a small buffer, so a frame of several
/// megabytes needs no buffer of its size.
pub struct RecordSink {
    file: HostFile,
    buf: [u8; 4096],
    used: usize,
    total: usize,
}

impl RecordSink {
    /// Starts a stream into `file`.
    pub fn new(file: HostFile) -> Self {
        RecordSink {
            file,
            buf: [0; 4096],
            used: 0,
            total: 0,
        }
    }

    /// Bytes written so far, prefixes included.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Serializes `value` as one record: a counting pass for the length
    /// prefix, then the bytes as postcard produces them. Returns the
    /// record's payload length.
    pub fn record<T: Serialize>(&mut self, value: &T) -> Result<usize, HostError> {
        let len = hetal_nostd::wire::to_flavor(value, Size::default())
            .map_err(|_| HostError::Serialize)?;
        let prefix = u32::try_from(len).map_err(|_| HostError::Serialize)?;
        self.extend(&prefix.to_le_bytes())?;
        hetal_nostd::wire::to_flavor(value, SinkFlavor(self)).map_err(|_| HostError::Serialize)?;
        Ok(len)
    }

    /// Writes the end marker and flushes.
    pub fn finish(mut self) -> Result<usize, HostError> {
        self.extend(&0u32.to_le_bytes())?;
        self.flush()?;
        Ok(self.total)
    }

    fn push(&mut self, byte: u8) -> Result<(), HostError> {
        if self.used == self.buf.len() {
            self.flush()?;
        }
        self.buf[self.used] = byte;
        self.used += 1;
        self.total += 1;
        Ok(())
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), HostError> {
        bytes.iter().try_for_each(|&b| self.push(b))
    }

    fn flush(&mut self) -> Result<(), HostError> {
        let used = core::mem::take(&mut self.used);
        self.file.write_all(&self.buf[..used])
    }
}

/// The postcard flavor that feeds a [`RecordSink`].
struct SinkFlavor<'a>(&'a mut RecordSink);

impl Flavor for SinkFlavor<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0
            .push(byte)
            .map_err(|_| postcard::Error::SerializeBufferFull)
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}
