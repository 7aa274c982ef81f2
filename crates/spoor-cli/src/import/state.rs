//! What an import has had acknowledged, kept in a small file so that running it again
//! continues where it stopped and never sends an acknowledged line twice.
//!
//! One file per input, target and index, in the state folder: the input's path, how many of
//! its lines and bytes are done (acknowledged by the server, or skipped as bad or blank), a
//! CRC-32 of those bytes (so a file changed since is noticed, and a file that only grew is
//! continued), and the counts so far. It is replaced whole (written beside, then renamed)
//! after every acknowledged batch, and made durable at the end.

use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use serde_json::json;

/// Where an input stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Lines done (the next line to read is this plus one).
    pub lines: u64,
    /// Bytes done.
    pub bytes: u64,
    /// CRC-32 of those bytes.
    pub crc: u32,
    /// Events acknowledged.
    pub events: u64,
    /// Bad lines skipped.
    pub bad: u64,
    /// Blank lines skipped.
    pub blank: u64,
    /// Runs of lines past `lines` that are done too (batches acknowledged while an earlier
    /// one was not, when an import stopped), skipped when it goes on.
    pub ranges: Vec<Range>,
}

/// A run of lines done past the unbroken prefix, and what it held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    /// The first line's number (1-based).
    pub first: u64,
    /// The last line's number.
    pub last: u64,
    /// Events acknowledged.
    pub events: u64,
    /// Bad lines skipped.
    pub bad: u64,
    /// Blank lines skipped.
    pub blank: u64,
}

impl Range {
    /// Whether line `n` is in the run.
    pub fn holds(&self, n: u64) -> bool {
        (self.first..=self.last).contains(&n)
    }
}

/// The state file of one input.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
    input: String,
    target: String,
}

impl StateFile {
    /// The state file of `input` (canonical path) imported into `target` (a URL or data
    /// folder, and the index) under `folder`.
    pub fn new(folder: &Path, input: &Path, target: &str) -> Self {
        let input = input.display().to_string();
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(target.as_bytes());
        hasher.update(b"\0");
        let a = hasher.clone().finalize();
        hasher.update(input.as_bytes());
        let b = hasher.finalize();
        let name = Path::new(&input)
            .file_name()
            .map(|n| {
                n.to_string_lossy()
                    .replace(|c: char| !c.is_ascii_alphanumeric() && c != '.', "_")
            })
            .unwrap_or_default();
        Self {
            path: folder.join(format!("{name}-{a:08x}{b:08x}.json")),
            input,
            target: target.to_owned(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The progress kept, or none (no file, or one of another input).
    ///
    /// # Errors
    ///
    /// A file that cannot be read or is not a state file.
    pub fn load(&self) -> io::Result<Option<Progress>> {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let bad = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is not an import state file; delete it (or pass --restart)",
                    self.path.display()
                ),
            )
        };
        let value: serde_json::Value = serde_json::from_slice(&text).map_err(|_| bad())?;
        if value["input"] != self.input.as_str() || value["target"] != self.target.as_str() {
            return Ok(None);
        }
        let number = |key: &str| value[key].as_u64().ok_or_else(bad);
        let mut ranges = Vec::new();
        for range in value["ranges"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let n = |i: usize| range[i].as_u64().ok_or_else(bad);
            ranges.push(Range {
                first: n(0)?,
                last: n(1)?,
                events: n(2)?,
                bad: n(3)?,
                blank: n(4)?,
            });
        }
        Ok(Some(Progress {
            lines: number("lines")?,
            bytes: number("bytes")?,
            crc: u32::try_from(number("crc")?).map_err(|_| bad())?,
            events: number("events")?,
            bad: number("bad")?,
            blank: number("blank")?,
            ranges,
        }))
    }

    /// Keeps `progress`: written beside and renamed over, durable when `durable`.
    ///
    /// # Errors
    ///
    /// The file system's.
    pub fn save(&self, progress: &Progress, durable: bool) -> io::Result<()> {
        let text = json!({
            "input": self.input,
            "target": self.target,
            "lines": progress.lines,
            "bytes": progress.bytes,
            "crc": progress.crc,
            "events": progress.events,
            "bad": progress.bad,
            "blank": progress.blank,
            "ranges": progress
                .ranges
                .iter()
                .map(|r| [r.first, r.last, r.events, r.bad, r.blank])
                .collect::<Vec<_>>(),
        })
        .to_string();
        if durable {
            return spoor_engine::files::write_atomic(&self.path, text.as_bytes());
        }
        let beside = self.path.with_extension("json.new");
        std::fs::write(&beside, text)?;
        std::fs::rename(&beside, &self.path)
    }

    /// Forgets the progress.
    ///
    /// # Errors
    ///
    /// The file system's (a missing file is no error).
    pub fn remove(&self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// The CRC-32 state after the first `bytes` bytes of `file`, or `None` when it has fewer.
///
/// # Errors
///
/// The file's read errors.
pub fn prefix_crc(file: &mut std::fs::File, bytes: u64) -> io::Result<Option<crc32fast::Hasher>> {
    let mut hasher = crc32fast::Hasher::new();
    let mut left = bytes;
    let mut buf = vec![0; 1 << 20];
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Ok(None);
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(Some(hasher))
}
