//! The integration tests of spoor-spl, one binary with a module per subject.

mod commands;
mod golden;
mod modifier;
mod props;
mod strategies;
