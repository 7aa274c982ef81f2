//! Splunk's REST and HEC wire formats as pure code.
