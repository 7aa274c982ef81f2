//! One stored event, and how it is framed on disk.
//!
//! A frame is a 24-byte header and a payload:
//!
//! ```text
//! sync: [u8; 8]        the segment's sync marker (random, in the segment's file name; see `log`)
//! len: u32 LE          the payload's length
//! seq: u32 LE          the record's number in its segment, from 0
//! crc: u32 LE          crc32 of the payload
//! head: u32 LE         crc32 of the 20 bytes before it
//! payload:
//!   version: u8 (1) | time: i64 LE (µs since the epoch)
//!   index, sourcetype, source, host: u16 LE length + UTF-8 each
//!   raw: u32 LE length + UTF-8
//! ```
//!
//! A frame is valid only whole, with its segment's marker and both checksums matching, so a
//! torn or corrupt write is recognised on replay; the header's own checksum makes its length
//! trustworthy before the payload is read, which tells a write cut short (a valid header
//! announcing more bytes than the file holds) from a damaged length.
//!
//! Segments written before the marker existed hold frames of the first format,
//! `len: u32 LE | crc32(payload): u32 LE | payload`, with the same payload; they are still read.

use std::fmt;

use crate::codec::u32_at;

/// The bytes before a payload: the sync marker, length, sequence number and two checksums.
pub(crate) const HEADER_LEN: usize = 24;
/// The bytes of a sync marker.
pub(crate) const MARKER_LEN: usize = 8;
/// The bytes before a payload in a frame of the first format: its length and its checksum.
pub(crate) const V1_HEADER_LEN: usize = 8;
/// The largest payload accepted, a guard against reading a corrupt length as real.
pub(crate) const MAX_PAYLOAD: usize = 64 * 1024 * 1024;
const VERSION: u8 = 1;

/// A segment's sync marker: random bytes that begin each of its frames.
pub(crate) type Marker = [u8; MARKER_LEN];

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
    /// The length of its frame: [`HEADER_LEN`] and its payload.
    pub(crate) fn frame_len(&self) -> usize {
        HEADER_LEN + self.payload_len()
    }

    /// The length of its payload: the fixed fields, its metadata and its raw text, each with
    /// its length (at most [`MAX_PAYLOAD`] to be stored).
    pub(crate) fn payload_len(&self) -> usize {
        let meta = [self.index, self.sourcetype, self.source, self.host];
        1 + 8 + meta.iter().map(|m| 2 + m.len()).sum::<usize>() + 4 + self.raw.len()
    }

    /// Appends the record's frame to `out`, its sync marker, sequence number and header
    /// checksum still to be set by [`seal`] once its place in a segment is known.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), RecordError> {
        let start = out.len();
        out.extend_from_slice(&[0; HEADER_LEN]);
        out.push(VERSION);
        out.extend_from_slice(&self.time_micros.to_le_bytes());
        for (field, value) in [
            ("index", self.index),
            ("sourcetype", self.sourcetype),
            ("source", self.source),
            ("host", self.host),
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
            .filter(|_| out.len() - start - HEADER_LEN + 4 + self.raw.len() <= MAX_PAYLOAD);
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
        out[start + 8..start + 12].copy_from_slice(&len.to_le_bytes());
        out[start + 16..start + 20].copy_from_slice(&crc.to_le_bytes());
        Ok(())
    }

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

#[cfg(test)]
impl Record {
    /// Appends the record's frame to `out` (see [`RecordRef::encode`]).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), RecordError> {
        self.as_ref().encode(out)
    }

    /// The record's frame in the first format, as segments written before the marker hold.
    pub(crate) fn encode_v1(&self) -> Vec<u8> {
        let mut framed = Vec::new();
        self.encode(&mut framed).expect("a record that fits");
        let payload = &framed[HEADER_LEN..];
        let len = u32::try_from(payload.len()).expect("bounded by MAX_PAYLOAD");
        let mut out = len.to_le_bytes().to_vec();
        out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        out.extend_from_slice(payload);
        out
    }
}

/// Sets the sync marker, sequence number and header checksum of a frame made by
/// [`Record::encode`].
pub(crate) fn seal(frame: &mut [u8], sync: &Marker, seq: u32) {
    frame[..MARKER_LEN].copy_from_slice(sync);
    frame[12..16].copy_from_slice(&seq.to_le_bytes());
    let head = crc32fast::hash(&frame[..20]);
    frame[20..HEADER_LEN].copy_from_slice(&head.to_le_bytes());
}

/// What the start of a byte buffer holds, read as a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// A whole, valid record taking `len` bytes, numbered `seq` in its segment (`0` in the
    /// first format, which has no numbers).
    Record {
        record: RecordRef<'a>,
        seq: u32,
        len: usize,
    },
    /// Too few bytes for the frame its header announces: a torn write, or more to read.
    Incomplete,
    /// Bytes that are no valid frame.
    Corrupt,
}

/// Reads the frame at the start of `bytes`, in a segment whose marker is `sync`.
pub(crate) fn read_frame<'a>(bytes: &'a [u8], sync: &Marker) -> Frame<'a> {
    let known = bytes.len().min(MARKER_LEN);
    if bytes[..known] != sync[..known] {
        return Frame::Corrupt;
    }
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Frame::Incomplete;
    };
    if crc32fast::hash(&header[..20]) != u32_at(header, 20) {
        return Frame::Corrupt;
    }
    let seq = u32_at(header, 12);
    payload(
        bytes,
        HEADER_LEN,
        u32_at(header, 8),
        u32_at(header, 16),
        seq,
    )
}

