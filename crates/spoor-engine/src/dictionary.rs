//! Dictionaries: distinct strings numbered from 1 ([`Dict`]), and an index's dictionary file,
//! which numbers every value of each extracted field its sealed blocks hold, so that a block
//! stores codes and reopening the index copies them instead of looking each value up again.
//!
//! ```text
//! <index dir>/<generation, 20 digits>-<id, 16 hex digits>.dict
//!
//! frame:   magic "SPDI" | len: u32 LE | crc: u32 LE (crc32 of the payload)
//!          | head: u32 LE (crc32 of the 12 bytes before) | payload, a zstd frame of:
//!          fields: varint, then per field:
//!          name: varint length + bytes | first code: varint | values: varint,
//!          then each value: varint length + bytes
//! ```
//!
//! The file is only appended to: values are numbered per field in the order they are first
//! sealed, and the frame adding them is synced before any block using them is written. A block
//! names the dictionary it was coded against (its id) and how many entries it needs, so a
//! block is read through its codes only when that dictionary, read whole up to that many
//! entries, is there; otherwise its fields are extracted again from its text, which every
//! block keeps. Nothing is lost with a dictionary.
//!
//! A file takes values until it holds [`ROLL_BYTES`]; sealing then goes on in a new file, of
//! the next generation, so the values sealing keeps in memory stay bounded. A file no block is
//! coded against any more (retention deleted them) is removed.
//!
//! On open, every dictionary file of the folder is read. A frame cut short at the end of a
//! file (a crash while appending) is cut off; other damage is copied beside the file and the
//! frames before it are kept. Either way, that file is never appended to again: sealing goes
//! on in a new file, of the next generation, so an entry once written never changes meaning.
//!
//! A value stays in its file until every block coded against that file is deleted.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codec::{Reader, put, put_str, u32_at};
use crate::hash::FxHashMap;
use crate::log::{Damage, DamageKind};
use crate::sealed::Block;

/// Distinct strings of one column; code `k` (from 1) stands for `values[k - 1]`, `0` for none.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dict {
    values: Vec<Arc<str>>,
    codes: FxHashMap<Arc<str>, u32>,
}

impl Dict {
    pub(crate) fn code_of(&mut self, value: &str) -> u32 {
        if let Some(&code) = self.codes.get(value) {
            return code;
        }
        let value: Arc<str> = Arc::from(value);
        self.values.push(Arc::clone(&value));
        let code = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values");
        self.codes.insert(value, code);
        code
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// The strings (with their reference counts) and the lookup map's slots.
    pub(crate) fn heap_bytes(&self) -> usize {
        let strings: usize = self.values.iter().map(|v| v.len() + 16).sum();
        strings + self.values.capacity() * 16 + self.codes.capacity() * 24
    }

    pub(crate) fn find(&self, value: &str) -> Option<u32> {
        self.codes.get(value).copied()
    }

    /// The string of a non-zero code.
    pub(crate) fn get(&self, code: u32) -> &str {
        &self.values[code as usize - 1]
    }

    /// Whether its first values are `prefix`'s, the very same strings: both began as copies
    /// of one dictionary, and `prefix` took no value of its own since.
    pub(crate) fn starts_with(&self, prefix: &Self) -> bool {
        // A string is shared only by copies of one dictionary, at the same place in each, so
        // the last one shared vouches for all before it.
        match prefix.values.last() {
            None => true,
            Some(last) => self
                .values
                .get(prefix.values.len() - 1)
                .is_some_and(|value| Arc::ptr_eq(value, last)),
        }
    }

    /// Every (code, value), in code order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        self.values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u32 + 1, &**v))
    }
}

const MAGIC: [u8; 4] = *b"SPDI";
const FRAME_HEADER: usize = 16;
/// The largest frame accepted, a guard against reading a corrupt length as real.
const MAX_FRAME: usize = 1 << 30;
const SUFFIX: &str = ".dict";
/// The bytes past which a dictionary file takes no more values (see the module's docs).
pub(crate) const ROLL_BYTES: u64 = 16 << 20;

/// One dictionary file, read: each field's values, in code order.
#[derive(Debug)]
pub(crate) struct Dictionary {
    generation: u64,
    id: u64,
    fields: Vec<(String, Dict)>,
    by_name: FxHashMap<String, usize>,
    /// How many values of each field are in the file; the others are still to be written.
    written: Vec<usize>,
    /// The file's length, as far as it is known good.
    len: u64,
    /// Whether more may be appended: not when the file was found cut or damaged.
    appendable: bool,
}

