//! `cargo bench`: what `verify` and a converged `apply` of the standard baseline cost against moto
//! server, in 1 and in 4 regions.
//!
//! For each case it converges a fresh account once, then runs each verb several times and prints the
//! median wall time, the number of API calls by operation, and any call repeated with identical
//! parameters (region included) within one run. Wall time depends on the machine and on moto; the call
//! counts do not, and they are what the targets are about: no repeated call, and a converged `apply`
//! costing no more than 1.3 × a `verify`.
//!
//! It also measures how close a run comes to its critical path: the longest chain of calls in which
//! each started only after the one before had answered (from the call log's timestamps), the sum of
//! those calls' own durations, against the wall time of the same run; the target is a wall time
//! within 2× of it (the rest is mamori's own work between calls and the calls it could not overlap).

#[allow(dead_code)]
#[path = "../tests/it/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::{standard_baseline_with_subscriber, Account, ALARM_SUBSCRIBER};
use mamori::app::Outcome;
use mamori::aws::Mfa;
use mamori::report::Verb;

const RUNS: usize = 7;
const REGION_SETS: &[&[&str]] = &[&["us-east-1"], &["us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2"]];

struct Measured {
    median: Duration,
    last: Outcome,
    last_wall: Duration,
}

async fn measure(account: &Account, baseline: &std::path::Path, verb: Verb, regions: &[&str]) -> Measured {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    let mut last_wall = Duration::ZERO;
    for _ in 0..RUNS {
        let started = Instant::now();
        let outcome = account.run_in(verb, baseline, &[], regions).await;
        last_wall = started.elapsed();
        times.push(last_wall);
        assert_eq!(outcome.report.exit_code(), 0, "{} on a converged account: {:#?}", verb.name(), outcome.report);
        last = Some(outcome);
    }
    times.sort();
    Measured { median: times[RUNS / 2], last: last.expect("at least one run"), last_wall }
}

fn print(verb: Verb, regions: usize, measured: &Measured) {
    let calls = measured.last.calls.sent();
    println!("{:<7} {} region(s): median {:>7.1} ms over {RUNS} runs, {} calls", verb.name(), regions, measured.median.as_secs_f64() * 1e3, calls.len());
    for (operation, count) in measured.last.calls.by_operation() {
        println!("          {count:>3} × {operation}");
    }
    let chain = measured.last.calls.longest_chain();
    let path: Duration = chain.iter().sum();
    if !path.is_zero() {
        println!(
            "          critical path: {} calls in a chain, {:.1} ms of calls; last run's wall time {:.1} ms = {:.2}× it (target ≤ 2×)",
            chain.len(),
            path.as_secs_f64() * 1e3,
            measured.last_wall.as_secs_f64() * 1e3,
            measured.last_wall.as_secs_f64() / path.as_secs_f64()
        );
    }
    let repeated = measured.last.calls.repeated();
    if repeated.is_empty() {
        println!("          no call repeated with identical parameters");
    } else {
        println!("          REPEATED with identical parameters: {repeated:?}");
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter this benchmark does not take.
    println!("mamori reconcile benchmark: standard baseline against moto server ({})\n", harness::emulator().endpoint);
    // The standard baseline with someone to receive the alarms (the shipped one names nobody).
    let (_dir, baseline) = standard_baseline_with_subscriber();
    for regions in REGION_SETS {
        let account = Account::fresh().await;
        account.run_in(Verb::Apply, &baseline, &[], regions).await;
        // The human steps, so that the account is fully compliant: the root user's MFA enrolled in the
        // console (played on the emulator), MFA Delete with a temporary root access key, deleted after
        // it (the emulator accepts any code), and the alarm subscription confirmed by its recipient
        // (played on the emulator).
        account.root_console(&[("mfa", "virtual")]);
        account.confirm_subscription(&format!("arn:aws:sns:us-east-1:{}:mamori-security-alarms", account.id), ALARM_SUBSCRIBER);
        let mfa = Mfa::parse(&format!("arn:aws:iam::{}:mfa/root-account-mfa-device 123456", account.id)).expect("valid");
        let converge = account.root().run_with_mfa(Verb::Apply, &baseline, &["logs.bucket-mfa-delete"], mfa).await;
        assert_eq!(converge.report.exit_code(), 0, "{:#?}", converge.report);
        account.root_console(&[("access-key", "false")]);
        // The network team's decision standard leaves to it: SSH and RDP from the internet closed in
        // the network ACLs (strict's opt-in), AWS's default ACLs included.
        let strict = harness::repo().join("baselines/strict.yaml");
        let closed = account.run_in(Verb::Apply, &strict, &["vpc.nacl-admin-ports"], regions).await;
        assert_eq!(closed.report.exit_code(), 0, "{:#?}", closed.report);
        let verify = measure(&account, &baseline, Verb::Verify, regions).await;
        let apply = measure(&account, &baseline, Verb::Apply, regions).await;
        print(Verb::Verify, regions.len(), &verify);
        print(Verb::Apply, regions.len(), &apply);
        let call_ratio = apply.last.calls.sent().len() as f64 / verify.last.calls.sent().len() as f64;
        let time_ratio = apply.median.as_secs_f64() / verify.median.as_secs_f64();
        let writes = apply.last.calls.mutating_sent().len();
        println!(
            "converged apply / verify, {} region(s): {call_ratio:.2}× calls, {time_ratio:.2}× median time, {writes} mutating calls (target ≤ 1.3×, 0)\n",
            regions.len()
        );
    }
}
