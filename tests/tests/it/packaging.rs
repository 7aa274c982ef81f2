//! What the published crates' packages hold: each crate's tests read only files inside the
//! crate, so spoor-splunk's tests serve copies of spoor-proto's recorded Splunk bodies. Here,
//! each copy is checked to be byte for byte the body it copies.

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
