//! spoor-engine's integration tests: the store's durability through crashes and damage, and
//! its data folder's rules (one process at a time, owner-only files, a catalog that cannot be
//! lost silently); the evaluator checked against hand-written results and, on random data and
//! queries, against a plain reference evaluator; the Splunk-compatible server driven by
//! `spoor-splunk`'s two drivers, fuzzed, under load, within its memory for search results, and
//! refusing HEC clients' mistakes with 4xx; the bounds every search is held to; and retention.

mod binary;
mod bounds;
mod crash;
mod damage;
mod differential;
mod folder;
mod golden;
mod hostile;
mod parallel;
mod recovery;
mod reference;
mod retention;
mod sealed;
mod segments;
mod server;
mod server_fuzz;
mod server_hec;
mod server_load;
mod server_memory;
mod server_support;
mod siege;
mod sparse;
mod support;
