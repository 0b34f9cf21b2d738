//! Client tokens: what makes a create that AWS offers idempotency for safe to send twice.
//!
//! EC2 (and other services) take a `ClientToken` on their creates so that a retry of a request whose
//! answer was lost creates nothing new: "If you repeat a request that has already completed
//! successfully using the same client token and the same parameters, the retry succeeds without
//! performing any further actions" ("Ensuring idempotency in Amazon EC2 API requests",
//! <https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html>). The SDK resends the
//! same input on each of its retries, so one token per intent covers its retries; mamori also derives
//! the token from the intent (`CreateVpcEndpoint`, the VPC, the service) so that any second attempt at
//! the same create within the run carries the same token.
//!
//! The token is also derived from the run: a later run (after someone deleted the endpoint, say) sends
//! a new token and creates anew, instead of being answered, within EC2's idempotency window, the
//! endpoint that no longer exists. A run interrupted after its create relies on the next run's
//! observation to find the endpoint instead. Tokens are at most 64 ASCII characters, as EC2 requires,
//! and carry nothing secret.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// The run's part of every client token.
#[derive(Clone, Copy, Debug)]
pub struct ClientTokens {
    run: u64,
}

impl ClientTokens {
    /// Tokens of a new run: the time and the process make the run's part unique.
    pub fn new() -> ClientTokens {
        let mut hasher = DefaultHasher::new();
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default().hash(&mut hasher);
        std::process::id().hash(&mut hasher);
        ClientTokens { run: hasher.finish() }
    }

    /// The token of one intent (`["ec2:CreateVpcEndpoint", region, vpc_id, service]`): the same
    /// intent in the same run always gets the same token, another intent another token.
    pub fn for_intent(&self, intent: &[&str]) -> String {
        let mut hasher = DefaultHasher::new();
        self.run.hash(&mut hasher);
        intent.hash(&mut hasher);
        format!("mamori-{:016x}-{:016x}", self.run, hasher.finish())
    }
}

impl Default for ClientTokens {
    fn default() -> ClientTokens {
        ClientTokens::new()
    }
}

#[cfg(test)]
mod tests {
    use super::ClientTokens;

    #[test]
    fn one_intent_one_token_within_a_run_and_a_new_one_in_the_next_run() {
        let run = ClientTokens::new();
        let endpoint = ["ec2:CreateVpcEndpoint", "us-east-1", "vpc-1", "com.amazonaws.us-east-1.ssm"];
        let token = run.for_intent(&endpoint);
        assert_eq!(run.for_intent(&endpoint), token);
        assert_ne!(run.for_intent(&["ec2:CreateVpcEndpoint", "us-east-1", "vpc-1", "com.amazonaws.us-east-1.kms"]), token);
        assert_ne!(run.for_intent(&["ec2:CreateVpcEndpoint", "us-east-1", "vpc-2", "com.amazonaws.us-east-1.ssm"]), token);
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert_ne!(ClientTokens::new().for_intent(&endpoint), token);
        assert!(token.len() <= 64 && token.is_ascii(), "EC2 takes at most 64 ASCII characters: {token}");
    }
}
