//! What the documentation ships, checked against the real binary: the systemd units of
//! `docs/systemd/` that `docs/operations.md` installs, its log restore procedure, README.md's
//! first deployment, run as written, and the examples of every `--help` text.

mod examples;
mod help_examples;
mod restore;
mod shell;
mod systemd;
mod walkthrough;
mod world;
