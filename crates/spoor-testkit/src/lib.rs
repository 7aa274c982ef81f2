//! Test support shared by spoor's crates (a dev-dependency only): the settings their property
//! tests run with, the hostile HTTP clients ([`hostile`]) their servers' robustness tests
//! send, a real browser ([`browser`]) for the tests of what runs in one, and programs
//! from outside Rust run to their end or a time limit ([`process`]), and temporary folders
//! ([`TempDir`]).
//!
//! Out of scope: anything a crate's own tests alone need; strategies stay with the tests that
//! know their domain.
//!
//! proptest is a form of fuzzing: a pass proves nothing, a failure is a real bug. Failing cases
//! are saved under each crate's `proptest-regressions/`; commit them.

use proptest::test_runner::Config;

pub mod browser;
pub mod hostile;
pub mod process;
mod temp;

pub use temp::TempDir;

/// The property-test settings: proptest's defaults (so `PROPTEST_CASES` sets the number of
/// cases), with shrinking turned off on CI, where it only costs time; on a developer's machine
/// it gives a small, clear failing case.
///
/// ```
/// let config = spoor_testkit::proptest_config();
/// assert!(config.cases > 0);
/// ```
pub fn proptest_config() -> Config {
    let defaults = Config::default();
    Config {
        max_shrink_iters: if std::env::var_os("CI").is_some() {
            0
        } else {
            defaults.max_shrink_iters
        },
        ..defaults
    }
}

/// [`proptest_config`] with `cases` cases, unless `PROPTEST_CASES` asks for another number
/// (for a long run by hand).
///
/// ```
/// let config = spoor_testkit::proptest_config_with_cases(32);
/// assert!(config.cases > 0);
/// ```
pub fn proptest_config_with_cases(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        ..proptest_config()
    }
}
