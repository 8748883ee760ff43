//! What the documentation ships, checked against the real binary: the systemd units of
//! `docs/systemd/` that `docs/operations.md` installs, its log restore procedure, and README.md's
//! first deployment, run as written.

mod restore;
mod systemd;
mod walkthrough;
