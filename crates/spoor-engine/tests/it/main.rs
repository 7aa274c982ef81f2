//! spoor-engine's integration tests: the store's durability through crashes and damage, and the
//! evaluator checked against hand-written results and, on random data and queries, against a
//! plain reference evaluator.

mod crash;
mod differential;
mod golden;
mod parallel;
mod recovery;
mod reference;
mod support;
