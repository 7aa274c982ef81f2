//! The indexes the dashboard uses: the one it reads (`--index`), and the one its own page views
//! go to (`--meta-index`), kept apart so that they are never listed among the applications it
//! shows. Both names are checked at start by Splunk's rule for the indexes one may create.

use std::fmt;

use spoor::Tracker;
use spoor_proto::Config;

use crate::META_APPLICATION;

/// The index the dashboard's own page views go to unless told otherwise.
pub const DEFAULT_META_INDEX: &str = "spoor_meta";

/// A name Splunk does not let one create as an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadIndexName {
    /// The name given.
    pub name: String,
}

impl fmt::Display for BadIndexName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an index name Splunk takes: use lower-case letters, digits, `_` and `-`, \
             not starting with `_` or `-` (and without the word `kvstore`)",
            self.name
        )
    }
}

impl std::error::Error for BadIndexName {}

/// Checks an index name by Splunk's rule for the indexes one may create: lower-case ASCII
/// letters, digits, `_` and `-`, not starting with `_` or `-`, without `kvstore`. Made to be a
/// command-line flag's value parser.
///
/// ```
/// use spoor_dashboard::index_name;
///
/// assert_eq!(index_name("sample_analytics")?, "sample_analytics");
/// for bad in ["", "Spoor", "_internal", "-x", "my index", "kvstore2"] {
///     assert!(index_name(bad).is_err(), "{bad}");
/// }
/// # Ok::<(), spoor_dashboard::BadIndexName>(())
/// ```
///
/// # Errors
///
/// [`BadIndexName`] for any other name.
pub fn index_name(name: &str) -> Result<String, BadIndexName> {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
    let ok = !name.is_empty()
        && !name.starts_with(['_', '-'])
        && name.bytes().all(allowed)
        && !name.contains("kvstore");
    if ok {
        Ok(name.to_owned())
    } else {
        Err(BadIndexName {
            name: name.to_owned(),
        })
    }
}

/// The tracker of the dashboard's own page views (application [`META_APPLICATION`]), logging
/// to `index` (by default [`DEFAULT_META_INDEX`], never the index the dashboard reads). Call
/// [`Tracker::setup`] once to create the index.
///
/// # Errors
///
/// As [`spoor::TrackerBuilder::build`].
pub fn meta_tracker(config: &Config, index: &str) -> Result<Tracker, spoor::Error> {
    Tracker::builder(config, META_APPLICATION)
        .index(index)
        .build()
}
