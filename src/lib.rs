//! mamori reconciles an AWS account to a declarative secure baseline: `plan`, `apply`, `verify`.
//!
//! The crate is layered: [`baseline`] loads and validates what the account should be (no AWS call),
//! [`aws`] builds every SDK client and guards read-only runs, [`controls`] hold one reconciler each (at
//! the path its id names), [`inventory`] holds the account reads several controls share,
//! [`engine`] observes, diffs, orders and applies them, [`fleet`] runs the engine over the accounts of
//! an organization, and [`report`] renders the result, which [`security_hub`] can send to AWS Security
//! Hub. [`least_privilege`] declares the IAM actions
//! each control calls and derives the policy a run needs. [`policy`] compares, merges and evaluates IAM
//! policy documents; [`service_access`] is the table of the requests AWS services make on the keys and
//! buckets the baseline writes. [`cli`] is
//! the command line on top, and [`app`] the single entry point both the binary and the tests call.

pub mod app;
pub mod aws;
pub mod baseline;
pub mod cli;
pub mod controls;
pub mod inventory;
pub mod engine;
pub mod fleet;
pub mod least_privilege;
pub mod policy;
pub mod redact;
pub mod report;
pub mod security_hub;
pub mod service_access;
