//! The integration tests of spoor-spl, one binary with a module per subject.

mod golden;
mod modifier;
mod props;
mod strategies;
