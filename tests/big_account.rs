//! `verify` on a big legacy account, against a tenth of it: complete findings, and what the run costs.
//!
//! A test binary of its own (its own moto server), so that the thousands of resources it creates do
//! not slow the end-to-end suite's emulator. `tests/big_account/populate.py` fills two fresh accounts
//! with boto3 (1,200 IAM users, 120 customer policies, 1,100 instances, 600 security groups and 40 VPCs
//! over two regions, 150 alarms, 120 KMS aliases; and a tenth of each), and counts back what they hold
//! with boto3's own paginators, independently of mamori. The emulator pages
//! `iam:GetAccountAuthorizationDetails` as IAM does (at most 100 entities a page, the shim
//! `iam_authorization_details_pages.py`), and moto pages `ec2:DescribeInstances` at 100 reservations,
//! so the big account's lists cross their page size.
//!
//! Asserted: every user, policy, instance and security group the emulator holds gets its finding;
//! `verify` stays read-only; the peak resident memory of the `mamori` binary stays under 300 MB; the
//! paged reads take more pages on the big account and no read other than the per-resource ones grows
//! with the resources. Printed (and written down in the README): calls by operation, wall time and
//! peak memory at both sizes. Wall times are never asserted.

#[allow(dead_code)]
#[path = "it/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::{emulator, mamori_command, peak_memory_run, repo, standard_baseline, Account};
use mamori::report::{Report, Status, Verb};
use serde_json::Value;

const REGIONS: &[&str] = &["us-east-1", "eu-west-1"];

/// Peak resident memory the `mamori` binary may reach on the big account.
const MEMORY_BOUND_MIB: f64 = 300.0;

/// Reads that mamori makes once per resource by design, because AWS has no batch form: an instance's
/// user data (`ec2.embedded-keys`); a VPC's DNS attributes and the private hosted zones associated with
/// it (`vpc.endpoints`); a KMS key's tags, while no key has the baseline key's alias (the search for a
/// key an interrupted `apply` created); and the live confirmation of each user the credential report
/// flags (the report may be four hours old: see `src/inventory/iam_authorization.rs`). Every other read
/// must not grow with the resources.
const PER_RESOURCE_READS: &[&str] = &[
    "EC2:DescribeInstanceAttribute",
    "EC2:DescribeVpcAttribute",
    "Route 53:ListHostedZonesByVPC",
    "KMS:ListResourceTags",
    "IAM:GetLoginProfile",
    "IAM:ListAccessKeys",
    "IAM:ListMFADevices",
    "IAM:GetUser",
    "IAM:GetAccessKeyLastUsed",
];

/// Reads that follow pages and must take more of them on the big account.
const PAGED_READS: &[&str] = &["IAM:GetAccountAuthorizationDetails", "EC2:DescribeInstances"];

/// Fills `account` at `scale` (1.0 = the big account) and returns the emulator's own counts.
fn populate(account: &Account, scale: f64) -> (Value, Duration) {
    let python = repo().join(".venv/moto/bin/python");
    let started = Instant::now();
    let output = Command::new(&python)
        .arg(repo().join("tests/big_account/populate.py"))
        .args(["--scale", &scale.to_string()])
        .envs(account.env())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "populate.py --scale {scale} failed ({}): {stdout}", output.status);
    let counts = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("populate.py printed no counts ({e}): {stdout}"));
    (counts, started.elapsed())
}

/// Runs the `mamori` binary's `verify` and returns (wall time, peak RSS in MiB, exit code).
fn binary_verify(account: &Account) -> (Duration, f64, i32) {
    let baseline = standard_baseline().to_string_lossy().to_string();
    let mut args = vec!["verify", "--output", "json", "--baseline", &baseline];
    for region in REGIONS {
        args.extend(["--region", region]);
    }
    peak_memory_run(mamori_command(&args, &account.env()))
}

/// One size's run: the in-process report and calls, and the binary's figures.
struct Measured {
    counts: Value,
    populate: Duration,
    report: Report,
    calls_by_operation: BTreeMap<String, usize>,
    calls: usize,
    wall: Duration,
    rss_mib: f64,
}

async fn measure(scale: f64) -> Measured {
    let account = Account::fresh().await;
    let (counts, populate) = populate(&account, scale);
    let outcome = account.run_in(Verb::Verify, &standard_baseline(), &[], REGIONS).await;
    assert!(outcome.calls.mutating_sent().is_empty(), "verify sent a mutating call");
    let mut calls_by_operation = BTreeMap::new();
    for call in outcome.calls.sent() {
        *calls_by_operation.entry(call.name()).or_insert(0) += 1;
    }
    let (wall, rss_mib, code) = binary_verify(&account);
    assert_eq!(code, 2, "verify of a legacy account reports drift (exit 2)");
    Measured { counts, populate, calls: outcome.calls.sent().len(), calls_by_operation, report: outcome.report, wall, rss_mib }
}

/// How many findings of `control` (in `region`, when given) have `status`.
fn findings(report: &Report, control: &str, region: Option<&str>, status: Status) -> u64 {
    report.findings.iter().filter(|f| f.control == control && region.is_none_or(|r| f.region == r) && f.status == status).count() as u64
}

