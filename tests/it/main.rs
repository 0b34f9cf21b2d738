//! End-to-end tests against a real AWS emulator on loopback, started once for this test binary.
//!
//! `MAMORI_TEST_ENGINE` picks the emulator: `moto` (default) or `localstack`. Every test works in an
//! account of its own, so tests run in parallel without resetting the emulator.

mod baseline_errors;
mod cli;
mod crash;
mod controls;
mod ec2_ssm;
mod enforcement;
mod exceptions;
mod faults;
mod guard;
mod harness;
mod hostile;
mod https;
mod iam_hygiene;
mod interrupt;
mod least_privilege;
mod logs;
mod logs_alarms;
mod logs_shims;
mod logs_trail;
mod organization;
mod organization_layout;
mod propagation;
mod regions;
mod reports;
mod root;
mod s3_rules;
mod security_hub;
mod vpc;
mod vpc_egress;
mod vpc_emulator_rules;
mod vpc_nacl;
