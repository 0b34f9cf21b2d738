//! Ctrl-C during `apply`, with a real SIGINT sent to the `mamori` binary in the middle of its writes
//! (the fault proxy adds latency to every answer so that the apply is slow enough to be caught
//! writing, and counts the writes).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mamori::report::{Status, Verb};
use serde_json::json;

use crate::harness::{mamori_command, proxy_reads, standard_baseline_with_subscriber, stderr, stdout, wait_within, Account, FaultProxy};

/// A fresh account and `mamori apply --yes` of the standard baseline on it, through a proxy that
/// adds `latency_ms` to every answer, caught once the emulator has answered its first write.
struct ApplyUnderWay {
    account: Account,
    _dir: tempfile::TempDir,
    baseline: std::path::PathBuf,
    _proxy: FaultProxy,
    child: Child,
}

async fn apply_under_way(latency_ms: u64) -> ApplyUnderWay {
    let account = Account::fresh().await;
    let (_dir, baseline) = standard_baseline_with_subscriber();
    let proxy = FaultProxy::start(&json!({"reads": proxy_reads(), "latency_ms": latency_ms}));
    let args = ["apply", "--yes", "--baseline", baseline.to_str().unwrap(), "--endpoint-url", &proxy.endpoint, "--output", "json"];
    let child = mamori_command(&args, &account.env()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run the mamori binary");
    let started = Instant::now();
    while proxy.stats().get("write").map_or(0, |w| w.values().sum::<u64>()) == 0 {
        assert!(started.elapsed() < Duration::from_secs(120), "the apply wrote nothing in 120 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ApplyUnderWay { account, _dir, baseline, _proxy: proxy, child }
}

fn sigint(child: &Child) {
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("run kill");
    assert!(status.success(), "kill -INT {}", child.id());
}

/// The exit code, stdout and stderr of `child`, which must end within `limit`.
async fn finish(child: Child, limit: Duration) -> (Option<i32>, String, String) {
    let output = tokio::task::spawn_blocking(move || wait_within(child, limit)).await.unwrap();
    (output.status.code(), stdout(&output), stderr(&output))
}

#[tokio::test]
async fn the_first_ctrl_c_lets_the_writes_in_flight_finish_starts_none_and_says_what_was_not_done() {
    let run = apply_under_way(300).await;
    sigint(&run.child);
    let (code, stdout, stderr) = finish(run.child, Duration::from_secs(120)).await;
    assert_eq!(code, Some(1), "exit 1 after the first Ctrl-C: {stderr}");
    assert!(stderr.contains("interrupted: finishing the writes in flight"), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("the report is printed ({e}): {stdout}"));
    let made = report["changes"].as_array().expect("changes").len();
    let not_done: Vec<_> = report["findings"].as_array().unwrap().iter().filter(|f| f["message"].as_str().unwrap_or_default().contains("interrupted (Ctrl-C)")).collect();
    assert!(!not_done.is_empty(), "what was not done is reported: {report:#}");
    assert!(stderr.contains(&format!("interrupted: {made} changes made")), "{stderr}");

    // Nothing was cut in half: the next apply finishes the job.
    let again = run.account.run(Verb::Apply, &run.baseline, &[]).await;
    let errors: Vec<_> = again.report.findings.iter().filter(|f| f.status == Status::Error).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test]
async fn a_second_ctrl_c_exits_at_once_with_130() {
    let run = apply_under_way(2000).await;
    sigint(&run.child);
    tokio::time::sleep(Duration::from_millis(200)).await;
    sigint(&run.child);
    // Every answer takes 2 s: an exit within 1.5 s did not wait for the writes in flight.
    let (code, _stdout, stderr) = finish(run.child, Duration::from_millis(1500)).await;
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted again: exiting now"), "{stderr}");
}
