//! spoor-engine's integration tests: the store's durability, through crashes and damage.

mod crash;
mod recovery;
mod support;
