//! Encode and decode spoor's analytics events exactly as spoor stores them in Splunk.

pub mod field;
mod key;

pub use key::{Key, KeyError, clean_key};
