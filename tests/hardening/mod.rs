//! The attacks of the hardening review, each class refused by the real binary against hostile
//! loopback servers: replayed releases and respelled URLs (`replay`), output names, special
//! destinations and interrupted downloads (`paths`), the state directory, forks that also fail other
//! checks, the overall deadline and escaped messages (`state`), key and password files others can
//! change (`secrets`).

mod paths;
mod replay;
mod secrets;
mod state;
