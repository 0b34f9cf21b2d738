//! How mamori's calls are retried, and whose retry state a call draws on.
//!
//! **The mode.** Every client retries with the SDK's `standard` mode, five attempts at most, with the
//! SDK's exponential backoff (full jitter, base 1 s, capped at 20 s)
//! (<https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>). The `adaptive`
//! mode adds a client-side rate limiter that halves the send rate at every throttling answer and
//! grows it back slowly (CUBIC): right when one API is throttled on its own, and ruinous when
//! throttling is not about the rate at all. Measured behind the fault proxy with a fifth of requests
//! throttled at random, a standard-baseline `apply` took minutes in `adaptive` mode and seconds in
//! `standard` mode, with the same convergence (the figures and the comparison that produced them:
//! README, "Under faults"; `faults::retry_modes_under_a_fifth_of_requests_throttled`).
//!
//! **Whose state.** The SDK keeps a retry quota (a token bucket every retry draws from) and, in
//! `adaptive` mode, the rate limiter, per *retry partition*; a client configured with no partition
//! uses a default one named after its service and region (`kms-us-east-1`), and the SDK keeps those in
//! a process-wide map (`aws-smithy-runtime`, `client/retries/strategy/standard.rs`, `static
//! TOKEN_BUCKET` and `static CLIENT_RATE_LIMITER`): every client of that service and region in the
//! process shares them, whatever its credentials. In a run over an organization that would couple the
//! accounts: one account's throttled KMS would drain the retry quota, and slow the send rate, of every
//! other account's KMS calls in the region. Each [`RetryPartitions`] therefore owns the partitions of
//! one connection ([`super::Aws`], one per account), one per service and region, each with its own
//! quota and limiter, and drops them with the connection.
//!
//! This module never classifies errors: which answers are retried is the SDK's business (its own lists
//! of throttling and transient codes), and the AWS calls that need more than that are in
//! [`super::propagation`] and [`super::non_idempotent`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
// Every SDK crate re-exports the same type from `aws-smithy-runtime`.
use aws_sdk_sts::config::retry::RetryPartition;

/// The retry mode and attempts every client gets unless the connection is told otherwise.
pub fn default_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(5)
}

/// The retry partitions of one connection, by service and region.
#[derive(Clone, Debug, Default)]
pub struct RetryPartitions {
    partitions: Arc<Mutex<HashMap<(&'static str, String), RetryPartition>>>,
}

impl RetryPartitions {
    /// The partition of `service` (the SDK's partition prefix: `kms`, `ec2`, ...) in `region`: the same
    /// for every client of this connection, shared with no other connection.
    pub fn of(&self, service: &'static str, region: &str) -> RetryPartition {
        let mut partitions = self.partitions.lock().expect("retry partitions poisoned");
        partitions.entry((service, region.to_string())).or_insert_with(|| RetryPartition::custom(format!("{service}-{region}")).build()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::RetryPartitions;

    #[test]
    fn a_connection_shares_its_partitions_with_no_other() {
        let (one, other) = (RetryPartitions::default(), RetryPartitions::default());
        let partition = one.of("kms", "us-east-1");
        assert_eq!(partition.to_string(), "kms-us-east-1");
        assert_eq!(one.partitions.lock().unwrap().len(), 1);
        one.of("kms", "us-east-1");
        assert_eq!(one.partitions.lock().unwrap().len(), 1, "the same partition for every client of the connection");
        one.of("kms", "eu-west-1");
        assert_eq!(one.partitions.lock().unwrap().len(), 2, "one per region");
        assert!(other.partitions.lock().unwrap().is_empty(), "another connection has its own");
    }
}
