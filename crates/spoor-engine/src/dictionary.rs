//! Dictionaries: distinct strings numbered from 1 ([`Dict`]), and an index's dictionary file,
//! which numbers every value of each extracted field its sealed blocks hold, so that a block
//! stores codes and reopening the index copies them instead of looking each value up again.
//!
//! ```text
//! <index dir>/<generation, 20 digits>-<id, 16 hex digits>.dict        the file
//! <index dir>/<generation, 20 digits>-<id, 16 hex digits>.dict.copy   its copy, the same bytes
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
//! entries, is there. The templates most records' text is rebuilt from (see
//! [`crate::template`]) are values of it too, so without it a block of the fourth version is
//! lost, as a damaged block is (reported, copied aside); hence the copy below. A block of an
//! earlier version, which kept every record's text, has its fields extracted again instead.
//!
//! A file takes values until it holds [`ROLL_BYTES`]; sealing then goes on in a new file, of
//! the next generation, so the values sealing keeps in memory stay bounded (once an index is
//! open only the current dictionary is kept, and the templates of all, for reading text). A
//! file no block is coded against any more (retention deleted them) is removed.
//!
//! Each dictionary is kept twice, in its file and in its copy. A frame is appended to both,
//! and both are synced before any block uses it. A folder of the build before copies has only
//! the file: the next frame written makes the copy from the file's bytes, then goes to both.
//!
//! On open, both files of every dictionary are read frame by frame, at the same offset in
//! each. The file's frame is taken if it checks out, else the copy's frame there if it checks
//! out, else reading stops. So a frame is lost only where both files are damaged at it. A
//! missing file is read from the other.
//!
//! Then each file is judged by itself. A frame cut short at its end (a crash while appending)
//! is cut off. Other damage is copied beside the file, which is left as it is. A file that
//! ends before the other (a crash between the two appends), or is missing while its copy is
//! there, is reported too, though nothing is lost. A missing copy is not reported: the build
//! before copies left no copy. After any of these, that dictionary is never appended to
//! again: sealing goes on in a new file, of the next generation. So an entry once written
//! never changes meaning, and a frame is never appended to two files that differ.
//!
//! A value stays in its file until every block coded against that file is deleted.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
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
    codes: FxHashMap<Key, u32>,
}

/// The longest value a [`Key`] holds in itself.
const INLINE: usize = 22;

/// A value as a dictionary's look-up map keeps it: its bytes in the map's own slot when they
/// fit (ids, names, numbers: most values), so that finding a value reads no memory beyond the
/// map's; else the shared string. Looked up by the value's bytes.
#[derive(Debug, Clone)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared(Arc<str>),
}

impl Key {
    fn new(value: &Arc<str>) -> Self {
        match u8::try_from(value.len()) {
            Ok(len) if value.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..value.len()].copy_from_slice(value.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Shared(Arc::clone(value)),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Shared(value) => value.as_bytes(),
        }
    }
}

impl std::borrow::Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.bytes()
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    /// As its bytes hash, so that it is found by them.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes().hash(state);
    }
}

impl Dict {
    pub(crate) fn code_of(&mut self, value: &str) -> u32 {
        if let Some(&code) = self.codes.get(value.as_bytes()) {
            return code;
        }
        let value: Arc<str> = Arc::from(value);
        let code = u32::try_from(self.values.len() + 1).expect("fewer than 2^32 distinct values");
        self.codes.insert(Key::new(&value), code);
        self.values.push(value);
        code
    }

