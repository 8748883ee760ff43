//! What the documentation ships for operators, checked against the real binary: the systemd units
//! of `docs/systemd/` that `docs/operations.md` installs, and its log restore procedure.

mod restore;
mod systemd;
