//! The small binary codings of the engine's files: LEB128 varints, length-prefixed strings,
//! zigzag, and a reader that checks every read, so that damaged bytes which pass a checksum
//! still give an error, never a panic.

use std::io;

/// Appends `n` as a LEB128 varint.
pub(crate) fn put(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends a string as its length (a varint) and its bytes.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The little-endian `u32` at `at` of `bytes` (which must hold it).
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// The little-endian `u64` at `at` of `bytes` (which must hold it).
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// A signed number as an unsigned one, small for numbers near zero.
pub(crate) fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

pub(crate) fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// The most bytes a zstd frame of the engine's files is decompressed to in one piece: a
/// frame announcing more (damage that passed a checksum) is read as a stream instead, so a
/// forged size never makes a huge allocation.
const MAX_PLAIN: u64 = 1 << 28;

/// Decompresses one zstd frame into `out` (emptied first).
///
/// The engine's frames announce their size, so the bytes are written straight into `out`,
/// sized once, by a decompression context kept per thread: no intermediate buffer, no
/// growing. A frame that does not announce it, or announces too much, is read as a stream.
pub(crate) fn decompress_into(frame: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    thread_local! {
        static CONTEXT: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    out.clear();
    match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size <= MAX_PLAIN => {
            out.reserve_exact(size as usize);
            CONTEXT.with_borrow_mut(|context| {
                let context = match context {
                    Some(context) => context,
                    None => context.insert(zstd::bulk::Decompressor::new()?),
                };
                context.decompress_to_buffer(frame, out)
            })?;
            Ok(())
        }
        _ => zstd::stream::copy_decode(frame, &mut *out),
    }
}

/// Decompresses one zstd frame (see [`decompress_into`]).
pub(crate) fn decompress(frame: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    decompress_into(frame, &mut out)?;
    Ok(out)
}

/// Reads what the functions above wrote, from the front of some bytes. `of` names what is
/// read, for the errors ("sealed block" gives "sealed block is damaged: cut short").
pub(crate) struct Reader<'a> {
    pub(crate) rest: &'a [u8],
    of: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], of: &'static str) -> Self {
        Self { rest: bytes, of }
    }

    /// The error for damage found in what is read.
    pub(crate) fn damaged(&self, what: &str) -> io::Error {
        damaged(self.of, what)
    }

    pub(crate) fn byte(&mut self) -> io::Result<u8> {
        let (&b, rest) = self
            .rest
            .split_first()
            .ok_or_else(|| self.damaged("cut short"))?;
        self.rest = rest;
        Ok(b)
    }

    pub(crate) fn var(&mut self) -> io::Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(self.damaged("a number too long"))
    }

    /// Reads `n` numbers as [`var`](Reader::var) does, handing each to `each`: one loop over
    /// the bytes, for the long runs of them a sealed block holds.
    pub(crate) fn vars(&mut self, n: usize, mut each: impl FnMut(u64)) -> io::Result<()> {
        let bytes = self.rest;
        let mut at = 0;
        for _ in 0..n {
            // Numbers of up to four bytes (below 2^28, most of a block's steps) from one
            // eight-byte word, without a branch a byte.
            if let Some(word) = bytes.get(at..at + 8) {
                let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                let len = (!word & 0x8080_8080_8080_8080).trailing_zeros() / 8 + 1;
                if len <= 4 {
                    let w = word & (u64::MAX >> (64 - 8 * len));
                    each(
                        (w & 0x7f)
                            | ((w >> 1) & (0x7f << 7))
                            | ((w >> 2) & (0x7f << 14))
                            | ((w >> 3) & (0x7f << 21)),
                    );
                    at += len as usize;
                    continue;
                }
            }
            // Longer numbers, and the last few bytes, one byte at a time.
            self.rest = &bytes[at..];
            each(self.var()?);
            at = bytes.len() - self.rest.len();
        }
        self.rest = &bytes[at..];
        Ok(())
    }

    /// A number of at most `max`.
    pub(crate) fn count(&mut self, max: usize) -> io::Result<usize> {
        let n = self.var()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= max)
            .ok_or_else(|| self.damaged("a count out of range"))
    }

    pub(crate) fn bytes(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if n > self.rest.len() {
            return Err(self.damaged("cut short"));
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    /// A little-endian `u64`.
    pub(crate) fn u64_le(&mut self) -> io::Result<u64> {
        Ok(u64_at(self.bytes(8)?, 0))
    }

    /// Bytes preceded by their length as a `u32` LE.
    pub(crate) fn take_len(&mut self) -> io::Result<&'a [u8]> {
        let len = u32_at(self.bytes(4)?, 0) as usize;
        self.bytes(len)
    }

    /// A string of at most `max` bytes, as [`put_str`] wrote it.
    pub(crate) fn str(&mut self, max: usize) -> io::Result<&'a str> {
        let len = self.count(max)?;
        let bytes = self.bytes(len)?;
        std::str::from_utf8(bytes).map_err(|_| self.damaged("a string is not utf-8"))
    }
}

