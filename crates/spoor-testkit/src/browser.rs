//! A real browser for the tests that need one: Debian's chromium, driven by npm's
//! `playwright-core` (pinned in `tests/browser/package-lock.json`) from a script under
//! `tests/browser/`.
//!
//! The tools come from the environment, as `.ci/run` sets it:
//!
//! - `SPOOR_CHROMIUM`: the browser (Debian's `chromium`; `/usr/bin/chromium` when unset and
//!   present);
//! - `SPOOR_BROWSER_DIR`: a folder whose `node_modules` has `playwright-core` (`npm ci` run in
//!   `tests/browser`, the default when unset and installed); `node` is found on `PATH`, or at
//!   `SPOOR_NODE`.
//!
//! When one is missing, [`Browser::find`] fails the test under CI (`CI` set: a browser proof
//! must not pass by being skipped) and otherwise says how to set it up and gives `None`.

use std::path::{Path, PathBuf};
use std::process::Command;

const SETUP: &str = "  apt-get install -y chromium\n  (cd tests/browser && npm ci --no-audit --no-fund)\n  export SPOOR_CHROMIUM=/usr/bin/chromium SPOOR_BROWSER_DIR=\"$PWD/tests/browser\"";

/// The repository's root folder.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The browser and the `playwright-core` that drives it.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The chromium binary.
    pub chromium: PathBuf,
    /// The folder whose `node_modules` has `playwright-core`.
    pub modules: PathBuf,
}

impl Browser {
    /// The tools, or `None` after saying how to set them up (outside CI).
    ///
    /// # Panics
    ///
    /// Under CI, when a tool is missing.
    #[allow(
        clippy::print_stderr,
        reason = "a skipped test tells the developer how to run it"
    )]
    pub fn find() -> Option<Self> {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let chromium = var("SPOOR_CHROMIUM").or_else(|| {
            let debian = PathBuf::from("/usr/bin/chromium");
            debian.exists().then_some(debian)
        });
        let modules = var("SPOOR_BROWSER_DIR").or_else(|| {
            let dir = repository().join("tests/browser");
            dir.join("node_modules/playwright-core")
                .exists()
                .then_some(dir)
        });
        let missing: Vec<&str> = [
            chromium
                .as_deref()
                .is_none_or(|p| !p.exists())
                .then_some("chromium (SPOOR_CHROMIUM)"),
            modules
                .as_deref()
                .is_none_or(|d| !d.join("node_modules/playwright-core").exists())
                .then_some("playwright-core (SPOOR_BROWSER_DIR)"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let (true, Some(chromium), Some(modules)) = (missing.is_empty(), chromium, modules) {
            return Some(Self { chromium, modules });
        }
        let message = format!(
            "{} missing, so this browser test cannot run. Set it up from the repository's root with:\n{SETUP}\n(`.ci/run` does this and runs the tests.)",
            missing.join(" and ")
        );
        assert!(
            !std::env::var("CI").is_ok_and(|v| !v.is_empty()),
            "CI is set but {message}"
        );
        eprintln!("skipped: {message}");
        None
    }

    /// `node` running `tests/browser/{script}` with `playwright-core` found and
    /// `SPOOR_CHROMIUM` set; add the script's own environment, then
    /// [`run`](crate::process::run) it.
    pub fn script(&self, script: &str) -> Command {
        let node = std::env::var("SPOOR_NODE").unwrap_or_else(|_| "node".to_owned());
        let mut command = Command::new(node);
        command
            .arg(repository().join("tests/browser").join(script))
            .env("NODE_PATH", self.modules.join("node_modules"))
            .env("SPOOR_CHROMIUM", &self.chromium);
        command
    }
}
