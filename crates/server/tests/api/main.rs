//! The API test suite: the real server, in-process on a random port, spoken to over HTTPS and
//! WSS as a client would. One binary, one module per resource or concern.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    clippy::print_stdout,
    reason = "test code: a failed step should stop the test loudly"
)]

mod accounts;
mod at_rest;
mod audit;
mod consent;
mod conversations;
mod deletion;
mod erasure;
mod health;
mod helpers;
mod hostile;
mod mail;
mod messages;
mod openapi;
mod passkeys;
mod pii;
mod postgres;
mod privacy;
mod security;
mod sessions;
mod sso;
mod stream;
mod takeover;
