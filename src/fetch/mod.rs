//! The HTTPS client (feature `fetch`). (being written)
