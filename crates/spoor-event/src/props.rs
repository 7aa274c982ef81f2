//! The `props.conf` settings of spoor's sourcetype.
//!
//! Splunk reads spoor's lines correctly only with these settings on the sourcetype the events
//! are sent with: the tracker creates the stanza over REST (`configs/conf-props`); whoever ships
//! spoor lines in a file through a forwarder puts [`stanza`]'s text in `props.conf`.

use crate::encode::MAX_LINE_BYTES;

/// `TRUNCATE`, as text: [`MAX_LINE_BYTES`].
const TRUNCATE: &str = "262144";
const _: () = assert!(
    MAX_LINE_BYTES == 262_144,
    "TRUNCATE must equal MAX_LINE_BYTES"
);

/// The settings, in the order they are written.
///
/// | setting | value | why |
/// |---|---|---|
/// | `SHOULD_LINEMERGE` | `false` | one line is one event |
/// | `LINE_BREAKER` | `([\r\n]+)` | events are newline-joined; values never hold a raw line break |
/// | `TRUNCATE` | `262144` | keep whole events up to [`MAX_LINE_BYTES`] (Splunk's default cuts at 10,000) |
/// | `TIME_PREFIX` | `^` | the timestamp starts the line |
/// | `TIME_FORMAT` | `%Y-%m-%dT%H:%M:%S.%6NZ` | RFC 3339 with microseconds |
/// | `TZ` | `UTC` | the `Z` |
/// | `MAX_TIMESTAMP_LOOKAHEAD` | `27` | the timestamp's length |
/// | `KV_MODE` | `auto_escaped` | read `\"` and `\\` inside values |
/// | `KV_TRIM_SPACES` | `false` | keep spaces around values |
/// | `CHARSET` | `UTF-8` | |
///
/// ```
/// use spoor_event::props::SETTINGS;
///
/// assert!(SETTINGS.contains(&("KV_MODE", "auto_escaped")));
/// ```
pub const SETTINGS: &[(&str, &str)] = &[
    ("SHOULD_LINEMERGE", "false"),
    ("LINE_BREAKER", r"([\r\n]+)"),
    ("TRUNCATE", TRUNCATE),
    ("TIME_PREFIX", "^"),
    ("TIME_FORMAT", "%Y-%m-%dT%H:%M:%S.%6NZ"),
    ("TZ", "UTC"),
    ("MAX_TIMESTAMP_LOOKAHEAD", "27"),
    ("KV_MODE", "auto_escaped"),
    ("KV_TRIM_SPACES", "false"),
    ("CHARSET", "UTF-8"),
];

/// The `props.conf` stanza for `sourcetype`, as text.
///
/// ```
/// let text = spoor_event::props::stanza("spoor");
/// assert!(text.starts_with("[spoor]\nSHOULD_LINEMERGE = false\n"));
/// assert!(text.ends_with("CHARSET = UTF-8\n"));
/// ```
pub fn stanza(sourcetype: &str) -> String {
    let mut text = format!("[{sourcetype}]\n");
    for (key, value) in SETTINGS {
        text.push_str(key);
        text.push_str(" = ");
        text.push_str(value);
        text.push('\n');
    }
    text
}
