//! Frame files: the container of key sets, encrypted data, weights and
//! checkpoints, on disk and on the wire.
//!
//! ```text
//! "HETALFRM"              8 bytes magic
//! version                 u16 little-endian (1)
//! content                 u8: a [`Content`]
//! meta length M           u32 little-endian (at most 64 KiB)
//! meta                    M bytes of UTF-8 TOML (the job, sample counts...)
//! then repeated to the end of the file:
//!   frame length L        u32 little-endian (at most the reader's frame limit)
//!   frame                 L bytes: one hetal-nostd wire frame
//! ```
//!
//! [`FrameParser`] reads the format incrementally (bytes in, events out)
//! so the server can check every frame as an upload arrives without
//! holding more than one frame in memory.

use std::io::{Read, Write};

use thiserror::Error;

/// First bytes of a frame file.
pub const FILE_MAGIC: [u8; 8] = *b"HETALFRM";
/// Version of the frame-file format.
pub const FILE_VERSION: u16 = 1;
/// Largest meta block.
pub const MAX_META_BYTES: usize = 64 << 10;
const PREFIX: usize = 8 + 2 + 1 + 4;

/// What a frame file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Content {
    /// `secret.key`: one secret-key frame. Never leaves the key owner.
    SecretKey = 1,
    /// `public.key`: one public-key frame; meta = the job.
    PublicKey = 2,
    /// `eval.keys`: relinearisation, Galois, encapsulation keys; meta = the job.
    EvalKeys = 3,
    /// Encrypted training batches (x tiles then y tiles, batch after batch).
    TrainData = 4,
    /// Encrypted validation features (x tiles, batch after batch).
    ValidationData = 5,
    /// Encrypted weights (tiles).
    Weights = 6,
    /// Encrypted validation logits of one epoch.
    Logits = 7,
    /// A server checkpoint.
    Checkpoint = 8,
}

impl Content {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Content::SecretKey,
            2 => Content::PublicKey,
            3 => Content::EvalKeys,
            4 => Content::TrainData,
            5 => Content::ValidationData,
            6 => Content::Weights,
            7 => Content::Logits,
            8 => Content::Checkpoint,
            _ => return None,
        })
    }
}

/// Errors of frame files.
#[derive(Debug, Error)]
pub enum FrameFileError {
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Not a frame file.
    #[error("not a hetal frame file (bad magic)")]
    BadMagic,
    /// Another version of the format.
    #[error("unsupported frame-file version {0}")]
    Version(u16),
    /// Unknown or unexpected content tag.
    #[error("unexpected content tag {got} (expected {expected:?})")]
    Content {
        /// Tag found.
        got: u8,
        /// Content expected.
        expected: Content,
    },
    /// The meta block is too large or not UTF-8.
    #[error("bad meta block")]
    Meta,
    /// A frame longer than the limit.
    #[error("frame of {len} bytes exceeds the limit of {limit}")]
    FrameTooLarge {
        /// Declared length.
        len: usize,
        /// Limit.
        limit: usize,
    },
    /// The file ends inside the prefix, the meta or a frame.
    #[error("truncated frame file")]
    Truncated,
}

/// Writes a frame file.
pub struct FrameWriter<W: Write> {
    out: W,
}

impl<W: Write> FrameWriter<W> {
    /// Writes the prefix and meta block.
    pub fn new(mut out: W, content: Content, meta: &str) -> Result<Self, FrameFileError> {
        if meta.len() > MAX_META_BYTES {
            return Err(FrameFileError::Meta);
        }
        out.write_all(&FILE_MAGIC)?;
        out.write_all(&FILE_VERSION.to_le_bytes())?;
        out.write_all(&[content as u8])?;
        out.write_all(&(meta.len() as u32).to_le_bytes())?;
        out.write_all(meta.as_bytes())?;
        Ok(FrameWriter { out })
    }

    /// Appends one frame.
    pub fn push(&mut self, frame: &[u8]) -> Result<(), FrameFileError> {
        let len = u32::try_from(frame.len()).map_err(|_| FrameFileError::FrameTooLarge {
            len: frame.len(),
            limit: u32::MAX as usize,
        })?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(frame)?;
        Ok(())
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> Result<W, FrameFileError> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// An event of [`FrameParser`].
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// The prefix and meta block have been read.
    Meta(String),
    /// One complete frame.
    Frame(Vec<u8>),
}

/// Incremental reader of a frame file.
#[derive(Debug)]
pub struct FrameParser {
    expected: Content,
    frame_limit: usize,
    buf: Vec<u8>,
    meta_done: bool,
}

impl FrameParser {
    /// A parser for content `expected`, refusing frames over `frame_limit` bytes.
    pub fn new(expected: Content, frame_limit: usize) -> Self {
        FrameParser {
            expected,
            frame_limit,
            buf: Vec::new(),
            meta_done: false,
        }
    }