/// Reads the frame of the first format at the start of `bytes`.
pub(crate) fn read_v1_frame(bytes: &[u8]) -> Frame<'_> {
    let Some(header) = bytes.get(..V1_HEADER_LEN) else {
        return Frame::Incomplete;
    };
    payload(
        bytes,
        V1_HEADER_LEN,
        u32_at(header, 0),
        u32_at(header, 4),
        0,
    )
}

/// The payload of `len` bytes after a header of `header` bytes, checked against `crc`.
fn payload(bytes: &[u8], header: usize, len: u32, crc: u32, seq: u32) -> Frame<'_> {
    let Ok(len) = usize::try_from(len) else {
        return Frame::Corrupt;
    };
    if len > MAX_PAYLOAD || len == 0 {
        return Frame::Corrupt;
    }
    let Some(payload) = bytes.get(header..header + len) else {
        return Frame::Incomplete;
    };
    if crc32fast::hash(payload) != crc {
        return Frame::Corrupt;
    }
    match RecordRef::decode(payload) {
        Some(record) => Frame::Record {
            record,
            seq,
            len: header + len,
        },
        None => Frame::Corrupt,
    }
}

/// Whether a frame of the first format may start at `bytes[0]`, in a file with `left` bytes
/// from there, judged cheaply from the bytes at hand (a search for the next record after
/// damage calls this at every offset before checking a checksum). `bytes` holds at least a
/// header.
pub(crate) fn v1_plausible(bytes: &[u8], left: u64) -> bool {
    let len = u32_at(bytes, 0) as usize;
    if len == 0 || len > MAX_PAYLOAD || (V1_HEADER_LEN + len) as u64 > left {
        return false;
    }
    let payload = &bytes[V1_HEADER_LEN..];
    // Each length field must fit the payload and the last must end it; past the bytes at
    // hand, the frame stays a candidate.
    let mut at = 1 + 8;
    match payload.first() {
        None => return true,
        Some(&v) if v != VERSION => return false,
        Some(_) => {}
    }
    for _ in 0..4 {
        let Some(field) = payload.get(at..at + 2) else {
            return true;
        };
        at += 2 + usize::from(u16::from_le_bytes([field[0], field[1]]));
        if at + 4 > len {
            return false;
        }
    }
    match payload.get(at..at + 4) {
        Some(raw) => at + 4 + u32_at(raw, 0) as usize == len,
        None => true,
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

    const MARKER: Marker = *b"\x01\x02\x03\x04\x05\x06\x07\x08";

    fn frame(seq: u32) -> Vec<u8> {
        let mut out = Vec::new();
        record().encode(&mut out).unwrap();
        seal(&mut out, &MARKER, seq);
        out
    }

    #[test]
    fn frames_round_trip() {
        let mut out = vec![9];
        out.extend(frame(7));
        assert_eq!(
            read_frame(&out[1..], &MARKER),
            Frame::Record {
                record: record().as_ref(),
                seq: 7,
                len: out.len() - 1
            }
        );
        let v1 = record().encode_v1();
        assert_eq!(
            read_v1_frame(&v1),
            Frame::Record {
                record: record().as_ref(),
                seq: 0,
                len: v1.len()
            }
        );
    }

    #[test]
    fn a_frame_is_read_only_with_its_segments_marker() {
        let mut other = MARKER;
        other[7] ^= 1;
        assert_eq!(read_frame(&frame(0), &other), Frame::Corrupt);
        // Even cut short: the marker is checked first.
        assert_eq!(read_frame(&frame(0)[..3], &[0; 8]), Frame::Corrupt);
    }

    #[test]
    fn torn_and_corrupt_frames_are_told_apart() {
        let out = frame(3);
        for cut in 0..out.len() {
            assert_eq!(
                read_frame(&out[..cut], &MARKER),
                Frame::Incomplete,
                "cut at {cut}"
            );
        }
        for flip in 0..out.len() {
            let mut bad = out.clone();
            bad[flip] ^= 0x40;
            assert!(
                !matches!(read_frame(&bad, &MARKER), Frame::Record { .. }),
                "flipped byte {flip}"
            );
            if flip < HEADER_LEN {
                // A damaged header never passes for a write cut short.
                assert_eq!(
                    read_frame(&bad[..bad.len() - 1], &MARKER),
                    Frame::Corrupt,
                    "flipped byte {flip}"
                );
            }
        }
        let v1 = record().encode_v1();
        for cut in 0..v1.len() {
            assert_eq!(read_v1_frame(&v1[..cut]), Frame::Incomplete, "cut at {cut}");
        }
    }

    #[test]
    fn the_first_formats_frames_are_found_where_they_start() {
        let mut bytes = record().encode_v1();
        bytes.extend(record().encode_v1());
        let left = bytes.len() as u64;
        let starts: Vec<usize> = (0..bytes.len() - V1_HEADER_LEN)
            .filter(|&at| v1_plausible(&bytes[at..], left - at as u64))
            .collect();
        assert_eq!(starts, [0, bytes.len() / 2]);
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