/// The error for damage found in `of`.
pub(crate) fn damaged(of: &str, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{of} is damaged: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back_and_damage_is_an_error() {
        let mut out = Vec::new();
        for n in [0, 1, 127, 128, 300, u64::MAX] {
            put(&mut out, n);
        }
        put_str(&mut out, "ünï");
        for n in [0, -1, 1, i64::MIN, i64::MAX] {
            put(&mut out, zigzag(n));
        }
        let mut r = Reader::new(&out, "test");
        for n in [0, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(r.var().unwrap(), n);
        }
        assert_eq!(r.str(10).unwrap(), "ünï");
        for n in [0, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(r.var().unwrap()), n);
        }
        assert!(r.rest.is_empty());
        let err = r.byte().unwrap_err();
        assert_eq!(err.to_string(), "test is damaged: cut short");
        let mut r = Reader::new(&out, "test");
        let mut read = Vec::new();
        r.vars(6, |n| read.push(n)).unwrap();
        assert_eq!(read, [0, 1, 127, 128, 300, u64::MAX]);
        assert_eq!(r.str(10).unwrap(), "ünï");
        assert!(Reader::new(&[1, 0x80], "t").vars(2, |_| {}).is_err());
        // Numbers of every length, read one by one and in a run, the same.
        let numbers: Vec<u64> = (0..64)
            .flat_map(|bits| [(1u64 << bits) - 1, 1 << bits, (1 << bits) | 0x55])
            .collect();
        let mut out = Vec::new();
        for &n in &numbers {
            put(&mut out, n);
        }
        let mut read = Vec::new();
        Reader::new(&out, "t")
            .vars(numbers.len(), |n| read.push(n))
            .unwrap();
        assert_eq!(read, numbers);
        assert!(Reader::new(&[0xff; 11], "t").vars(1, |_| {}).is_err());
        let err = Reader::new(&[0xff; 11], "t").var().unwrap_err();
        assert_eq!(err.to_string(), "t is damaged: a number too long");
        let err = Reader::new(&[0x80, 0x80], "t").var().unwrap_err();
        assert_eq!(err.to_string(), "t is damaged: cut short");
        assert!(Reader::new(&[5, b'a'], "t").str(10).is_err());
        assert!(Reader::new(&[2, 0xff, 0xfe], "t").str(10).is_err());
        assert!(Reader::new(&[20], "t").count(10).is_err());
    }

    #[test]
    fn frames_decompress_whether_or_not_they_announce_their_size() {
        let plain: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let sized = zstd::bulk::compress(&plain, 3).unwrap();
        assert!(
            zstd::zstd_safe::get_frame_content_size(&sized)
                .unwrap()
                .is_some()
        );
        let streamed = zstd::stream::encode_all(&plain[..], 3).unwrap();
        assert!(
            zstd::zstd_safe::get_frame_content_size(&streamed)
                .unwrap()
                .is_none()
        );
        let mut out = vec![1, 2, 3];
        for frame in [&sized, &streamed] {
            decompress_into(frame, &mut out).unwrap();
            assert_eq!(out, plain);
        }
        assert_eq!(decompress(&sized).unwrap(), plain);
        let mut cut = sized.clone();
        cut.truncate(sized.len() / 2);
        assert!(decompress(&cut).is_err());
    }
}
