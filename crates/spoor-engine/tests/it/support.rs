//! Test helpers.

use std::fs;
use std::path::Path;
use std::process::Command;

pub(crate) use spoor_testkit::TempDir;

/// A small deterministic generator.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// The `spoor-engine` binary as a command, without the `SPOOR_ENGINE_*` credentials of the
/// test's environment (so it makes and keeps its own); `prelude` is shell run first in the
/// process it becomes (`umask 000`, `ulimit -v …`), or empty for none.
pub(crate) fn engine_binary(prelude: &str) -> Command {
    let binary = env!("CARGO_BIN_EXE_spoor-engine");
    let mut command = if prelude.is_empty() {
        Command::new(binary)
    } else {
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            .arg(format!("{prelude} && exec \"$0\" \"$@\""))
            .arg(binary);
        shell
    };
    command
        .env_remove("SPOOR_ENGINE_PASSWORD")
        .env_remove("SPOOR_ENGINE_HEC_TOKEN")
        .env_remove("SPOOR_ENGINE_TOKEN");
    command
}

/// Copies the folder `from` into `to` (made if needed), with its subfolders.
pub(crate) fn copy_folder(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("creates");
    for entry in fs::read_dir(from).expect("reads") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copies");
        }
    }
}
