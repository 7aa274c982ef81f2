//! One stored event, and how it is framed on disk.
//!
//! A frame is `len: u32 LE | crc32(payload): u32 LE | payload`. The payload is
//!
//! ```text
//! version: u8 (1) | time: i64 LE (µs since the epoch)
//! index, sourcetype, source, host: u16 LE length + UTF-8 each
//! raw: u32 LE length + UTF-8
//! ```
//!
//! A frame is valid only whole and with a matching checksum, so a torn or corrupt write is
//! recognised on replay.

use std::fmt;

/// The bytes before a payload: its length and its checksum.
pub(crate) const HEADER_LEN: usize = 8;
/// The largest payload accepted, a guard against reading a corrupt length as real.
pub(crate) const MAX_PAYLOAD: usize = 64 * 1024 * 1024;
const VERSION: u8 = 1;

/// One event as stored: when, where, and its raw text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The event's time, in microseconds since the Unix epoch.
    pub time_micros: i64,
    /// The index it belongs to.
    pub index: String,
    /// Its sourcetype.
    pub sourcetype: String,
    /// Its source.
    pub source: String,
    /// Its host.
    pub host: String,
    /// The raw text.
    pub raw: String,
}

/// A stored event read in place, borrowing the bytes it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// The event's time, in microseconds since the Unix epoch.
    pub time_micros: i64,
    /// The index it belongs to.
    pub index: &'a str,
    /// Its sourcetype.
    pub sourcetype: &'a str,
    /// Its source.
    pub source: &'a str,
    /// Its host.
    pub host: &'a str,
    /// The raw text.
    pub raw: &'a str,
}

impl RecordRef<'_> {
    /// An owned copy.
    pub fn to_record(&self) -> Record {
        Record {
            time_micros: self.time_micros,
            index: self.index.to_owned(),
            sourcetype: self.sourcetype.to_owned(),
            source: self.source.to_owned(),
            host: self.host.to_owned(),
            raw: self.raw.to_owned(),
        }
    }
}

/// Why a record cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// A metadata string longer than 65,535 bytes.
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// Raw text larger than a frame may hold.
    RawTooLong {
        /// Its length in bytes.
        len: usize,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldTooLong { field, len } => {
                write!(f, "{field} is {len} bytes long; at most 65535 are stored")
            }
            Self::RawTooLong { len } => write!(
                f,
                "event is {len} bytes long; at most {MAX_PAYLOAD} bytes are stored per event"
            ),
        }
    }
}

impl std::error::Error for RecordError {}

impl Record {
    /// Appends the record's frame to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), RecordError> {
        let start = out.len();
        out.extend_from_slice(&[0; HEADER_LEN]);
        out.push(VERSION);
        out.extend_from_slice(&self.time_micros.to_le_bytes());
        for (field, value) in [
            ("index", &self.index),
            ("sourcetype", &self.sourcetype),
            ("source", &self.source),
            ("host", &self.host),
        ] {
            let Ok(len) = u16::try_from(value.len()) else {
                out.truncate(start);
                return Err(RecordError::FieldTooLong {
                    field,
                    len: value.len(),
                });
            };
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(value.as_bytes());
        }
        let raw_len = u32::try_from(self.raw.len())
            .ok()
            .filter(|_| out.len() - start + 4 + self.raw.len() <= MAX_PAYLOAD + HEADER_LEN);
        let Some(raw_len) = raw_len else {
            out.truncate(start);
            return Err(RecordError::RawTooLong {
                len: self.raw.len(),
            });
        };
        out.extend_from_slice(&raw_len.to_le_bytes());
        out.extend_from_slice(self.raw.as_bytes());

        let payload = &out[start + HEADER_LEN..];
        let len = u32::try_from(payload.len()).expect("bounded by MAX_PAYLOAD");
        let crc = crc32fast::hash(payload);
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        Ok(())
    }

    /// A view of the record.
    pub fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            time_micros: self.time_micros,
            index: &self.index,
            sourcetype: &self.sourcetype,
            source: &self.source,
            host: &self.host,
            raw: &self.raw,
        }
    }
}

impl<'a> RecordRef<'a> {
    /// Reads a payload whose checksum has been checked.
    pub(crate) fn decode(payload: &'a [u8]) -> Option<Self> {
        let mut r = Cursor(payload);
        if r.take(1)? != [VERSION] {
            return None;
        }
        let time_micros = i64::from_le_bytes(r.take(8)?.try_into().ok()?);
        let mut text = |len_bytes: usize| -> Option<&'a str> {
            let len = match len_bytes {
                2 => usize::from(u16::from_le_bytes(r.take(2)?.try_into().ok()?)),
                _ => usize::try_from(u32::from_le_bytes(r.take(4)?.try_into().ok()?)).ok()?,
            };
            std::str::from_utf8(r.take(len)?).ok()
        };
        let record = Self {
            time_micros,
            index: text(2)?,
            sourcetype: text(2)?,
            source: text(2)?,
            host: text(2)?,
            raw: text(4)?,
        };
        r.0.is_empty().then_some(record)
    }
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
}

/// What the start of a byte buffer holds, read as a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// A whole, valid record taking `len` bytes.
    Record { record: RecordRef<'a>, len: usize },
    /// Too few bytes for the frame its header announces: a torn write, or more to read.
    Incomplete,
    /// Bytes that are no valid frame.
    Corrupt,
}

/// Reads the frame at the start of `bytes`.
pub(crate) fn read_frame(bytes: &[u8]) -> Frame<'_> {
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Frame::Incomplete;
    };
    let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
    let Ok(len) = usize::try_from(len) else {
        return Frame::Corrupt;
    };
    if len > MAX_PAYLOAD || len == 0 {
        return Frame::Corrupt;
    }
    let Some(payload) = bytes.get(HEADER_LEN..HEADER_LEN + len) else {
        return Frame::Incomplete;
    };
    if crc32fast::hash(payload) != crc {
        return Frame::Corrupt;
    }
    match RecordRef::decode(payload) {
        Some(record) => Frame::Record {
            record,
            len: HEADER_LEN + len,
        },
        None => Frame::Corrupt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            time_micros: -5,
            index: "main".into(),
            sourcetype: "spoor".into(),
            source: "http-simple".into(),
            host: "127.0.0.1".into(),
            raw: "a=\"1\" é".into(),
        }
    }

    #[test]
    fn frames_round_trip() {
        let mut out = vec![9];
        record().encode(&mut out).unwrap();
        let frame = read_frame(&out[1..]);
        assert_eq!(
            frame,
            Frame::Record {
                record: record().as_ref(),
                len: out.len() - 1
            }
        );
    }

    #[test]
    fn torn_and_corrupt_frames_are_told_apart() {
        let mut out = Vec::new();
        record().encode(&mut out).unwrap();
        for cut in 0..out.len() {
            assert_eq!(read_frame(&out[..cut]), Frame::Incomplete, "cut at {cut}");
        }
        for flip in 0..out.len() {
            let mut bad = out.clone();
            bad[flip] ^= 0x40;
            assert!(
                !matches!(read_frame(&bad), Frame::Record { .. }),
                "flipped byte {flip}"
            );
        }
    }

    #[test]
    fn oversized_fields_are_refused_and_nothing_is_written() {
        let mut r = record();
        r.host = "h".repeat(70_000);
        let mut out = vec![1, 2];
        assert_eq!(
            r.encode(&mut out),
            Err(RecordError::FieldTooLong {
                field: "host",
                len: 70_000
            })
        );
        assert_eq!(out, [1, 2]);
    }
}