/// How reading a file's frames ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// At the end of the file.
    Whole,
    /// At a frame cut short by the end of the file.
    Cut,
    /// At damage (bytes that are no frame, or a frame that does not add up).
    Damaged,
}

impl Dictionary {
    /// An empty dictionary, of `generation`, with a fresh id; its file is made when first
    /// written.
    pub(crate) fn new(generation: u64) -> io::Result<Self> {
        let mut id = [0; 8];
        getrandom::getrandom(&mut id).map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Self::empty(generation, u64::from_le_bytes(id), true))
    }

    fn empty(generation: u64, id: u64, appendable: bool) -> Self {
        Self {
            generation,
            id,
            fields: Vec::new(),
            by_name: FxHashMap::default(),
            written: Vec::new(),
            len: 0,
            appendable,
        }
    }

    /// Its id, which blocks coded against it name.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// How many values it holds, in all fields (those still to be written included).
    pub(crate) fn entries(&self) -> u64 {
        self.fields.iter().map(|(_, dict)| dict.len() as u64).sum()
    }

    /// The values of a field, if it has any.
    pub(crate) fn field(&self, name: &str) -> Option<&Dict> {
        self.by_name.get(name).map(|&i| &self.fields[i].1)
    }

    /// Whether it holds every code of a block's fields.
    pub(crate) fn holds(&self, block: &Block) -> bool {
        block.fields.iter().all(|(name, column)| {
            column.max_code() == 0
                || self
                    .field(name)
                    .is_some_and(|dict| column.max_code() as usize <= dict.len())
        })
    }

    /// Where a field is, added if new.
    pub(crate) fn field_index(&mut self, name: &str) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        self.fields.push((name.to_owned(), Dict::default()));
        self.written.push(0);
        self.by_name.insert(name.to_owned(), self.fields.len() - 1);
        self.fields.len() - 1
    }

    /// The code of a value of the field at `field` (see [`field_index`]), added if new: it is
    /// written by the next [`write`](Dictionary::write).
    pub(crate) fn code_of(&mut self, field: usize, value: &str) -> u32 {
        self.fields[field].1.code_of(value)
    }

    /// Starts a new file, of the next generation, once this one holds [`ROLL_BYTES`].
    pub(crate) fn roll_if_full(&mut self) -> io::Result<()> {
        if self.len >= ROLL_BYTES {
            *self = Self::new(self.generation + 1)?;
        }
        Ok(())
    }

    fn file_name(&self) -> String {
        format!("{:020}-{:016x}{SUFFIX}", self.generation, self.id)
    }

    /// Appends the values added since the last write to the file in `dir` (made if needed)
    /// and syncs it. Only then may a block using them be written. After a failed write the
    /// file is cut back to what it held, or, if that fails too, no more is ever appended.
    pub(crate) fn write(&mut self, dir: &Path) -> io::Result<()> {
        let pending: Vec<(usize, usize)> = self
            .fields
            .iter()
            .zip(&self.written)
            .enumerate()
            .filter(|(_, ((_, dict), written))| dict.len() > **written)
            .map(|(i, (_, &written))| (i, written))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        if !self.appendable {
            return Err(io::Error::other(format!(
                "the dictionary {} was found damaged and takes no more values",
                dir.join(self.file_name()).display()
            )));
        }
        let mut payload = Vec::new();
        put(&mut payload, pending.len() as u64);
        for &(i, written) in &pending {
            let (name, dict) = &self.fields[i];
            put_str(&mut payload, name);
            put(&mut payload, written as u64 + 1);
            put(&mut payload, (dict.len() - written) as u64);
            for code in written + 1..=dict.len() {
                put_str(&mut payload, dict.get(code as u32));
            }
        }
        let frame = frame(&zstd::bulk::compress(&payload, 3)?)?;
        let path = dir.join(self.file_name());
        let made = self.len == 0 && fs::symlink_metadata(&path).is_err();
        let mut file =
            crate::files::open_private(OpenOptions::new().create(true).append(true), &path)?;
        let written = file.write_all(&frame).and_then(|()| file.sync_data());
        if let Err(err) = written {
            if file
                .set_len(self.len)
                .and_then(|()| file.sync_data())
                .is_err()
            {
                self.appendable = false;
            }
            return Err(err);
        }
        if made {
            crate::log::sync_dir(dir)?;
        }
        self.len += frame.len() as u64;
        for (i, _) in pending {
            self.written[i] = self.fields[i].1.len();
        }
        Ok(())
    }

    /// Reads the frames of a file's bytes: the dictionary they hold, and how reading ended.
    fn read(generation: u64, id: u64, bytes: &[u8]) -> (Self, Ending) {
        let mut dictionary = Self::empty(generation, id, false);
        let ending = loop {
            let rest = &bytes[dictionary.len as usize..];
            if rest.is_empty() {
                break Ending::Whole;
            }
            if rest.len() < FRAME_HEADER {
                break Ending::Cut;
            }
            let head_ok = rest[..4] == MAGIC
                && crc32fast::hash(&rest[..FRAME_HEADER - 4]) == u32_at(rest, FRAME_HEADER - 4);
            let len = u32_at(rest, 4) as usize;
            if !head_ok || len > MAX_FRAME {
                break Ending::Damaged;
            }
            let Some(payload) = rest.get(FRAME_HEADER..FRAME_HEADER + len) else {
                break Ending::Cut;
            };
            let added = (crc32fast::hash(payload) == u32_at(rest, 8))
                .then(|| zstd::stream::decode_all(payload).ok())
                .flatten()
                .is_some_and(|plain| dictionary.add_frame(&plain).is_ok());
            if !added {
                break Ending::Damaged;
            }
            dictionary.len += (FRAME_HEADER + len) as u64;
        };
        dictionary.written = dictionary.fields.iter().map(|(_, d)| d.len()).collect();
        (dictionary, ending)
    }

    /// Adds the values of a frame's payload; nothing if it does not add up.
    fn add_frame(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut r = Reader::new(payload, "dictionary");
        let fields = r.count(payload.len())?;
        let mut added: Vec<(&str, Vec<&str>)> = Vec::with_capacity(fields);
        for _ in 0..fields {
            let name = r.str(payload.len())?;
            let first = r.var()?;
            let count = r.count(payload.len())?;
            let values = (0..count)
                .map(|_| r.str(payload.len()))
                .collect::<io::Result<Vec<_>>>()?;
            let had = self.field(name).map_or(0, Dict::len) as u64;
            if first != had + 1 || added.iter().any(|(n, _)| *n == name) {
                return Err(r.damaged("a field's values do not follow the ones before"));
            }
            added.push((name, values));
        }
        if !r.rest.is_empty() {
            return Err(r.damaged("bytes after the last value"));
        }
        for (name, values) in added {
            let i = self.field_index(name);
            for value in values {
                self.code_of(i, value);
            }
        }
        Ok(())
    }
}

