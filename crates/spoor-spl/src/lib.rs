// The crate's documentation is its README. The README's API links point to docs.rs, so that
// they work where it is read alone (crates.io, a repository); the definitions below come first,
// and in Markdown the first definition of a label wins, so here they are intra-doc links.
//! [`ast`]: crate::ast
//! [`ast::Expr`]: crate::ast::Expr
//! [`build`]: crate::build
//! [`modifier`]: crate::modifier
//! [`parse`]: mod@crate::parse
//! [`print`]: mod@crate::print
//! [`TimeWindow`]: crate::TimeWindow
#![doc = include_str!("../README.md")]

pub mod ast;
pub mod build;
pub mod filter;
pub mod modifier;
pub mod parse;
pub mod print;

pub use ast::{Command, FieldError, Query};
pub use build::WindowedQuery;
pub use modifier::{TimeError, TimeModifier, TimeWindow};
pub use parse::{ParseError, parse};
