//! Installing rget: `rget-bootstrap` end to end, and `rget self verify | upgrade | rollback`.

mod bootstrap;
mod rget_self;