/// How many findings of `control` there are in `region`, whatever their status.
fn all_findings(report: &Report, control: &str, region: &str) -> u64 {
    report.findings.iter().filter(|f| f.control == control && f.region == region).count() as u64
}

fn count(counts: &Value, path: &[&str]) -> u64 {
    path.iter().fold(counts, |v, key| &v[key]).as_u64().unwrap_or_else(|| panic!("populate.py counted no {path:?}: {counts}"))
}

/// Every resource the emulator holds has its finding, at the status the emulator's contents call for.
fn assert_complete(m: &Measured) {
    let (r, c) = (&m.report, &m.counts);
    assert_eq!(findings(r, "iam.console-mfa", None, Status::Manual), count(c, &["users_with_console_passwords"]), "a user with a console password and no MFA");
    assert_eq!(findings(r, "iam.no-admin-keys", None, Status::Manual), count(c, &["admins_with_access_keys"]), "an administrator with keys");
    assert_eq!(findings(r, "iam.access-key-rotation", None, Status::Pass), count(c, &["users_with_access_keys"]), "an access key");
    let policies = findings(r, "iam.no-star-policies", None, Status::Pass) + findings(r, "iam.no-star-policies", None, Status::Manual);
    assert_eq!(policies, count(c, &["customer_policies"]), "a customer policy");
    assert_eq!(findings(r, "iam.no-star-policies", None, Status::Manual), count(c, &["star_policies"]), "a policy granting *:*");
    let instances: u64 = REGIONS.iter().map(|region| count(c, &["regions", region, "instances"])).sum();
    assert_eq!(findings(r, "ec2.embedded-keys", None, Status::Pass), instances, "an instance's user data");
    for region in REGIONS {
        let counted = |what: &str| count(c, &["regions", region, what]);
        assert_eq!(findings(r, "ec2.imdsv2", Some(region), Status::Manual), counted("instances"), "an instance without IMDSv2 in {region}");
        assert_eq!(all_findings(r, "ec2.no-open-admin-ports", region), counted("security_groups"), "a security group in {region}");
        assert_eq!(findings(r, "ec2.no-open-admin-ports", Some(region), Status::Manual), counted("security_groups_open_to_ssh"), "SSH open to the world in {region}");
        assert_eq!(all_findings(r, "vpc.nacl-admin-ports", region), counted("vpcs"), "a VPC's network ACLs in {region}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_reports_every_resource_of_a_big_legacy_account_and_its_reads_grow_with_pages() {
    emulator();
    let small = measure(0.1).await;
    let big = measure(1.0).await;
    for m in [&small, &big] {
        assert_complete(m);
    }

    println!("verify, standard baseline, {} regions:", REGIONS.len());
    println!("{:<40} {:>10} {:>10}", "", "a tenth", "big");
    let row = |name: &str, a: String, b: String| println!("{name:<40} {a:>10} {b:>10}");
    row("IAM users", count(&small.counts, &["users"]).to_string(), count(&big.counts, &["users"]).to_string());
    row("populate (s)", format!("{:.0}", small.populate.as_secs_f64()), format!("{:.0}", big.populate.as_secs_f64()));
    row("findings", small.report.findings.len().to_string(), big.report.findings.len().to_string());
    row("API calls", small.calls.to_string(), big.calls.to_string());
    row("wall time of the binary (s)", format!("{:.1}", small.wall.as_secs_f64()), format!("{:.1}", big.wall.as_secs_f64()));
    row("peak RSS of the binary (MiB)", format!("{:.0}", small.rss_mib), format!("{:.0}", big.rss_mib));
    let operations: std::collections::BTreeSet<&String> = small.calls_by_operation.keys().chain(big.calls_by_operation.keys()).collect();
    for operation in operations {
        let calls = |m: &Measured| m.calls_by_operation.get(operation).copied().unwrap_or(0);
        let (a, b) = (calls(&small), calls(&big));
        if a != b {
            row(&format!("  {operation}"), a.to_string(), b.to_string());
        }
    }

    assert!(big.rss_mib < MEMORY_BOUND_MIB, "peak RSS {:.0} MiB on the big account (bound {MEMORY_BOUND_MIB} MiB)", big.rss_mib);
    for operation in PAGED_READS {
        let calls = |m: &Measured| m.calls_by_operation.get(*operation).copied().unwrap_or(0);
        assert!(calls(&big) > calls(&small), "{operation}: {} calls on the big account, {} on a tenth of it: its pages were not followed", calls(&big), calls(&small));
    }
    let grown: Vec<String> = big
        .calls_by_operation
        .iter()
        .filter(|(operation, _)| !PER_RESOURCE_READS.contains(&operation.as_str()) && !PAGED_READS.contains(&operation.as_str()))
        .filter(|(operation, calls)| **calls > small.calls_by_operation.get(*operation).copied().unwrap_or(0))
        .map(|(operation, calls)| format!("{operation}: {calls}"))
        .collect();
    assert!(grown.is_empty(), "reads that grow with the resources (neither paged nor per resource): {grown:?}");
}
