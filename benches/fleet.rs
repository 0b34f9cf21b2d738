//! `cargo bench --bench fleet`: `verify --org` over 50 and 200 emulated accounts in 2 regions, on one
//! moto server, against that server's own ceiling measured in the same run.
//!
//! For each size it creates an organization of that many accounts (the management account and members
//! made by `organizations:CreateAccount`, fresh: default VPCs only), then:
//! - runs `verify --org` in-process and counts the API calls, in total and per account (the target: the
//!   same per account at 50 and at 200, i.e. nothing is re-read per fleet);
//! - runs the `mamori` binary with the same arguments and reports its wall time and peak resident
//!   memory (`wait4`'s rusage; target: under 200 MB at 200 accounts);
//! - measures the emulator's ceiling: how many simple calls per second moto serves at the same client
//!   concurrency, so that `calls ÷ ceiling` is the fastest any client could be (target: mamori's wall
//!   time within 1.5× of it, i.e. mamori is never the bottleneck).
//!
//! `MAMORI_FLEET_SIZES=20,50` overrides the sizes. Wall times are moto's on this machine; call counts
//! and memory do not depend on the machine much.

#[allow(dead_code)]
#[path = "../tests/it/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use harness::{emulator, standard_baseline, Account, Organization};
use mamori::aws::AccessMode;
use mamori::fleet::AccountSelection;
use mamori::report::Verb;

const REGIONS: &[&str] = &["us-east-1", "eu-west-1"];

/// Simple calls per second moto serves at `concurrency` clients: `sts:GetCallerIdentity`, which reads
/// no resource (`ec2:DescribeRegions`, tried first, is not simple on moto: it came out at 2–3 calls/s).
async fn emulator_ceiling(account: &Account, concurrency: usize, calls: usize) -> f64 {
    let aws = account.aws(AccessMode::ReadOnly).await;
    let sts = aws.sts();
    let started = Instant::now();
    stream::iter(0..calls)
        .for_each_concurrent(concurrency, |_| {
            let sts = sts.clone();
            async move {
                sts.get_caller_identity().send().await.expect("GetCallerIdentity");
            }
        })
        .await;
    calls as f64 / started.elapsed().as_secs_f64()
}

/// Runs the binary and returns (wall time, peak RSS in MiB, exit code).
fn binary_run(management: &Account, baseline: &std::path::Path) -> (Duration, f64, i32) {
    let mut args = vec!["verify", "--org", "--output", "json", "--baseline"];
    let baseline = baseline.to_string_lossy().to_string();
    args.push(&baseline);
    for region in REGIONS {
        args.extend(["--region", region]);
    }
    harness::peak_memory_run(harness::mamori_command(&args, &management.env()))
}

async fn measure(size: usize) {
    let names: Vec<String> = (1..size).map(|i| format!("member-{i:03}")).collect();
    let placed: Vec<(&str, &str)> = names.iter().enumerate().map(|(i, n)| (n.as_str(), if i % 2 == 0 { "workloads" } else { "prod" })).collect();
    let org = Organization::create(&placed, None).await;
    let baseline = standard_baseline();
    let all = AccountSelection { organization: true, ..Default::default() };

    let started = Instant::now();
    let outcome = org.management.run_fleet_in(Verb::Verify, &baseline, &[], REGIONS, all).await.expect("verify --org");
    let in_process = started.elapsed();
    let accounts = outcome.report.accounts.as_ref().map_or(0, Vec::len);
    let member_calls: Vec<usize> = outcome.calls_by_account.values().map(|c| c.sent().len()).collect();
    let total: usize = member_calls.iter().sum::<usize>() + outcome.calls.sent().len();
    let per_account = total as f64 / accounts as f64;
    let (min, max) = (member_calls.iter().min().copied().unwrap_or(0), member_calls.iter().max().copied().unwrap_or(0));
    let busiest = outcome.calls_by_account.iter().max_by_key(|(_, calls)| calls.sent().len());

    let ceiling = emulator_ceiling(&org.management, 16, 1000).await;
    let (wall, rss, code) = binary_run(&org.management, &baseline);
    let bound = total as f64 / ceiling;
    println!("{size} accounts × {} regions (verify --org, standard baseline, fresh accounts):", REGIONS.len());
    println!("  accounts reported         {accounts}");
    println!("  API calls                 {total} in all, {per_account:.1} per account (an account: {min} to {max})");
    println!("  emulator ceiling          {ceiling:.0} calls/s at 16 concurrent clients → {bound:.1} s at best for {total} calls");
    println!("  in-process wall time      {:.1} s ({:.2}× the ceiling)", in_process.as_secs_f64(), in_process.as_secs_f64() / bound);
    println!("  binary wall time          {:.1} s ({:.2}× the ceiling), exit {code}", wall.as_secs_f64(), wall.as_secs_f64() / bound);
    println!("  binary peak RSS           {rss:.1} MiB");
    if let Some((account, calls)) = busiest {
        let mut operations: Vec<(String, usize)> = calls.by_operation().into_iter().collect();
        operations.sort_by(|a, b| b.1.cmp(&a.1));
        let top: Vec<String> = operations.iter().take(6).map(|(operation, n)| format!("{operation} {n}")).collect();
        println!("  busiest account           {account}: {} calls ({})", calls.sent().len(), top.join(", "));
    }
    println!();
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("MAMORI_FLEET_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![50, 200]);
    println!("mamori fleet benchmark against moto server ({})\n", emulator().endpoint);
    for size in sizes {
        measure(size).await;
    }
}