    /// Feeds bytes; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Event>, FrameFileError> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut at = 0;
        loop {
            let rest = &self.buf[at..];
            if !self.meta_done {
                if rest.len() < PREFIX {
                    // Reject a wrong magic as early as possible.
                    if !FILE_MAGIC.starts_with(&rest[..rest.len().min(8)]) {
                        return Err(FrameFileError::BadMagic);
                    }
                    break;
                }
                if rest[..8] != FILE_MAGIC {
                    return Err(FrameFileError::BadMagic);
                }
                let version = u16::from_le_bytes([rest[8], rest[9]]);
                if version != FILE_VERSION {
                    return Err(FrameFileError::Version(version));
                }
                if Content::from_u8(rest[10]) != Some(self.expected) {
                    return Err(FrameFileError::Content {
                        got: rest[10],
                        expected: self.expected,
                    });
                }
                let len = u32::from_le_bytes([rest[11], rest[12], rest[13], rest[14]]) as usize;
                if len > MAX_META_BYTES {
                    return Err(FrameFileError::Meta);
                }
                if rest.len() < PREFIX + len {
                    break;
                }
                let meta = std::str::from_utf8(&rest[PREFIX..PREFIX + len])
                    .map_err(|_| FrameFileError::Meta)?;
                events.push(Event::Meta(meta.to_string()));
                self.meta_done = true;
                at += PREFIX + len;
                continue;
            }
            if rest.len() < 4 {
                break;
            }
            let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if len > self.frame_limit {
                return Err(FrameFileError::FrameTooLarge {
                    len,
                    limit: self.frame_limit,
                });
            }
            if rest.len() < 4 + len {
                break;
            }
            events.push(Event::Frame(rest[4..4 + len].to_vec()));
            at += 4 + len;
        }
        self.buf.drain(..at);
        Ok(events)
    }

    /// Checks the input ended on a frame boundary.
    pub fn finish(&self) -> Result<(), FrameFileError> {
        if self.meta_done && self.buf.is_empty() {
            Ok(())
        } else {
            Err(FrameFileError::Truncated)
        }
    }
}

/// Reads a frame file from `input` one frame at a time.
pub struct FrameReader<R: Read> {
    input: R,
    parser: FrameParser,
    pending: std::collections::VecDeque<Vec<u8>>,
    meta: String,
    done: bool,
}

impl<R: Read> FrameReader<R> {
    /// Reads the prefix and meta block.
    pub fn new(input: R, expected: Content, frame_limit: usize) -> Result<Self, FrameFileError> {
        let mut r = FrameReader {
            input,
            parser: FrameParser::new(expected, frame_limit),
            pending: Default::default(),
            meta: String::new(),
            done: false,
        };
        while !r.parser.meta_done {
            if !r.fill()? {
                return Err(FrameFileError::Truncated);
            }
        }
        Ok(r)
    }

    /// The meta block.
    pub fn meta(&self) -> &str {
        &self.meta
    }

    fn fill(&mut self) -> Result<bool, FrameFileError> {
        let mut chunk = [0u8; 64 << 10];
        let n = self.input.read(&mut chunk)?;
        if n == 0 {
            self.done = true;
            self.parser.finish()?;
            return Ok(false);
        }
        for e in self.parser.feed(&chunk[..n])? {
            match e {
                Event::Meta(m) => self.meta = m,
                Event::Frame(f) => self.pending.push_back(f),
            }
        }
        Ok(true)
    }

    /// The next frame, `None` at the end of the file.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameFileError> {
        loop {
            if let Some(f) = self.pending.pop_front() {
                return Ok(Some(f));
            }
            if self.done || !self.fill()? {
                return Ok(None);
            }
        }
    }
}

/// Opens a frame file on disk for reading.
pub fn open_frames(
    path: &std::path::Path,
    expected: Content,
    frame_limit: usize,
) -> Result<FrameReader<std::io::BufReader<std::fs::File>>, FrameFileError> {
    let f = std::fs::File::open(path)?;
    FrameReader::new(std::io::BufReader::new(f), expected, frame_limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = FrameWriter::new(Vec::new(), Content::Weights, "a = 1").unwrap();
        w.push(b"first").unwrap();
        w.push(&[7u8; 300]).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn frames_parse_in_any_chunking_and_bad_files_are_refused() {
        let bytes = sample();
        for chunk in [1, 3, 16, 1000] {
            let mut p = FrameParser::new(Content::Weights, 1000);
            let mut events = Vec::new();
            for c in bytes.chunks(chunk) {
                events.extend(p.feed(c).unwrap());
            }
            p.finish().unwrap();
            assert_eq!(
                events,
                vec![
                    Event::Meta("a = 1".into()),
                    Event::Frame(b"first".to_vec()),
                    Event::Frame(vec![7u8; 300])
                ]
            );
        }
        let mut r = FrameReader::new(&bytes[..], Content::Weights, 1000).unwrap();
        assert_eq!(r.meta(), "a = 1");
        assert_eq!(r.next_frame().unwrap().unwrap(), b"first");
        assert_eq!(r.next_frame().unwrap().unwrap().len(), 300);
        assert!(r.next_frame().unwrap().is_none());
        // Truncated, too-large frame, wrong content, wrong magic.
        let mut r = FrameReader::new(&bytes[..bytes.len() - 1], Content::Weights, 1000).unwrap();
        r.next_frame().unwrap();
        assert!(matches!(r.next_frame(), Err(FrameFileError::Truncated)));
        let mut p = FrameParser::new(Content::Weights, 100);
        assert!(matches!(
            p.feed(&bytes),
            Err(FrameFileError::FrameTooLarge { len: 300, .. })
        ));
        assert!(matches!(
            FrameParser::new(Content::SecretKey, 1000).feed(&bytes),
            Err(FrameFileError::Content { got: 6, .. })
        ));
        assert!(matches!(
            FrameParser::new(Content::Weights, 1000).feed(b"GET /"),
            Err(FrameFileError::BadMagic)
        ));
    }
}