    /// Makes room for `more` values, so that adding them grows nothing.
    fn reserve(&mut self, more: usize) {
        self.values.reserve(more);
        self.codes.reserve(more);
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// The strings (with their reference counts) and the lookup map's slots.
    pub(crate) fn heap_bytes(&self) -> usize {
        let strings: usize = self.values.iter().map(|v| v.len() + 16).sum();
        strings
            + self.values.capacity() * 16
            + self.codes.capacity() * (size_of::<(Key, u32)>() + 1)
    }

    pub(crate) fn find(&self, value: &str) -> Option<u32> {
        self.codes.get(value.as_bytes()).copied()
    }

    /// Its values from the `from`-th (from 0) on, as shared strings.
    pub(crate) fn values_from(&self, from: usize) -> &[Arc<str>] {
        &self.values[from.min(self.values.len())..]
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
/// The endings of a dictionary's two files: the file and its copy.
const SUFFIXES: [&str; 2] = [".dict", ".dict.copy"];
/// The bytes past which a dictionary file takes no more values (see the module's docs).
pub(crate) const ROLL_BYTES: u64 = 16 << 20;

/// One dictionary (its file and its copy), read: each field's values, in code order.
#[derive(Debug)]
pub(crate) struct Dictionary {
    generation: u64,
    id: u64,
    fields: Vec<(String, Dict)>,
    by_name: FxHashMap<String, usize>,
    /// How many values of each field are in the file; the others are still to be written.
    written: Vec<usize>,
    /// The length of its files, as far as it is known good.
    len: u64,
    /// Whether the copy holds those `len` bytes: not when it is missing (a folder of the build
    /// before copies), and then the next write makes it from the file's bytes.
    mirrored: bool,
    /// Whether more may be appended: not when its files were found cut, damaged or unequal.
    appendable: bool,
}

/// How one of a dictionary's two files read, beside the frames taken from both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileRead {
    /// There is no such file.
    Missing,
    /// Its bytes end at this offset, after a whole frame (or at its start).
    End(u64),
    /// The frame at this offset is cut short by the end of the file.
    Cut(u64),
    /// From this offset on, its bytes are no frame, or not the frame read there from the
    /// other file, or a frame that does not add up.
    Damaged(u64),
}

/// What a file's bytes hold at an offset.
enum At<'a> {
    /// Nothing: the file ends there (or before).
    End,
    /// A frame cut short by the end of the file.
    Cut,
    /// Bytes that are no frame's head.
    Damaged,
    /// A frame whose head checks out (its payload is still to be checked).
    Frame(&'a [u8]),
}

impl Dictionary {
    /// An empty dictionary, of `generation`, with a fresh id; its files are made when first
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
            mirrored: true,
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

    /// Starts a new file, of the next generation, once this one holds [`ROLL_BYTES`] or takes
    /// no more values (a write failed and could not be undone).
    pub(crate) fn roll_if_full(&mut self) -> io::Result<()> {
        if self.len >= ROLL_BYTES || !self.appendable {
            *self = Self::new(self.generation + 1)?;
        }
        Ok(())
    }

    /// Its two files in `dir`: the file and its copy.
    fn paths(&self, dir: &Path) -> [PathBuf; 2] {
        paths(dir, self.generation, self.id)
    }

    /// Appends the values added since the last write to both files in `dir` (made if needed,
    /// the copy from the file's bytes when it is missing) and syncs them. Only then may a
    /// block using them be written. After a failed write both files are cut back to what they
    /// held (a copy being made is removed), or, if that fails too, no more is ever appended.
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
        let paths = self.paths(dir);
        if !self.appendable {
            return Err(io::Error::other(format!(
                "the dictionary {} was found damaged and takes no more values",
                paths[0].display()
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
        // A missing copy is made whole: the file's bytes, then the frame.
        let mut whole_copy = Vec::new();
        if !self.mirrored {
            File::open(&paths[0])?
                .take(self.len)
                .read_to_end(&mut whole_copy)?;
            if whole_copy.len() as u64 != self.len {
                return Err(io::Error::other(format!(
                    "the dictionary {} is shorter than it was read",
                    paths[0].display()
                )));
            }
            whole_copy.extend_from_slice(&frame);
        }
        let made = [self.len == 0, self.len == 0 || !self.mirrored];
        let made = [0, 1].map(|i| made[i] && fs::symlink_metadata(&paths[i]).is_err());
        let mut files = [None, None];
        let written = self
            .append(&paths, [&frame, &whole_copy], &mut files)
            .and_then(|()| match made {
                [false, false] => Ok(()),
                _ => crate::log::sync_dir(dir),
            });
        if let Err(err) = written {
            if self.roll_back(&paths, &files).is_err() {
                self.appendable = false;
            }
            return Err(err);
        }
        self.len += frame.len() as u64;
        self.mirrored = true;
        for (i, _) in pending {
            self.written[i] = self.fields[i].1.len();
        }
        Ok(())
    }

    /// Appends `frame` to the file and to its copy (or writes the copy as `whole` when it is
    /// missing), then syncs both; `files` gets each file as it is opened.
    fn append(
        &self,
        paths: &[PathBuf; 2],
        [frame, whole]: [&[u8]; 2],
        files: &mut [Option<File>; 2],
    ) -> io::Result<()> {
        for (i, (path, slot)) in paths.iter().zip(files.iter_mut()).enumerate() {
            let making = i == 1 && !self.mirrored;
            let mut options = OpenOptions::new();
            if making {
                options.write(true).truncate(true);
            } else {
                options.append(true);
            }
            let file = slot.insert(crate::files::open_private(options.create(true), path)?);
            file.write_all(if making { whole } else { frame })?;
        }
        for file in files.iter().flatten() {
            file.sync_data()?;
        }
        Ok(())
    }

    /// Cuts both files back to the bytes known good, after a failed write: a copy being made
    /// is removed instead, so that it is missing again. Each file is seen to, whatever the
    /// other's failure.
    fn roll_back(&self, paths: &[PathBuf; 2], files: &[Option<File>; 2]) -> io::Result<()> {
        let mut done = Ok(());
        for (i, (path, file)) in paths.iter().zip(files).enumerate() {
            let undone = if i == 1 && !self.mirrored {
                fs::remove_file(path).or_else(|err| match err.kind() {
                    io::ErrorKind::NotFound => Ok(()),
                    _ => Err(err),
                })
            } else {
                file.as_ref().map_or(Ok(()), |file| {
                    file.set_len(self.len).and_then(|()| file.sync_data())
                })
            };
            done = done.and(undone);
        }
        done
    }

    /// Reads the frames of a dictionary's two files (`None` for one that is missing), frame
    /// by frame at the same offset: the first file's frame if it checks out, else the copy's.
    /// The dictionary they hold, and how each file read.
    fn read(generation: u64, id: u64, copies: [Option<&[u8]>; 2]) -> (Self, [FileRead; 2]) {
        let mut dictionary = Self::empty(generation, id, false);
        // Where each file stopped being read, and where it was first found damaged (a damaged
        // file is read on, as its later frames may stand in for the other's).
        let mut ends: [Option<FileRead>; 2] =
            copies.map(|bytes| bytes.is_none().then_some(FileRead::Missing));
        let mut damaged: [Option<u64>; 2] = [None, None];
        loop {
            let at = dictionary.len as usize;
            let mut taken = None;
            for (bytes, end) in copies.iter().zip(&ends) {
                if let (Some(bytes), None) = (bytes, end)
                    && let At::Frame(frame) = frame_at(bytes, at)
                    && dictionary.add_framed(frame)
                {
                    taken = Some(frame);
                    break;
                }
            }
            for ((bytes, end), damaged) in copies.iter().zip(&mut ends).zip(&mut damaged) {
                let Some(bytes) = bytes.filter(|_| end.is_none()) else {
                    continue;
                };
                if taken.is_some_and(|frame| bytes.get(at..at + frame.len()) == Some(frame)) {
                    continue;
                }
                match frame_at(bytes, at) {
                    At::End => *end = Some(FileRead::End(at as u64)),
                    At::Cut => *end = Some(FileRead::Cut(at as u64)),
                    At::Damaged | At::Frame(_) => {
                        let first = *damaged.get_or_insert(at as u64);
                        if taken.is_none() {
                            *end = Some(FileRead::Damaged(first));
                        }
                    }
                }
            }
            match taken {
                Some(frame) => dictionary.len += frame.len() as u64,
                None => break,
            }
        }
        dictionary.written = dictionary.fields.iter().map(|(_, d)| d.len()).collect();
        dictionary.mirrored =
            ends[1] == Some(FileRead::End(dictionary.len)) && damaged[1].is_none();
        let read = [0, 1].map(|i| match (damaged[i], ends[i]) {
            (Some(first), _) => FileRead::Damaged(first),
            (None, Some(end)) => end,
            // Every file still read when reading stopped was judged there.
            (None, None) => FileRead::Damaged(dictionary.len),
        });
        (dictionary, read)
    }

    /// Adds the values of a whole frame if its payload checks out and adds up (nothing if
    /// not); whether it did.
    fn add_framed(&mut self, frame: &[u8]) -> bool {
        let payload = &frame[FRAME_HEADER..];
        crc32fast::hash(payload) == u32_at(frame, 8)
            && crate::codec::decompress(payload)
                .ok()
                .is_some_and(|plain| self.add_frame(&plain).is_ok())
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
            self.fields[i].1.reserve(values.len());
            for value in values {
                self.code_of(i, value);
            }
        }
        Ok(())
    }
}

/// What `bytes` hold at `at`.
fn frame_at(bytes: &[u8], at: usize) -> At<'_> {
    let rest = match bytes.get(at..) {
        None | Some([]) => return At::End,
        Some(rest) => rest,
    };
    if rest.len() < FRAME_HEADER {
        return At::Cut;
    }
    let head_ok = rest[..4] == MAGIC
        && crc32fast::hash(&rest[..FRAME_HEADER - 4]) == u32_at(rest, FRAME_HEADER - 4);
    let len = u32_at(rest, 4) as usize;
    if !head_ok || len > MAX_FRAME {
        return At::Damaged;
    }
    rest.get(..FRAME_HEADER + len).map_or(At::Cut, At::Frame)
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

/// The two files of a dictionary in `dir`: the file and its copy.
fn paths(dir: &Path, generation: u64, id: u64) -> [PathBuf; 2] {
    SUFFIXES.map(|suffix| dir.join(format!("{generation:020}-{id:016x}{suffix}")))
}

/// The generation and id a dictionary file's name holds, and which of its two files it is
/// (`0` the file, `1` its copy).
fn parse_name(name: &str) -> Option<(u64, u64, usize)> {
    let (which, stem) = SUFFIXES
        .iter()
        .enumerate()
        .find_map(|(which, suffix)| Some((which, name.strip_suffix(suffix)?)))?;
    let (generation, id) = stem.split_once('-')?;
    if generation.len() != 20
        || !generation.bytes().all(|b| b.is_ascii_digit())
        || id.len() != 16
        || !id.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    Some((
        generation.parse().ok()?,
        u64::from_str_radix(id, 16).ok()?,
        which,
    ))
}

/// Whether `path` names a dictionary file (a file or its copy).
pub(crate) fn is_dictionary_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| parse_name(name).is_some())
}

/// Removes the dictionary files of `dir` other than `current`'s whose ids are not in `used`,
/// both files of each: the copies first, so that one cut short by a crash is left as a
/// folder of the build before copies would be.
pub(crate) fn remove_unused(dir: &Path, current: u64, used: &HashSet<u64>) -> io::Result<()> {
    let mut unused: Vec<(usize, PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let Some((_, id, which)) = entry.file_name().to_str().and_then(parse_name) else {
            continue;
        };
        if id != current && !used.contains(&id) {
            unused.push((which, entry.path()));
        }
    }
    unused.sort_unstable_by(|a, b| b.cmp(a));
    for (_, path) in &unused {
        fs::remove_file(path)?;
    }
    if !unused.is_empty() {
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
    /// Reads both files of every dictionary of `dir`; reports damage found in each (copied
    /// beside its file), cuts off a frame cut short, and reports a file that ends before the
    /// other.
    pub(crate) fn open(dir: &Path) -> io::Result<(Self, Vec<Damage>)> {
        let mut names: BTreeMap<(u64, u64), [bool; 2]> = BTreeMap::new();
        for entry in fs::read_dir(dir)? {
            let Ok(entry) = entry else { continue };
            if let Some((generation, id, which)) = entry.file_name().to_str().and_then(parse_name) {
                names.entry((generation, id)).or_default()[which] = true;
            }
        }
        let mut found = Vec::with_capacity(names.len());
        let mut damage = Vec::new();
        let mut whole_newest = false;
        for ((generation, id), there) in names {
            let paths = paths(dir, generation, id);
            let mut bytes = [None, None];
            for ((path, there), bytes) in paths.iter().zip(there).zip(&mut bytes) {
                if there {
                    *bytes = Some(fs::read(path)?);
                }
            }
            let (dictionary, read) =
                Dictionary::read(generation, id, [bytes[0].as_deref(), bytes[1].as_deref()]);
            let good = dictionary.len;
            for (which, ((path, bytes), read)) in paths.iter().zip(&bytes).zip(read).enumerate() {
                let len = bytes.as_ref().map_or(0, |b| b.len() as u64);
                let (offset, kind, quarantine) = match read {
                    // Not reported for the copy: the build before copies made none.
                    FileRead::Missing if which == 1 => continue,
                    FileRead::End(end) if end == good => continue,
                    // Nothing is lost, the other file holding more; reported all the same.
                    FileRead::Missing => (0, DamageKind::TornTail, None),
                    FileRead::End(end) => (end, DamageKind::TornTail, None),
                    FileRead::Cut(at) => {
                        let file = OpenOptions::new().write(true).open(path)?;
                        file.set_len(at)?;
                        file.sync_data()?;
                        (at, DamageKind::TornTail, None)
                    }
                    FileRead::Damaged(at) => {
                        let file = File::open(path)?;
                        let copy = crate::log::quarantine(&file, path, at, len.saturating_sub(at))?;
                        (at, DamageKind::Skipped, Some(copy))
                    }
                };
                damage.push(Damage {
                    path: path.clone(),
                    offset,
                    bytes: len.saturating_sub(offset),
                    to_end: true,
                    records_lost: Some(0),
                    kind,
                    quarantine,
                });
            }
            // Appended to only when both files are whole and equal, or the copy is missing (made
            // whole by the next write).
            whole_newest = read[0] == FileRead::End(good)
                && (read[1] == FileRead::End(good) || read[1] == FileRead::Missing);
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

    /// The dictionary sealing goes on with, the others dropped.
    pub(crate) fn into_current(self) -> Dictionary {
        self.current
    }

    /// The id of the dictionary sealing goes on with.
    pub(crate) fn current_id(&self) -> u64 {
        self.current.id
    }

    /// Every dictionary, the current one last.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Dictionary> {
        self.found.iter().chain([&self.current])
    }
}

/// The dictionary of id `id` in `dir`, read from its files as they are now, nothing cut,
/// copied aside or reported (see [`Dictionaries::open`] for that); `None` when it has no
/// file. For reading a block's records by their location alone.
pub(crate) fn read_from(dir: &Path, id: u64) -> io::Result<Option<Dictionary>> {
    let mut generation = None;
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        if let Some((g, found, _)) = entry.file_name().to_str().and_then(parse_name)
            && found == id
        {
            generation = Some(g);
        }
    }
    let Some(generation) = generation else {
        return Ok(None);
    };
    let mut bytes = [None, None];
    for (path, bytes) in paths(dir, generation, id).iter().zip(&mut bytes) {
        match fs::read(path) {
            Ok(read) => *bytes = Some(read),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    let (dictionary, _) =
        Dictionary::read(generation, id, [bytes[0].as_deref(), bytes[1].as_deref()]);
    Ok(Some(dictionary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_held_in_the_map_or_shared_are_found_by_their_text() {
        // Every length around what a key holds in itself, multi-byte characters included.
        let values: Vec<String> = (0..=2 * INLINE)
            .map(|n| "x".repeat(n))
            .chain((1..=INLINE).map(|n| "é".repeat(n)))
            .chain((0..2_000).map(|i| format!("user-{i:06}")))
            .chain((0..50).map(|i| format!("a value longer than a key holds, number {i}")))
            .collect();
        let mut dict = Dict::default();
        for (i, value) in values.iter().enumerate() {
            assert_eq!(dict.code_of(value), i as u32 + 1, "{value:?}");
        }
        assert_eq!(dict.len(), values.len());
        for (i, value) in values.iter().enumerate() {
            let code = i as u32 + 1;
            assert_eq!(dict.code_of(value), code, "{value:?} again");
            assert_eq!(dict.find(value), Some(code), "{value:?} found");
            assert_eq!(dict.get(code), value);
        }
        for absent in ["y", "user-002000", "xxxxxxxxxxxxxxxxxxxxxxx\0", "ê"] {
            assert_eq!(dict.find(absent), None, "{absent:?}");
        }
    }

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

    /// A dictionary written into `dir`, one frame per value of the field "f" (frames of equal
    /// length for values of equal length): its id and its two files.
    fn written(dir: &Path, values: &[&str]) -> (u64, [PathBuf; 2]) {
        let mut d = Dictionary::new(1).unwrap();
        let f = d.field_index("f");
        for value in values {
            d.code_of(f, value);
            d.write(dir).unwrap();
        }
        (d.id(), d.paths(dir))
    }

    /// What opening `dir` now finds of the dictionary `id`: the values of its field "f", the
    /// damage reported, and whether sealing would go on appending to it.
    fn reopened(dir: &Path, id: u64) -> (Vec<String>, Vec<Damage>, bool) {
        let (dictionaries, damage) = Dictionaries::open(dir).unwrap();
        let kept = dictionaries
            .get(id, 0)
            .map(|d| values(d, "f"))
            .unwrap_or_default();
        (kept, damage, dictionaries.into_current().id() == id)
    }

    /// Removes every file of `dir` but `keep` (copies of damaged bytes).
    fn remove_others(dir: &Path, keep: &[PathBuf]) {
        for file in fs::read_dir(dir).unwrap() {
            let file = file.unwrap().path();
            if !keep.contains(&file) {
                fs::remove_file(file).unwrap();
            }
        }
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
        let paths = d.paths(dir.path());
        assert_eq!(files(dir.path()), paths, "the file and its copy");
        assert_eq!(fs::read(&paths[0]).unwrap(), fs::read(&paths[1]).unwrap());

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
        assert_eq!(fs::read(&paths[0]).unwrap(), fs::read(&paths[1]).unwrap());
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
        // A crash while appending to both files.
        for path in d.paths(dir.path()) {
            let whole = fs::read(&path).unwrap();
            fs::write(&path, &whole[..whole.len() - 2]).unwrap();
        }

        let (dictionaries, damage) = Dictionaries::open(dir.path()).unwrap();
        assert_eq!(damage.len(), 2, "{damage:?}");
        assert!(damage.iter().all(|d| d.kind == DamageKind::TornTail));
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
    fn a_byte_damaged_in_either_file_loses_nothing_and_is_copied_aside() {
        let dir = Temp::new("damage");
        let (id, paths) = written(dir.path(), &["a", "b", "c"]);
        let whole = fs::read(&paths[0]).unwrap();
        assert_eq!(fs::read(&paths[1]).unwrap(), whole);
        // Every single flipped byte of either file: never a panic; the other file stands in.
        for (which, path) in paths.iter().enumerate() {
            for at in 0..whole.len() {
                let mut bad = whole.clone();
                bad[at] ^= 0x10;
                fs::write(path, &bad).unwrap();
                let (kept, damage, appended) = reopened(dir.path(), id);
                let what = format!("file {which}, byte {at}: {damage:?}");
                assert_eq!(kept, ["a", "b", "c"], "{what}");
                assert_eq!(damage.len(), 1, "{what}");
                let damage = &damage[0];
                assert_eq!(
                    (&damage.path, damage.kind, damage.records_lost),
                    (path, DamageKind::Skipped, Some(0)),
                    "{what}"
                );
                assert!(damage.offset <= at as u64, "{what}");
                let copy = damage.quarantine.as_ref().expect("copied aside");
                assert_eq!(fs::read(copy).unwrap(), bad[damage.offset as usize..]);
                assert!(!appended, "{what}");
                assert_eq!(fs::read(path).unwrap(), bad, "left as it is: {what}");
                fs::write(path, &whole).unwrap();
                remove_others(dir.path(), &paths);
            }
        }
    }

    #[test]
    fn both_files_damaged_lose_only_the_frames_damaged_in_both() {
        let dir = Temp::new("both");
        let (id, paths) = written(dir.path(), &["a", "b", "c"]);
        let whole = fs::read(&paths[0]).unwrap();
        let frame = whole.len() / 3;
        // In each frame: its magic, its head's checksum, its payload's last byte.
        let places: Vec<usize> = (0..3)
            .flat_map(|k| [k * frame, k * frame + 13, (k + 1) * frame - 1])
            .collect();
        for &first in &places {
            for &copy in &places {
                for (path, at) in paths.iter().zip([first, copy]) {
                    let mut bad = whole.clone();
                    bad[at] ^= 0x01;
                    fs::write(path, &bad).unwrap();
                }
                let (kept, damage, appended) = reopened(dir.path(), id);
                let what = format!("bytes {first} and {copy}: {damage:?}");
                let expected = if first / frame == copy / frame {
                    &["a", "b", "c"][..first / frame]
                } else {
                    &["a", "b", "c"][..]
                };
                assert_eq!(kept, expected, "{what}");
                assert_eq!(damage.len(), 2, "{what}");
                for (damage, path) in damage.iter().zip(&paths) {
                    assert_eq!(&damage.path, path, "{what}");
                    assert_eq!(damage.kind, DamageKind::Skipped, "{what}");
                    assert_eq!(damage.records_lost, Some(0), "{what}");
                    assert!(damage.quarantine.is_some(), "{what}");
                }
                assert!(!appended, "{what}");
                remove_others(dir.path(), &paths);
            }
        }
    }

    #[test]
    fn a_missing_file_is_read_from_its_copy() {
        let dir = Temp::new("missing");
        let (id, paths) = written(dir.path(), &["a", "b"]);
        fs::remove_file(&paths[0]).unwrap();
        let (kept, damage, appended) = reopened(dir.path(), id);
        assert_eq!(kept, ["a", "b"]);
        assert_eq!(
            damage.len(),
            1,
            "reported though nothing is lost: {damage:?}"
        );
        assert_eq!(damage[0].path, paths[0]);
        assert_eq!(damage[0].kind, DamageKind::TornTail);
        assert_eq!((damage[0].offset, damage[0].bytes), (0, 0));
        assert!(!appended, "its files differ");
        assert!(!paths[0].exists(), "nothing is made on open");
    }

    #[test]
    fn a_folder_of_the_build_before_copies_is_appended_to_and_gets_its_copy() {
        let dir = Temp::new("before");
        let (id, paths) = written(dir.path(), &["a", "b"]);
        fs::remove_file(&paths[1]).unwrap();
        let (dictionaries, damage) = Dictionaries::open(dir.path()).unwrap();
        assert!(damage.is_empty(), "{damage:?}");
        let mut d = dictionaries.into_current();
        assert_eq!(d.id(), id, "appended to");
        assert_eq!(values(&d, "f"), ["a", "b"]);
        let f = d.field_index("f");
        assert_eq!(d.code_of(f, "c"), 3);
        d.write(dir.path()).unwrap();
        let whole = fs::read(&paths[0]).unwrap();
        assert_eq!(
            fs::read(&paths[1]).unwrap(),
            whole,
            "the copy is made whole"
        );
        let (kept, damage, appended) = reopened(dir.path(), id);
        assert_eq!(kept, ["a", "b", "c"]);
        assert!(damage.is_empty(), "{damage:?}");
        assert!(appended);
        // Read from the new copy alone, all the values come back.
        fs::write(&paths[0], &whole[..whole.len() / 2]).unwrap();
        let (kept, _, _) = reopened(dir.path(), id);
        assert_eq!(kept, ["a", "b", "c"]);
    }

    #[test]
    fn a_file_shorter_than_its_copy_loses_nothing_and_takes_no_more() {
        let dir = Temp::new("short");
        let (id, paths) = written(dir.path(), &["a", "b", "c"]);
        let whole = fs::read(&paths[0]).unwrap();
        let frame = whole.len() / 3;
        // A crash between the two appends: one file without the last frame, or with part of it.
        for (which, path) in paths.iter().enumerate() {
            for short in [frame, 2] {
                fs::write(path, &whole[..whole.len() - short]).unwrap();
                let what = format!("file {which}, {short} bytes short");
                let (kept, damage, appended) = reopened(dir.path(), id);
                assert_eq!(kept, ["a", "b", "c"], "{what}");
                assert_eq!(damage.len(), 1, "{what}: {damage:?}");
                assert_eq!(&damage[0].path, path, "{what}");
                assert_eq!(damage[0].kind, DamageKind::TornTail, "{what}");
                assert_eq!(damage[0].offset, 2 * frame as u64, "{what}");
                assert_eq!(damage[0].bytes, (frame - short) as u64, "{what}");
                assert!(!appended, "{what}");
                assert_eq!(fs::read(path).unwrap(), whole[..2 * frame], "{what}");
                // Still shorter on the next open: still reported, still not appended to.
                let (kept, damage, appended) = reopened(dir.path(), id);
                assert_eq!(kept, ["a", "b", "c"], "{what}");
                assert_eq!(damage.len(), 1, "{what}: {damage:?}");
                assert!(!appended, "{what}");
                fs::write(path, &whole).unwrap();
            }
        }
        // Sealing goes on in a new dictionary, written to both of its files.
        fs::write(&paths[1], &whole[..2 * frame]).unwrap();
        let (dictionaries, _) = Dictionaries::open(dir.path()).unwrap();
        let mut next = dictionaries.into_current();
        assert_ne!(next.id(), id);
        let f = next.field_index("f");
        next.code_of(f, "d");
        next.write(dir.path()).unwrap();
        assert_eq!(files(dir.path()).len(), 4);
        let (kept, _, appended) = reopened(dir.path(), next.id());
        assert_eq!((kept, appended), (vec!["d".to_owned()], true));
    }

    #[test]
    fn a_failed_write_leaves_both_files_as_they_were() {
        let dir = Temp::new("failed");
        let mut d = Dictionary::new(1).unwrap();
        let f = d.field_index("f");
        d.code_of(f, "a");
        d.write(dir.path()).unwrap();
        let paths = d.paths(dir.path());
        let whole = fs::read(&paths[0]).unwrap();
        // The copy cannot be written: the file is cut back, and takes the values later.
        fs::remove_file(&paths[1]).unwrap();
        fs::create_dir(&paths[1]).unwrap();
        d.code_of(f, "b");
        assert!(d.write(dir.path()).is_err());
        assert_eq!(fs::read(&paths[0]).unwrap(), whole);
        fs::remove_dir(&paths[1]).unwrap();
        fs::write(&paths[1], &whole).unwrap();
        d.write(dir.path()).unwrap();
        let (kept, damage, appended) = reopened(dir.path(), d.id());
        assert_eq!(
            (kept, damage.len(), appended),
            (vec!["a".into(), "b".into()], 0, true)
        );
        assert_eq!(fs::read(&paths[0]).unwrap(), fs::read(&paths[1]).unwrap());

        // A copy being made that cannot be, nor removed: no more is appended.
        let whole = fs::read(&paths[0]).unwrap();
        fs::remove_file(&paths[1]).unwrap();
        let mut d = Dictionaries::open(dir.path()).unwrap().0.into_current();
        fs::create_dir(&paths[1]).unwrap();
        let f = d.field_index("f");
        d.code_of(f, "c");
        assert!(d.write(dir.path()).is_err());
        assert_eq!(fs::read(&paths[0]).unwrap(), whole);
        fs::remove_dir(&paths[1]).unwrap();
        let err = d.write(dir.path()).unwrap_err();
        assert!(err.to_string().contains("takes no more values"), "{err}");
        assert_eq!(fs::read(&paths[0]).unwrap(), whole);
    }

    #[test]
    fn unused_dictionaries_go_with_both_their_files() {
        let dir = Temp::new("unused");
        let (old, old_paths) = written(dir.path(), &["a"]);
        let (used, used_paths) = written(dir.path(), &["b"]);
        let (current, current_paths) = written(dir.path(), &["c"]);
        assert_ne!(old, used);
        assert_eq!(files(dir.path()).len(), 6);
        remove_unused(dir.path(), current, &HashSet::from([used])).unwrap();
        assert!(old_paths.iter().all(|p| !p.exists()));
        assert!(used_paths.iter().chain(&current_paths).all(|p| p.exists()));
        assert_eq!(files(dir.path()).len(), 4);
    }

    #[test]
    fn names_are_read_strictly() {
        assert_eq!(
            parse_name("00000000000000000002-00000000000000ff.dict"),
            Some((2, 255, 0))
        );
        assert_eq!(
            parse_name("00000000000000000002-00000000000000ff.dict.copy"),
            Some((2, 255, 1))
        );
        for bad in [
            "2-00000000000000ff.dict",
            "00000000000000000002-ff.dict",
            "00000000000000000002-00000000000000ff.dict.tmp",
            "00000000000000000002-00000000000000ff.dict.copy.tmp",
            "00000000000000000002-00000000000000ff.dict.copy.damaged-0-1-00000000",
            "00000000000000000002-00000000000000ff.copy",
            "00000000000000000002-00000000000000fg.dict",
            "00000000000000000002-00000000000000fg.dict.copy",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }
}
