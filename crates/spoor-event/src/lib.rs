// The crate's documentation is its README. The README's API links point to docs.rs, so that
// they work where it is read alone (crates.io, a repository); the definitions below come first,
// and in Markdown the first definition of a label wins, so here they are intra-doc links.
//! [`Event`]: crate::Event
//! [`Event::decode_line`]: crate::Event::decode_line
//! [`Event::encode_hec`]: crate::Event::encode_hec
//! [`Event::encode_line`]: crate::Event::encode_line
//! [`extract`]: crate::extract
//! [`extract::Extractor`]: crate::extract::Extractor
//! [`Key`]: crate::Key
//! [`props`]: crate::props
//! [`props::stanza`]: crate::props::stanza
//! [`Value`]: crate::Value
#![doc = include_str!("../README.md")]

mod decode;
mod encode;
mod event;
pub mod extract;
pub mod field;
#[cfg(feature = "json")]
pub mod json;
mod key;
pub mod props;
pub mod timestamp;
mod value;

pub use decode::{DecodeError, DecodeErrorKind};
pub use encode::{HecMeta, MAX_LINE_BYTES, encode_lines};
pub use event::{Event, EventBuilder, EventError};
pub use key::{Key, KeyError, clean_key};
pub use value::Value;
