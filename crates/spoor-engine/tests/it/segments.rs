//! The log's files as the recovery tests see them: segments, copies of damaged bytes, and frames
//! built by hand (the on-disk formats, written out again here so a change to them shows).

use std::fs;
use std::path::{Path, PathBuf};

use spoor_engine::Record;

/// The segment files of an index, in order.
pub(crate) fn segments(data: &Path, index: &str) -> Vec<PathBuf> {
    files(data, index, |name| name.ends_with(".seg"))
}

/// The copies of damaged bytes kept beside an index's segments, in order.
pub(crate) fn quarantined(data: &Path, index: &str) -> Vec<PathBuf> {
    files(data, index, |name| name.contains(".seg.damaged-"))
}

fn files(data: &Path, index: &str, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let folder = data.join("indexes").join(index);
    let mut files: Vec<PathBuf> = fs::read_dir(folder)
        .expect("index folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    files.sort();
    files
}

/// The sync marker in a segment's name (`<n>-<marker in hex>.seg`).
pub(crate) fn marker(segment: &Path) -> [u8; 8] {
    let name = segment.file_name().and_then(|n| n.to_str()).expect("name");
    let hex = &name[21..37];
    u64::from_str_radix(hex, 16).expect("hex").to_be_bytes()
}

/// A record's payload.
pub(crate) fn payload(record: &Record) -> Vec<u8> {
    let mut out = vec![1];
    out.extend_from_slice(&record.time_micros.to_le_bytes());
    for field in [
        &record.index,
        &record.sourcetype,
        &record.source,
        &record.host,
    ] {
        out.extend_from_slice(&u16::try_from(field.len()).expect("short").to_le_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out.extend_from_slice(
        &u32::try_from(record.raw.len())
            .expect("short")
            .to_le_bytes(),
    );
    out.extend_from_slice(record.raw.as_bytes());
    out
}

fn u32_le(n: usize) -> [u8; 4] {
    u32::try_from(n).expect("short").to_le_bytes()
}

/// A frame of the first format: `len | crc | payload`.
pub(crate) fn v1_frame(record: &Record) -> Vec<u8> {
    let payload = payload(record);
    let mut out = u32_le(payload.len()).to_vec();
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// A frame of the current format: `marker | len | seq | crc | head crc | payload`.
pub(crate) fn frame(marker: [u8; 8], seq: u32, record: &Record) -> Vec<u8> {
    let payload = payload(record);
    let mut out = marker.to_vec();
    out.extend_from_slice(&u32_le(payload.len()));
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    let head = crc32fast::hash(&out);
    out.extend_from_slice(&head.to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// A record of index `main` with this raw text (at a time whose bytes are all ASCII, so a
/// frame of it can be valid UTF-8).
pub(crate) fn record(raw: &str) -> Record {
    Record {
        time_micros: 1_700_000_000_000_000,
        index: "main".into(),
        sourcetype: "test".into(),
        source: "test".into(),
        host: "localhost".into(),
        raw: raw.into(),
    }
}