/// A payload framed.
fn frame(payload: &[u8]) -> io::Result<Vec<u8>> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| len as usize <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "dictionary frame too large"))?;
    let mut out = Vec::with_capacity(FRAME_HEADER + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let head = crc32fast::hash(&out);
    out.extend_from_slice(&head.to_le_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// The generation and id a dictionary file's name holds.
fn parse_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(SUFFIX)?;
    let (generation, id) = stem.split_once('-')?;
    if generation.len() != 20
        || !generation.bytes().all(|b| b.is_ascii_digit())
        || id.len() != 16
        || !id.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    Some((generation.parse().ok()?, u64::from_str_radix(id, 16).ok()?))
}

/// Whether `path` names a dictionary file.
pub(crate) fn is_dictionary_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| parse_name(name).is_some())
}

/// Removes the dictionary files of `dir` other than `current` whose ids are not in `used`.
pub(crate) fn remove_unused(dir: &Path, current: u64, used: &HashSet<u64>) -> io::Result<()> {
    let mut removed = false;
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let Some((_, id)) = entry.file_name().to_str().and_then(parse_name) else {
            continue;
        };
        if id != current && !used.contains(&id) {
            fs::remove_file(entry.path())?;
            removed = true;
        }
    }
    if removed {
        crate::log::sync_dir(dir)?;
    }
    Ok(())
}

