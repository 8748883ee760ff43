//! What the log's and the witness's HTTP servers share.

pub mod logfmt;
