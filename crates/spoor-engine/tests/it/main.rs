//! spoor-engine's integration tests: the store's durability through crashes and damage, and the
//! evaluator checked against hand-written results and, on random data and queries, against a
//! plain reference evaluator; the Splunk-compatible server driven by `spoor-splunk`'s two
//! drivers, fuzzed, and under load.

mod binary;
mod crash;
mod damage;
mod differential;
mod golden;
mod parallel;
mod recovery;
mod reference;
mod segments;
mod server;
mod server_fuzz;
mod server_load;
mod server_support;
mod support;
