//! The read-only guard and the call log: one SDK interceptor on every client.
//!
//! Before an operation is serialized the guard classifies it by its service and name. In [`AccessMode::ReadOnly`]
//! (`plan`, `verify`) a mutating operation is refused there and then: the request is never built, let
//! alone sent. Every operation, allowed or refused, is appended to the [`CallLog`], which the tests and
//! the benchmark read to count calls; the log keeps the operation name and a fingerprint of its input
//! (a hash of the SDK's redacting `Debug` output), never the input itself.
//!
//! The log also keeps when each call started and when its answer (or its last error) came back, so
//! that the benchmark can measure the run's critical path ([`CallLog::longest_chain`]).
//!
//! After the run's interruption (the first Ctrl-C of an `apply`, see [`super::interrupt`]) the guard
//! refuses mutating operations in `apply` too, the same way: the request is never built.
//!
//! Classification is by an exact allow-list ([`super::reads`]), so an operation nobody listed is
//! treated as mutating, whatever its name suggests.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use super::interrupt::{Interrupt, Interrupted};

/// Whether a connection may change the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessMode {
    /// `plan` and `verify`: only reads leave the process.
    ReadOnly,
    /// `apply`.
    ReadWrite,
}

/// The one write a read-only run may send, and only through the client
/// [`super::Aws::security_hub_import`] builds: `verify --security-hub` importing its own findings into
/// Security Hub. It changes no resource of the audited account, only Security Hub's findings list.
pub const FINDINGS_IMPORT: (&str, &str) = ("SecurityHub", "BatchImportFindings");

/// True for [`FINDINGS_IMPORT`] (service ids compare without regard to case).
pub fn is_findings_import(service: &str, operation: &str) -> bool {
    service.eq_ignore_ascii_case(FINDINGS_IMPORT.0) && operation == FINDINGS_IMPORT.1
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
    pub started: Instant,
    /// When the answer (after the SDK's retries) or the refusal came back; `None` while in flight.
    pub finished: Option<Instant>,
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
    /// Appends `record` and returns its index in the log.
    fn push(&self, record: CallRecord) -> usize {
        let mut records = self.records.lock().expect("call log poisoned");
        records.push(record);
        records.len() - 1
    }

    fn finish(&self, index: usize) {
        if let Some(record) = self.records.lock().expect("call log poisoned").get_mut(index) {
            record.finished = Some(Instant::now());
        }
    }

    /// The longest chain of sent calls in which each call started only after the one before it had
    /// answered: the run's critical path as it ran (an upper bound on the chain of reads that depend
    /// on each other), with the durations of its calls.
    pub fn longest_chain(&self) -> Vec<Duration> {
        let mut calls: Vec<(Instant, Instant)> = self.sent().iter().filter_map(|r| Some((r.started, r.finished?))).collect();
        calls.sort();
        // chain[i]: the longest chain ending with call i, as (length, index of the call before).
        let mut chain: Vec<(usize, Option<usize>)> = Vec::with_capacity(calls.len());
        for (i, (started, _)) in calls.iter().enumerate() {
            let before = (0..i).filter(|&j| calls[j].1 <= *started).max_by_key(|&j| chain[j].0);
            chain.push((before.map_or(1, |j| chain[j].0 + 1), before));
        }
        let mut at = (0..calls.len()).max_by_key(|&i| chain[i].0);
        let mut durations = Vec::new();
        while let Some(i) = at {
            durations.push(calls[i].1 - calls[i].0);
            at = chain[i].1;
        }
        durations.reverse();
        durations
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
    /// A read-only guard that also lets [`FINDINGS_IMPORT`] through (and nothing else).
    findings_import: bool,
    /// Once requested, mutating calls are refused in every mode.
    interrupt: Interrupt,
}

impl CallGuard {
    pub fn new(mode: AccessMode, interrupt: Interrupt) -> Self {
        CallGuard { mode, log: Arc::new(CallLog::default()), findings_import: false, interrupt }
    }

    /// This guard (same mode, same call log) letting [`FINDINGS_IMPORT`] through as well.
    pub fn allowing_findings_import(&self) -> Self {
        CallGuard { findings_import: true, ..self.clone() }
    }

    pub fn interrupt(&self) -> Interrupt {
        self.interrupt.clone()
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
        let metadata = cfg.load::<Metadata>().ok_or("operation metadata missing: cannot classify the call")?.clone();
        let mutating = is_mutating(metadata.service(), metadata.name());
        let import = self.findings_import && is_findings_import(metadata.service(), metadata.name());
        let interrupted = mutating && self.interrupt.is_requested();
        let refused = mutating && ((self.mode == AccessMode::ReadOnly && !import) || interrupted);
        let mut hasher = DefaultHasher::new();
        cfg.load::<aws_types::region::Region>().map(|r| r.to_string()).hash(&mut hasher);
        format!("{:?}", context.input()).hash(&mut hasher);
        let index = self.log.push(CallRecord {
            service: metadata.service().to_string(),
            operation: metadata.name().to_string(),
            mutating,
            refused,
            fingerprint: hasher.finish(),
            started: Instant::now(),
            finished: None,
        });
        cfg.interceptor_state().store_put(LoggedCall(index));
        if interrupted {
            tracing::info!(service = metadata.service(), operation = metadata.name(), "interrupted: write not sent");
            return Err(Box::new(Interrupted { service: metadata.service().to_string(), operation: metadata.name().to_string() }));
        }
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

    fn read_after_execution(&self, _context: &FinalizerInterceptorContextRef<'_>, _components: &RuntimeComponents, cfg: &mut ConfigBag) -> Result<(), BoxError> {
        if let Some(LoggedCall(index)) = cfg.load::<LoggedCall>() {
            self.log.finish(*index);
        }
        Ok(())
    }
}

/// The index in the [`CallLog`] of the operation being executed, kept in its config bag.
#[derive(Clone, Debug)]
struct LoggedCall(usize);

impl Storable for LoggedCall {
    type Storer = StoreReplace<Self>;
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{is_findings_import, is_mutating, CallLog, CallRecord, FINDINGS_IMPORT};

    #[test]
    fn the_longest_chain_follows_calls_that_waited_for_each_other() {
        let log = CallLog::default();
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // a [0,10] → c [10,30] → d [35,40]; b [0,50] overlaps them all; e [12,36] runs beside c and d.
        for (start, end) in [(0, 10), (0, 50), (10, 30), (35, 40), (12, 36)] {
            let index = log.push(CallRecord {
                service: "EC2".into(),
                operation: "DescribeVpcs".into(),
                mutating: false,
                refused: false,
                fingerprint: start,
                started: ms(start),
                finished: None,
            });
            log.records.lock().unwrap()[index].finished = Some(ms(end));
        }
        let chain = log.longest_chain();
        assert_eq!(chain, [Duration::from_millis(10), Duration::from_millis(20), Duration::from_millis(5)]);
    }

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

    #[test]
    fn the_findings_import_is_a_write_and_the_only_exemption() {
        assert!(is_mutating(FINDINGS_IMPORT.0, FINDINGS_IMPORT.1), "a read-only run refuses it unless the import guard lets it through");
        assert!(is_findings_import("SecurityHub", "BatchImportFindings") && is_findings_import("securityhub", "BatchImportFindings"));
        for (service, operation) in [("SecurityHub", "EnableSecurityHub"), ("SecurityHub", "BatchUpdateFindings"), ("SecurityHub", "DisableSecurityHub"), ("KMS", "BatchImportFindings")] {
            assert!(!is_findings_import(service, operation), "{service}:{operation}");
        }
    }
}
