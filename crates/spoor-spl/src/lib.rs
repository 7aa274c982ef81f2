//! The SPL subset spoor speaks.
