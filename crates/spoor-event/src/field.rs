//! The names of the Splunk fields an event is stored under.
//!
//! ```
//! use spoor_event::{Key, field};
//!
//! assert_eq!(field::APPLICATION, "application");
//! assert_eq!(Key::new("plan")?.field_name(), format!("{}plan", field::PROPERTY_PREFIX));
//! # Ok::<(), spoor_event::KeyError>(())
//! ```

/// The field that holds the application's name.
pub const APPLICATION: &str = "application";
/// The field that holds the event's name (`login`, `purchase`, …).
pub const EVENT: &str = "event";
/// The field that holds the optional id of the user the event belongs to.
pub const DISTINCT_ID: &str = "distinct_id";
/// The prefix of every property's field: property `plan` is stored as `analytics_prop__plan`.
pub const PROPERTY_PREFIX: &str = "analytics_prop__";
