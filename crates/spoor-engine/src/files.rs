//! Files of a data folder: readable by their owner only, replaced atomically, and the folder's
//! lock.
//!
//! On Unix every file the engine makes is `0600` and every folder `0700`, whatever the umask:
//! the mode asked for at creation is narrowed by the umask, so it is also set explicitly
//! afterwards. Elsewhere the platform's defaults apply.
//!
//! ```
//! use spoor_engine::files;
//!
//! # let dir = std::env::temp_dir().join(format!("spoor-files-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = dir.join("settings.json");
//! files::write_atomic(&path, b"{\"a\": 1}")?;
//! files::write_atomic(&path, b"{\"a\": 2}")?;
//! assert_eq!(std::fs::read(&path)?, b"{\"a\": 2}");
//! # #[cfg(unix)]
//! # {
//! use std::os::unix::fs::PermissionsExt;
//! assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, files::FILE_MODE);
//! # }
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// The mode of every file the engine makes (Unix): read and write for its owner only.
pub const FILE_MODE: u32 = 0o600;

/// The mode of every folder the engine makes (Unix): its owner only.
pub const DIR_MODE: u32 = 0o700;

/// Writes `bytes` to `path` atomically: into a temporary file beside it (`<name>.tmp`, mode
/// [`FILE_MODE`]), synced, renamed over `path`, and the folder synced, so that after a crash
/// `path` holds either its old contents or the new ones, never a part.
///
/// The temporary file's name is fixed, so two writers of the same path must not run at once
/// (the engine writes its files only while it holds its data folder's lock).
///
/// # Errors
///
/// When a step fails; the error names `path`, and the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let with_path = |err: io::Error| {
        io::Error::new(
            err.kind(),
            format!("cannot write {}: {err}", path.display()),
        )
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))
        .map_err(with_path)?;
    let mut tmp_name = name.to_owned();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        let mut file = open_private(
            OpenOptions::new().write(true).create(true).truncate(true),
            &tmp,
        )?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(err) = written {
        let _ = fs::remove_file(&tmp);
        return Err(with_path(err));
    }
    crate::log::sync_dir(parent(path)).map_err(with_path)
}

/// The folder `path` is in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Opens `path` with `options`; a file it creates is [`FILE_MODE`] whatever the umask.
pub(crate) fn open_private(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, FILE_MODE);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if file.metadata()?.permissions().mode() & 0o777 != FILE_MODE {
            file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
        }
    }
    Ok(file)
}

/// Creates the folder `dir` (and missing parents) if it does not exist, [`DIR_MODE`] whatever
/// the umask. An existing folder is left as it is.
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))?;
    }
    Ok(())
}

/// Makes an existing file ([`FILE_MODE`]) or folder ([`DIR_MODE`]) readable by its owner only;
/// `true` if its mode let others in and was changed. Symbolic links and missing paths are left
/// alone.
pub(crate) fn make_private(path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(err) => return Err(err),
        };
        let want = if meta.is_dir() {
            DIR_MODE
        } else if meta.is_file() {
            FILE_MODE
        } else {
            return Ok(false);
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            return Ok(false);
        }
        fs::set_permissions(path, fs::Permissions::from_mode(want))?;
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(false)
    }
}

/// The name of a data folder's lock file.
pub(crate) const LOCK_FILE: &str = "engine.lock";

/// How long a held lock whose holder has not written its id is tried again (1 second).
pub(crate) const RELEASE_WAIT: Duration = Duration::from_secs(1);

/// An exclusive lock on a data folder, held by the operating system for as long as this value
/// lives (and released when its process ends, however it ends), with the holder's process id
/// written in the lock file for whoever is refused.
#[derive(Debug)]
pub(crate) struct FolderLock {
    file: File,
}

/// Why a data folder could not be locked.
#[derive(Debug)]
pub(crate) enum LockError {
    /// Another open store holds it, in the process of this id if known.
    Held(Option<u32>),
    /// The lock file could not be made or locked.
    Io(io::Error),
}

impl FolderLock {
    /// Takes the lock of the folder `dir`, or says who holds it.
    ///
    /// A lock whose holder has written its id is refused at once. One with no id written is
    /// tried again for up to [`RELEASE_WAIT`]: it is being taken, or was just released while a
    /// child process being started still shared the lock's handle (until it runs its program).
    pub(crate) fn take(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let mut file = open_private(
            OpenOptions::new().read(true).write(true).create(true),
            &path,
        )
        .map_err(LockError::Io)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) => {
                    let holder = holder(&path);
                    if holder.is_some() || start.elapsed() >= RELEASE_WAIT {
                        return Err(LockError::Held(holder));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(fs::TryLockError::Error(err)) => return Err(LockError::Io(err)),
            }
        }
        file.set_len(0).map_err(LockError::Io)?;
        file.write_all(format!("{}\n", std::process::id()).as_bytes())
            .map_err(LockError::Io)?;
        Ok(Self { file })
    }
}

/// The process id written in a held lock file, if it is there yet.
fn holder(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // Still locked here: nobody else can be writing their id yet.
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("spoor-files-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_atomic_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = temp("atomic");
        let path = dir.join("credentials.json");
        fs::write(&path, "old").unwrap();
        // What a crash during an earlier write could have left.
        fs::write(dir.join("credentials.json.tmp"), "half").unwrap();
        write_atomic(&path, b"new contents").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new contents");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["credentials.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, FILE_MODE);
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_atomic_write_names_the_file_and_keeps_the_old_one() {
        let dir = temp("atomic-fail");
        let path = dir.join("catalog.json");
        fs::write(&path, "old").unwrap();
        // A folder in the temporary file's place makes the write fail.
        fs::create_dir(dir.join("catalog.json.tmp")).unwrap();
        let err = write_atomic(&path, b"new").unwrap_err();
        assert!(err.to_string().contains("catalog.json"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lock_is_exclusive_names_its_holder_and_is_released_on_drop() {
        let dir = temp("lock");
        let lock = FolderLock::take(&dir).unwrap();
        match FolderLock::take(&dir) {
            Err(LockError::Held(holder)) => assert_eq!(holder, Some(std::process::id())),
            other => panic!("locked twice: {other:?}"),
        }
        drop(lock);
        assert_eq!(fs::read(dir.join(LOCK_FILE)).unwrap(), b"");
        let again = FolderLock::take(&dir).unwrap();
        drop(again);
        fs::remove_dir_all(&dir).unwrap();
    }
}
