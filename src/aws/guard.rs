//! The read-only guard and the call log: one SDK interceptor on every client.
//!
//! Before an operation is serialized the guard classifies it by its service and name. In [`AccessMode::ReadOnly`]
//! (`plan`, `verify`) a mutating operation is refused there and then: the request is never built, let
//! alone sent. Every operation, allowed or refused, is appended to the [`CallLog`], which the tests and
//! the benchmark read to count calls; the log keeps the operation name and a fingerprint of its input
//! (a hash of the SDK's redacting `Debug` output), never the input itself.
//!
//! Classification is by an exact allow-list ([`super::reads`]), so an operation nobody listed is
//! treated as mutating, whatever its name suggests.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Whether a connection may change the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessMode {
    /// `plan` and `verify`: only reads leave the process.
    ReadOnly,
    /// `apply`.
    ReadWrite,
}

/// True when `operation` of `service` (`KMS`, `CreateKey`) can change the account: anything that is
/// not on the exact list of reads.
pub fn is_mutating(service: &str, operation: &str) -> bool {
    !super::reads::is_listed_read(service, operation)
}

/// One operation as the guard saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// Service id as the SDK names it (`kms`, `ec2`, `s3control`, ...).
    pub service: String,
    /// API operation name (`CreateKey`).
    pub operation: String,
    pub mutating: bool,
    /// Refused by the read-only guard: it never left the process.
    pub refused: bool,
    /// Hash of the region and the operation's (redacted) input, to spot identical repeated calls.
    pub fingerprint: u64,
}

impl CallRecord {
    /// `service:Operation`.
    pub fn name(&self) -> String {
        format!("{}:{}", self.service, self.operation)
    }
}

/// Append-only record of the calls of one connection.
#[derive(Debug, Default)]
pub struct CallLog {
    records: Mutex<Vec<CallRecord>>,
}

impl CallLog {
    fn push(&self, record: CallRecord) {
        self.records.lock().expect("call log poisoned").push(record);
    }

    /// Appends `other`'s records after this log's (an account reconciled in two passes of one run).
    pub fn append(&self, other: &CallLog) {
        let more = other.records();
        self.records.lock().expect("call log poisoned").extend(more);
    }

    pub fn records(&self) -> Vec<CallRecord> {
        self.records.lock().expect("call log poisoned").clone()
    }

    /// Calls that were sent (not refused).
    pub fn sent(&self) -> Vec<CallRecord> {
        self.records().into_iter().filter(|r| !r.refused).collect()
    }

    /// Mutating calls that were sent.
    pub fn mutating_sent(&self) -> Vec<CallRecord> {
        self.sent().into_iter().filter(|r| r.mutating).collect()
    }

    /// Sent calls counted by `service:Operation`.
    pub fn by_operation(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for record in self.sent() {
            *counts.entry(record.name()).or_insert(0) += 1;
        }
        counts
    }

    /// Sent calls repeated with identical parameters, with how many times each was sent.
    pub fn repeated(&self) -> BTreeMap<String, usize> {
        let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
        for record in self.sent() {
            *seen.entry((record.name(), record.fingerprint)).or_insert(0) += 1;
        }
        seen.into_iter().filter(|(_, n)| *n > 1).map(|((name, _), n)| (name, n)).collect()
    }
}

/// The error a refused operation fails with.
#[derive(Debug, thiserror::Error)]
#[error("refused {service}:{operation}: this run is read-only (plan/verify never change the account)")]
pub struct ReadOnlyViolation {
    pub service: String,
    pub operation: String,
}

/// The interceptor installed on every client of one [`super::Aws`].
#[derive(Clone, Debug)]
pub struct CallGuard {
    mode: AccessMode,
    log: Arc<CallLog>,
}

impl CallGuard {
    pub fn new(mode: AccessMode) -> Self {
        CallGuard { mode, log: Arc::new(CallLog::default()) }
    }

    pub fn mode(&self) -> AccessMode {
        self.mode
    }

    pub fn log(&self) -> Arc<CallLog> {
        self.log.clone()
    }
}

impl Intercept for CallGuard {
    fn name(&self) -> &'static str {
        "mamori::CallGuard"
    }

    // Client interceptors run `read_before_execution` before the operation's configuration (and so its
    // name) is in the bag; `read_before_serialization` is the first hook that has it, and it still runs
    // before a request exists.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let metadata = cfg.load::<Metadata>().ok_or("operation metadata missing: cannot classify the call")?;
        let mutating = is_mutating(metadata.service(), metadata.name());
        let refused = mutating && self.mode == AccessMode::ReadOnly;
        let mut hasher = DefaultHasher::new();
        cfg.load::<aws_types::region::Region>().map(|r| r.to_string()).hash(&mut hasher);
        format!("{:?}", context.input()).hash(&mut hasher);
        self.log.push(CallRecord {
            service: metadata.service().to_string(),
            operation: metadata.name().to_string(),
            mutating,
            refused,
            fingerprint: hasher.finish(),
        });
        if refused {
            tracing::error!(service = metadata.service(), operation = metadata.name(), "read-only guard refused a call");
            return Err(Box::new(ReadOnlyViolation {
                service: metadata.service().to_string(),
                operation: metadata.name().to_string(),
            }));
        }
        tracing::debug!(service = metadata.service(), operation = metadata.name(), "call");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_mutating;

    #[test]
    fn listed_reads_pass_and_everything_else_is_mutating() {
        for (service, operation) in [("KMS", "GetKeyPolicy"), ("EC2", "DescribeInstances"), ("S3", "HeadBucket"), ("IAM", "GenerateCredentialReport")] {
            assert!(!is_mutating(service, operation), "{service}:{operation} should be a read");
        }
        for (service, operation) in [
            ("KMS", "CreateKey"), ("KMS", "PutKeyPolicy"), ("EC2", "EnableEbsEncryptionByDefault"), ("IAM", "UpdateAccountPasswordPolicy"),
            ("S3 Control", "PutPublicAccessBlock"), ("S3", "DeleteBucket"), ("KMS", "ScheduleKeyDeletion"), ("KMS", "TagResource"),
            ("STS", "GetFederationToken"), ("STS", "GetSessionToken"), ("KMS", "GetParametersForImport"), ("CloudTrail", "LookupEvents"),
            ("KMS", "DescribeInstances"),
        ] {
            assert!(is_mutating(service, operation), "{service}:{operation} should be refused in read-only runs");
        }
    }
}