/// Every dictionary of an index folder, as read on open, and the one sealing writes to.
#[derive(Debug)]
pub(crate) struct Dictionaries {
    /// The files found, oldest first.
    found: Vec<Dictionary>,
    /// The one blocks are coded against from now on: the newest file if it was read whole,
    /// else a new one.
    current: Dictionary,
}

impl Dictionaries {
    /// Reads every dictionary file of `dir`; reports damage found (copied beside its file)
    /// and cuts off a frame cut short.
    pub(crate) fn open(dir: &Path) -> io::Result<(Self, Vec<Damage>)> {
        let mut names: Vec<(u64, u64, PathBuf)> = Vec::new();
        for entry in fs::read_dir(dir)? {
            let Ok(entry) = entry else { continue };
            if let Some((generation, id)) = entry.file_name().to_str().and_then(parse_name) {
                names.push((generation, id, entry.path()));
            }
        }
        names.sort_unstable();
        let mut found = Vec::with_capacity(names.len());
        let mut damage = Vec::new();
        let mut whole_newest = false;
        for (generation, id, path) in names {
            let bytes = fs::read(&path)?;
            let (dictionary, ending) = Dictionary::read(generation, id, &bytes);
            let good = dictionary.len;
            let left = bytes.len() as u64 - good;
            let (kind, quarantine) = match ending {
                Ending::Whole => (None, None),
                Ending::Cut => {
                    let file = OpenOptions::new().write(true).open(&path)?;
                    file.set_len(good)?;
                    file.sync_data()?;
                    (Some(DamageKind::TornTail), None)
                }
                Ending::Damaged => {
                    let file = File::open(&path)?;
                    let copy = crate::log::quarantine(&file, &path, good, left)?;
                    (Some(DamageKind::Skipped), Some(copy))
                }
            };
            if let Some(kind) = kind {
                damage.push(Damage {
                    path: path.clone(),
                    offset: good,
                    bytes: left,
                    to_end: true,
                    records_lost: Some(0),
                    kind,
                    quarantine,
                });
            }
            whole_newest = ending == Ending::Whole;
            found.push(dictionary);
        }
        let current = match found.pop() {
            Some(mut newest) if whole_newest => {
                newest.appendable = true;
                newest
            }
            newest => {
                let generation = newest.as_ref().map_or(1, |d| d.generation + 1);
                found.extend(newest);
                Dictionary::new(generation)?
            }
        };
        Ok((Self { found, current }, damage))
    }

    /// The dictionary of id `id`, if it holds at least `entries` values.
    pub(crate) fn get(&self, id: u64, entries: u64) -> Option<&Dictionary> {
        std::iter::once(&self.current)
            .chain(&self.found)
            .find(|d| d.id == id)
            .filter(|d| d.entries() >= entries)
    }

