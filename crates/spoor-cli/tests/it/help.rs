//! `--help` of `spoor` and of each subcommand, compared with the committed text under
//! `tests/it/snapshots/`; `SPOOR_UPDATE_SNAPSHOTS=1` writes them anew.

use std::path::Path;

use crate::support::{TempDir, run, spoor, stderr, stdout};

const COMMANDS: &[&[&str]] = &[
    &[],
    &["track"],
    &["import"],
    &["query"],
    &["ask"],
    &["ask", "applications"],
    &["ask", "events"],
    &["ask", "properties"],
    &["ask", "values"],
    &["ask", "over-time"],
    &["export"],
];

#[test]
fn help_matches_the_snapshots() {
    let home = TempDir::new("help");
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let update = std::env::var_os("SPOOR_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for command in COMMANDS {
        let mut c = spoor(home.path());
        c.args(*command).arg("--help");
        let out = run(c);
        assert!(out.status.success(), "{command:?}: {}", stderr(&out));
        let text = stdout(&out);
        let name = if command.is_empty() {
            "spoor".to_owned()
        } else {
            format!("spoor-{}", command.join("-"))
        };
        let path = folder.join(format!("{name}.txt"));
        if update {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "--help changed for {stale:?}; check it and run with SPOOR_UPDATE_SNAPSHOTS=1 to keep it"
    );
}

#[test]
fn a_mistyped_flag_gets_a_suggestion_and_exit_code_2() {
    let home = TempDir::new("typo");
    let mut c = spoor(home.path());
    c.args(["import", "--stric", "x.log"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("tip: a similar argument exists: '--strict'"),
        "{}",
        stderr(&out)
    );
}
