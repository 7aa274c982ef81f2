//! The layering of ARCHITECTURE.md, checked against the real manifests: the pure crates depend
//! on nothing that can do I/O, and no crate depends on a crate above it.

use std::collections::BTreeSet;
use std::process::Command;

/// Each pure crate and every crate it may depend on (normal dependencies).
const PURE: &[(&str, &[&str])] = &[
    ("spoor-event", &["serde", "serde_json", "time"]),
    ("spoor-spl", &["spoor-event", "time"]),
    (
        "spoor-proto",
        &["http", "quick-xml", "serde", "serde_json", "time"],
    ),
];

/// The normal dependencies of each workspace member, from `cargo metadata`.
fn dependencies() -> Vec<(String, BTreeSet<String>)> {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .args(["--manifest-path", manifest])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| {
            let deps = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|dep| dep["kind"].is_null())
                .map(|dep| dep["name"].as_str().expect("name").to_owned())
                .collect();
            (package["name"].as_str().expect("name").to_owned(), deps)
        })
        .collect()
}

#[test]
fn pure_crates_depend_only_on_what_the_design_allows() {
    let members = dependencies();
    for (name, allowed) in PURE {
        let Some((_, deps)) = members.iter().find(|(member, _)| member == name) else {
            panic!("{name} is not a workspace member");
        };
        let extra: Vec<_> = deps
            .iter()
            .filter(|d| !allowed.contains(&d.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "{name} is pure (no I/O) but depends on {extra:?}; ARCHITECTURE.md allows only {allowed:?}"
        );
    }
}

#[test]
fn no_crate_depends_on_a_crate_above_it() {
    // Bottom to top; a crate may depend only on crates earlier in this list.
    const ORDER: &[&str] = &[
        "spoor-testkit",
        "spoor-event",
        "spoor-spl",
        "spoor-proto",
        "spoor-splunk",
        "spoor-engine",
        "spoor",
        "spoor-cli",
        "spoor-dashboard",
        "spoor-examples",
        "spoor-tests",
    ];
    for (name, deps) in dependencies() {
        let rank = ORDER
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("{name} is missing from the layer order of this test"));
        for dep in deps.iter().filter(|d| d.starts_with("spoor")) {
            let dep_rank = ORDER.iter().position(|n| n == dep).expect("known crate");
            assert!(
                dep_rank < rank,
                "{name} depends on {dep}, which is not below it"
            );
        }
    }
}