    /// The dictionary sealing goes on with; the others are needed only while opening.
    pub(crate) fn into_current(self) -> Dictionary {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder, removed when dropped.
    struct Temp(PathBuf);

    impl Temp {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("spoor-dict-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn values(dictionary: &Dictionary, field: &str) -> Vec<String> {
        dictionary
            .field(field)
            .map(|d| d.iter().map(|(_, v)| v.to_owned()).collect())
            .unwrap_or_default()
    }

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| is_dictionary_file(p))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn values_written_come_back_with_their_codes() {
        let dir = Temp::new("written");
        let (dictionaries, damage) = Dictionaries::open(dir.path()).unwrap();
        assert!(damage.is_empty());
        let mut d = dictionaries.into_current();
        let user = d.field_index("user");
        let page = d.field_index("page");
        assert_eq!(d.code_of(user, "ada"), 1);
        assert_eq!(d.code_of(page, "/"), 1);
        assert_eq!(d.code_of(user, "bob"), 2);
        assert_eq!(d.code_of(user, "ada"), 1);
        assert_eq!(d.entries(), 3);
        d.write(dir.path()).unwrap();
        d.write(dir.path()).unwrap();
        assert_eq!(d.code_of(user, "ünï \"q\""), 3);
        d.write(dir.path()).unwrap();
        let id = d.id();
        assert_eq!(files(dir.path()).len(), 1);

        let (dictionaries, damage) = Dictionaries::open(dir.path()).unwrap();
        assert!(damage.is_empty());
        let read = dictionaries.get(id, 4).expect("the same dictionary");
        assert_eq!(values(read, "user"), ["ada", "bob", "ünï \"q\""]);
        assert_eq!(values(read, "page"), ["/"]);
        assert!(
            dictionaries.get(id, 5).is_none(),
            "more entries than it holds"
        );
        assert!(dictionaries.get(id ^ 1, 0).is_none());
        // Sealing goes on in the same file.
        let mut d = dictionaries.into_current();
        assert_eq!(d.id(), id);
        let user = d.field_index("user");
        assert_eq!(d.code_of(user, "cy"), 4);
        d.write(dir.path()).unwrap();
        let (dictionaries, _) = Dictionaries::open(dir.path()).unwrap();
        assert_eq!(values(dictionaries.get(id, 5).unwrap(), "user")[3], "cy");
    }

    #[test]
    fn a_cut_frame_is_cut_off_and_sealing_goes_on_in_a_new_file() {
        let dir = Temp::new("cut");
        let mut d = Dictionaries::open(dir.path()).unwrap().0.into_current();
        let f = d.field_index("f");
        d.code_of(f, "one");
        d.write(dir.path()).unwrap();
        d.code_of(f, "two");
        d.write(dir.path()).unwrap();
        let id = d.id();
        let path = &files(dir.path())[0];
        let whole = fs::read(path).unwrap();
        fs::write(path, &whole[..whole.len() - 2]).unwrap();

        let (dictionaries, damage) = Dictionaries::open(dir.path()).unwrap();
        assert_eq!(damage.len(), 1);
        assert_eq!(damage[0].kind, DamageKind::TornTail);
        assert_eq!(values(dictionaries.get(id, 1).unwrap(), "f"), ["one"]);
        assert!(dictionaries.get(id, 2).is_none());
        let mut next = dictionaries.into_current();
        assert_ne!(next.id(), id, "a cut file is never appended to again");
        let f = next.field_index("f");
        assert_eq!(next.code_of(f, "three"), 1);
        next.write(dir.path()).unwrap();
        let (dictionaries, damage) = Dictionaries::open(dir.path()).unwrap();
        assert!(damage.is_empty(), "the cut was cut off: {damage:?}");
        assert_eq!(values(dictionaries.get(id, 1).unwrap(), "f"), ["one"]);
        assert_eq!(
            values(dictionaries.get(next.id(), 1).unwrap(), "f"),
            ["three"]
        );
        assert_eq!(dictionaries.into_current().id(), next.id());
    }

    #[test]
    fn damage_keeps_the_frames_before_it_and_is_copied_aside() {
        let dir = Temp::new("damage");
        let mut d = Dictionaries::open(dir.path()).unwrap().0.into_current();
        let f = d.field_index("f");
        for (i, value) in ["a", "b", "c"].iter().enumerate() {
            d.code_of(f, value);
            if i < 2 {
                d.write(dir.path()).unwrap();
            }
        }
        d.write(dir.path()).unwrap();
        let id = d.id();
        let path = files(dir.path())[0].clone();
        let whole = fs::read(&path).unwrap();
        // Every single flipped byte: never a panic; the frames before it are kept.
        for at in 0..whole.len() {
            let mut bad = whole.clone();
            bad[at] ^= 0x10;
            fs::write(&path, &bad).unwrap();
            let (dictionaries, damage) = Dictionaries::open(dir.path()).unwrap();
            assert_eq!(damage.len(), 1, "byte {at}");
            let kept = dictionaries
                .get(id, 0)
                .map(|d| values(d, "f"))
                .unwrap_or_default();
            let frame = whole.len() / 3;
            assert_eq!(kept.len(), at / frame, "byte {at}");
            assert!(damage[0].quarantine.as_ref().is_some_and(|q| q.exists()));
            for file in fs::read_dir(dir.path()).unwrap() {
                let file = file.unwrap().path();
                if file != path {
                    fs::remove_file(file).unwrap();
                }
            }
        }
    }

    #[test]
    fn names_are_read_strictly() {
        assert_eq!(
            parse_name("00000000000000000002-00000000000000ff.dict"),
            Some((2, 255))
        );
        for bad in [
            "2-00000000000000ff.dict",
            "00000000000000000002-ff.dict",
            "00000000000000000002-00000000000000ff.dict.tmp",
            "00000000000000000002-00000000000000fg.dict",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }
}
