//! A crash after every write: the real `mamori` binary applies the standard baseline to a fresh
//! account through the fault proxy, which SIGKILLs it right after its k-th write has reached the
//! emulator (the write is done, mamori never hears of it); then `apply` runs again and must converge
//! with no duplicate, and a third `apply` must write nothing.
//!
//! The writes are what the read-only guard classifies as mutating: the proxy is handed the guard's
//! list of reads ([`crate::harness::proxy_reads`]), and a clean apply checks that the proxy counts
//! exactly the mutating calls of mamori's call log. Writes within a dependency layer run
//! concurrently, so "the k-th write" is the k-th to be answered in that run, and other writes may be
//! in flight when the process dies: as in a real crash.
//!
//! The matrix runs every k from 1 to the number of writes of a clean apply with
//! `MAMORI_CRASH_MATRIX=full`; otherwise a deterministic sample: the first write of each operation
//! and an even spread (README, "Under faults", for the sizes and times).

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use aws_sdk_ec2::types::InstanceType;
use futures::stream::{self, StreamExt};
use mamori::aws::AccessMode;
use mamori::report::{Status, Verb};
use serde_json::json;

use crate::faults::{assert_one_of_each, HUMAN_STEPS};
use crate::harness::{mamori_command, proxy_reads, standard_baseline_with_subscriber, Account, FaultProxy};
use crate::vpc;

/// Crashed runs at once: each is a fresh account on the one moto server.
const WORKERS: usize = 4;
/// The spread of the sample: every how-many-th write, on top of each operation's first.
const SAMPLE_EVERY: usize = 8;

/// A fresh account with one VPC and two instances in it, and the standard baseline (with an alarm
/// subscriber) that covers them.
async fn fresh_account_with_workload() -> (Account, String) {
    let account = Account::fresh().await;
    let built = vpc::build_vpc(&account, "us-east-1", "crash").await;
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let image = ec2.describe_images().send().await.unwrap().images()[0].image_id().unwrap().to_string();
    ec2.run_instances().image_id(image).instance_type(InstanceType::T3Micro).subnet_id(&built.private[0]).min_count(2).max_count(2).send().await.unwrap();
    (account, built.id)
}

/// The writes of a clean apply, in the order the proxy counted them, by operation as the proxy
/// names it; checked against the mutating calls of mamori's own call log.
async fn clean_apply_writes() -> Vec<String> {
    let (account, _vpc) = fresh_account_with_workload().await;
    let (_dir, baseline) = standard_baseline_with_subscriber();
    let proxy = FaultProxy::start(&json!({"reads": proxy_reads()}));
    let apply = account.through(&proxy).run(Verb::Apply, &baseline, &[]).await;
    let mutating = apply.calls.mutating_sent();
    let counted = proxy.stats().get("write").cloned().unwrap_or_default();
    assert_eq!(counted.values().sum::<u64>(), mutating.len() as u64, "the proxy counts the guard's writes: {counted:?} vs {mutating:?}");
    mutating.iter().map(|call| call.name()).collect()
}

/// The k to crash after: all of them, or the first write of each operation and every
/// [`SAMPLE_EVERY`]-th, and the last.
fn crash_points(writes: &[String], full: bool) -> Vec<usize> {
    if full {
        return (1..=writes.len()).collect();
    }
    let mut seen = BTreeSet::new();
    let mut points: BTreeSet<usize> = writes.iter().enumerate().filter(|(_, name)| seen.insert(name.as_str())).map(|(i, _)| i + 1).collect();
    points.extend((1..=writes.len()).step_by(SAMPLE_EVERY));
    points.insert(writes.len());
    points.into_iter().collect()
}

/// What a converged account still shows for a human: the fresh account's human steps, and the
/// workload's two instances, which `standard` leaves to the team to move to IMDSv2 (the opt-in
/// `running_instances` is off).
fn is_human_step(finding: &mamori::report::Finding) -> bool {
    HUMAN_STEPS.contains(&finding.control.as_str()) || (finding.control == "ec2.imdsv2" && finding.resource.starts_with("instance/"))
}

/// `apply` killed after its `k`-th write, `apply` again, a third `apply` that writes nothing, a clean
/// `verify` and one of everything. Returns the seconds it took.
async fn crash_after_write(k: usize) -> f64 {
    let started = std::time::Instant::now();
    let (account, vpc_id) = fresh_account_with_workload().await;
    let (_dir, baseline) = standard_baseline_with_subscriber();
    let proxy = FaultProxy::start(&json!({"reads": proxy_reads(), "kill_after_write": k}));
    let args = ["apply", "--yes", "--baseline", baseline.to_str().unwrap(), "--endpoint-url", &proxy.endpoint, "--output", "json"];
    let mut child = mamori_command(&args, &account.env()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("run the mamori binary");
    proxy.arm(child.id());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().expect("wait for mamori");
    assert_eq!(status.signal(), Some(9), "k={k}: mamori was killed after its write ({status})");
    let killed = proxy.stats().get("killed").cloned().unwrap_or_default();

    let second = account.run(Verb::Apply, &baseline, &[]).await;
    let errors: Vec<_> = second.report.findings.iter().filter(|f| f.status == Status::Error).map(|f| (&f.control, &f.message)).collect();
    assert!(errors.is_empty(), "k={k} (killed after {killed:?}): the apply after the crash left errors: {errors:#?}");
    let third = account.run(Verb::Apply, &baseline, &[]).await;
    let writes: Vec<_> = third.calls.mutating_sent().iter().map(|c| c.name()).collect();
    assert!(writes.is_empty(), "k={k} (killed after {killed:?}): a third apply still wrote {writes:?}");
    let verify = account.run(Verb::Verify, &baseline, &[]).await;
    let left: Vec<_> = verify
        .report
        .findings
        .iter()
        .filter(|f| !matches!(f.status, Status::Pass | Status::Skipped) && !(f.status == Status::Manual && is_human_step(f)))
        .collect();
    assert!(left.is_empty(), "k={k} (killed after {killed:?}): {left:#?}");
    assert_one_of_each(&account, &vpc_id).await;
    started.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes: scripts/test.sh runs it on its own, beside the LocalStack run"]
async fn an_apply_killed_after_any_write_converges_on_the_next_apply() {
    let started = std::time::Instant::now();
    let writes = clean_apply_writes().await;
    let full = std::env::var("MAMORI_CRASH_MATRIX").as_deref() == Ok("full");
    let points = crash_points(&writes, full);
    eprintln!("crash matrix: {} of {} writes ({}): k = {points:?}", points.len(), writes.len(), if full { "full" } else { "sample" });
    let seconds: Vec<f64> = stream::iter(points.iter().copied()).map(crash_after_write).buffer_unordered(WORKERS).collect().await;
    let slowest = seconds.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "crash matrix: {} crashes converged in {:.0} s ({WORKERS} at once; one crash and its recovery {slowest:.0} s at most)",
        points.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_sample_holds_the_first_write_of_each_operation_an_even_spread_and_the_last() {
    let writes: Vec<String> = ["kms:CreateKey", "kms:CreateAlias", "ec2:CreateTags", "ec2:CreateTags", "s3:CreateBucket"].iter().map(|s| s.to_string()).collect();
    assert_eq!(crash_points(&writes, false), vec![1, 2, 3, 5]);
    assert_eq!(crash_points(&writes, true), vec![1, 2, 3, 4, 5]);
}
