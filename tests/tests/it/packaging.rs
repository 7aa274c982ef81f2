//! What the published crates' packages hold: each crate's tests read only files inside the
//! crate, so spoor-splunk's tests serve copies of spoor-proto's recorded Splunk bodies. Here,
//! each copy is checked to be byte for byte the body it copies. And each crate's documentation
//! is its README, whose links into the API work both on docs.rs and in a local build.

use std::path::Path;

#[test]
fn spoor_splunks_fixtures_are_spoor_protos() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let copies = crates.join("spoor-splunk/tests/fixtures");
    let originals = crates.join("spoor-proto/tests/fixtures");
    let mut checked = 0;
    for entry in std::fs::read_dir(&copies).expect("spoor-splunk's fixtures") {
        let name = entry.expect("a fixture").file_name();
        if name == "README.md" {
            continue;
        }
        let copy = std::fs::read(copies.join(&name)).expect("the copy reads");
        let original = std::fs::read(originals.join(&name)).unwrap_or_else(|err| {
            panic!("spoor-splunk's fixture {name:?} copies no body of spoor-proto's: {err}")
        });
        assert!(
            copy == original,
            "spoor-splunk's fixture {name:?} differs from spoor-proto's: copy it again"
        );
        checked += 1;
    }
    assert!(checked > 0, "spoor-splunk's tests serve recorded bodies");
}

/// The crates published to crates.io.
const PUBLISHED: [&str; 6] = [
    "spoor-event",
    "spoor-spl",
    "spoor-proto",
    "spoor-splunk",
    "spoor-engine",
    "spoor",
];

/// The link reference definitions (`[label]: destination`) among these lines, in order.
fn definitions<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<(&'a str, &'a str)> {
    lines
        .filter_map(|line| {
            let (label, destination) = line.strip_prefix('[')?.split_once("]: ")?;
            (!destination.contains(' ')).then_some((label, destination))
        })
        .collect()
}

/// Each published crate's documentation is its README (`#![doc = include_str!("../README.md")]`).
/// The README links the API through reference definitions that point to docs.rs, so that its
/// links work on crates.io; `lib.rs` defines the same labels as intra-doc links before the
/// README (the first definition of a label wins), and nothing else, so that in rustdoc the links
/// stay in the documentation built with them and are checked. A label the README points at
/// docs.rs's API pages without one in `lib.rs` would silently leave it. (Links to a package's
/// files, `https://docs.rs/crate/…/source/…`, have no intra-doc form.)
#[test]
fn each_published_crates_documentation_is_its_readme() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    for name in PUBLISHED {
        let lib = std::fs::read_to_string(crates.join(name).join("src/lib.rs")).expect("lib.rs");
        let readme = std::fs::read_to_string(crates.join(name).join("README.md")).expect("README");
        assert!(
            lib.contains("\n#![doc = include_str!(\"../README.md\")]\n"),
            "{name}'s crate documentation should be its README"
        );
        let inner: Vec<&str> = lib
            .lines()
            .filter_map(|line| line.strip_prefix("//!"))
            .map(str::trim_start)
            .collect();
        let intra = definitions(inner.iter().copied());
        assert_eq!(
            intra.len(),
            inner.len(),
            "{name}'s lib.rs should hold only the intra-doc definitions of the README's links"
        );
        let mut readme_labels: Vec<&str> = definitions(readme.lines())
            .into_iter()
            .filter(|(_, destination)| {
                destination.starts_with("https://docs.rs/")
                    && !destination.starts_with("https://docs.rs/crate/")
            })
            .map(|(label, _)| label)
            .collect();
        let mut intra_labels: Vec<&str> = intra.iter().map(|(label, _)| *label).collect();
        readme_labels.sort_unstable();
        intra_labels.sort_unstable();
        assert_eq!(
            intra_labels, readme_labels,
            "{name}: lib.rs should define, as intra-doc links, the labels the README links to docs.rs"
        );
    }
}
