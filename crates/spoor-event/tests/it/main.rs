//! spoor-event's integration tests: properties over arbitrary events, and recorded lines.
//!
//! proptest is a form of fuzzing: a pass is not proof, but a failure is a real bug. A failing
//! case is saved under `proptest-regressions/` (commit it) and should also become a named test.

mod fixtures;
mod roundtrip;
mod strategies;
