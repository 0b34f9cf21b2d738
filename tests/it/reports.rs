//! Every report format, written by one run over an organization on moto and read back by a reader
//! that is not mamori's writer: the JSON document, JUnit through Python's `xml.etree`, SARIF and OCSF
//! against their vendored schemas, CSV through the `csv` reader, the HTML page in headless Chromium
//! (its counts, a filter, and a screenshot); and `mamori report` merging the JSON of two shards into
//! the document of the whole run without calling AWS.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{baseline_file, mamori, stderr, stdout, Organization, Tripwire};
use crate::organization::EBS_ONLY;

/// The organization tests' baseline, with the password policy (a control whose findings are global).
fn baseline() -> String {
    format!("{EBS_ONLY}iam: {{password_policy: {{}}}}\n")
}

const FORMATS: [&str; 6] = ["html", "sarif", "junit", "ocsf", "asff", "csv"];

fn schema_errors(file: &str, document: &Value) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas").join(file);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("vendored schema")).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    validator.iter_errors(document).map(|e| format!("{e} at {}", e.instance_path)).collect()
}

/// `verify --org` with every format written beside the JSON on stdout.
fn verify_everything(org: &Organization, baseline: &Path, dir: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args: Vec<String> = ["verify", "--org", "--baseline", baseline.to_str().unwrap(), "--output", "json", "-q"].map(String::from).to_vec();
    args.extend(extra.iter().map(|a| a.to_string()));
    for format in FORMATS {
        args.push("--report".into());
        args.push(format!("{format}={}", dir.join(format!("report.{format}")).display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = mamori(&args, &org.management.env());
    let document = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", stdout(&output), stderr(&output)));
    (output.status.code().expect("exit code"), document)
}

/// Headless Chromium, as the README's test command installs it: no network of its own, a new profile.
fn chromium(profile: &Path, args: &[String]) -> std::process::Output {
    let binary = ["chromium", "chromium-browser"].into_iter().find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()));
    let binary = binary.expect("Chromium is needed for the HTML report test: `bash scripts/test.sh` installs it (apt-get install chromium)");
    let output = Command::new(binary)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// The page after its script ran, with `fragment` (the filters) in its address.
fn rendered_dom(page: &Path, fragment: &str, profile: &Path) -> String {
    let url = format!("file://{}#{fragment}", page.display());
    String::from_utf8(chromium(profile, &["--dump-dom".into(), url]).stdout).expect("DOM is UTF-8")
}

/// (status of each finding row, whether the browser hides it).
fn rows(dom: &str) -> Vec<(String, bool)> {
    dom.split("<tr class=\"finding\"").skip(1).map(|row| {
        let tag = &row[..row.find('>').unwrap()];
        let status = tag.split("data-status=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        (status, tag.contains("hidden"))
    }).collect()
}

fn summary_on_page(dom: &str, status: &str) -> u64 {
    let marker = format!("data-summary=\"{status}\"><b>");
    dom.split(&marker).nth(1).and_then(|rest| rest.split('<').next()).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no {status} count on the page"))
}

#[tokio::test]
async fn one_fleet_run_writes_every_format_and_independent_readers_agree_with_the_json() {
    let org = Organization::create(&[("one", "workloads"), ("two", "prod")], None).await;
    let (_dir, baseline) = baseline_file(&baseline());
    let out = tempfile::tempdir().unwrap();
    // One account's public access block set, so the page has passes beside failures.
    let one = org.id("one");
    let applied = mamori(&["apply", "--account", &one, "--only", "s3.account-public-access-block", "--baseline", baseline.to_str().unwrap(), "--yes", "-q"], &org.management.env());
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    let (code, json) = verify_everything(&org, &baseline, out.path(), &[]);
    assert_eq!(code, 2, "drift on fresh accounts");
    let findings = json["findings"].as_array().unwrap();
    let accounts = json["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 3);
    let count = |status: &str| findings.iter().filter(|f| f["status"] == status).count();
    let read = |format: &str| std::fs::read_to_string(out.path().join(format!("report.{format}"))).unwrap();

    // JUnit, through Python's xml.etree: one suite per account, a failure per failing finding.
    let junit = out.path().join("report.junit");
    let reader = "import sys, xml.etree.ElementTree as ET\nroot = ET.parse(sys.argv[1]).getroot()\nfor s in root.findall('testsuite'):\n    print(s.get('name'), len(s.findall('testcase')), len(s.findall('testcase/failure')), len(s.findall('testcase/error')))";
    let parsed = Command::new("python3").args(["-c", reader]).arg(&junit).output().unwrap();
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    let suites: Vec<String> = String::from_utf8(parsed.stdout).unwrap().lines().map(String::from).collect();
    let expected: Vec<String> = accounts
        .iter()
        .map(|a| {
            let id = a["id"].as_str().unwrap();
            let own: Vec<&Value> = findings.iter().filter(|f| f["account"] == id).collect();
            let failures = own.iter().filter(|f| f["status"] == "fail" || f["status"] == "manual").count();
            let errors = own.iter().filter(|f| f["status"] == "error").count();
            format!("{id} {} {failures} {errors}", own.len())
        })
        .collect();
    assert_eq!(suites, expected);

    // SARIF and OCSF, against their schemas.
    let sarif: Value = serde_json::from_str(&read("sarif")).unwrap();
    assert_eq!(schema_errors("sarif-2.1.0-rtm.5.json", &sarif), Vec::<String>::new());
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), findings.len() - count("pass"));
    let uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
    assert!(uri.ends_with("mamori.yaml"), "{uri}");
    let ocsf: Vec<Value> = serde_json::from_str(&read("ocsf")).unwrap();
    assert_eq!(ocsf.len(), findings.len());
    for event in &ocsf {
        assert_eq!(schema_errors("ocsf-1.3.0-compliance_finding.schema.json", event), Vec::<String>::new());
    }

    // ASFF and CSV: one per finding, the same accounts and statuses.
    let asff: Vec<Value> = serde_json::from_str(&read("asff")).unwrap();
    assert_eq!(asff.iter().filter(|f| f["Compliance"]["Status"] == "FAILED").count(), count("fail"));
    let csv = read("csv");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows_read: Vec<(String, String)> = reader.records().map(|r| r.unwrap()).map(|r| (r[0].to_string(), r[4].to_string())).collect();
    let from_json: Vec<(String, String)> = findings.iter().map(|f| (f["account"].as_str().unwrap().into(), f["status"].as_str().unwrap().into())).collect();
    assert_eq!(rows_read, from_json);

    // HTML, in the browser: the counts match the JSON, the status filter hides the rest.
    let page = out.path().join("report.html");
    let profile = tempfile::tempdir().unwrap();
    let dom = rendered_dom(&page, "", profile.path());
    for status in ["pass", "fail", "manual", "error", "skipped", "excepted"] {
        assert_eq!(summary_on_page(&dom, status), json["summary"][status].as_u64().unwrap_or(0), "{status}");
    }
    let all = rows(&dom);
    assert_eq!(all.len(), findings.len());
    assert!(all.iter().all(|(_, hidden)| !hidden));
    assert!(dom.contains(&format!("{} of {}", findings.len(), findings.len())));
    let failing = rows(&rendered_dom(&page, "status=fail", profile.path()));
    assert!(count("fail") > 0 && count("pass") > 0);
    assert!(failing.iter().all(|(status, hidden)| *hidden == (status != "fail")), "{failing:?}");
    let one_account = rendered_dom(&page, &format!("account={}", accounts[0]["id"].as_str().unwrap()), profile.path());
    let own = findings.iter().filter(|f| f["account"] == accounts[0]["id"]).count();
    assert!(one_account.contains(&format!("{own} of {}", findings.len())), "the account filter shows its {own} findings");

    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-html.png");
    chromium(profile.path(), &["--window-size=1280,900".into(), "--hide-scrollbars".into(), format!("--screenshot={}", screenshot.display()), format!("file://{}", page.display())]);
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "a screenshot of the page ({} bytes)", png.len());
    if std::env::var_os("MAMORI_UPDATE_DOCS").is_some() {
        std::fs::copy(&screenshot, Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-html.png")).unwrap();
    }
}

#[tokio::test]
async fn the_reports_of_two_shards_merge_into_the_report_of_the_whole_run_without_aws() {
    let org = Organization::create(&[("one", "workloads"), ("two", "prod"), ("three", "root")], None).await;
    let (_dir, baseline) = baseline_file(&baseline());
    let out = tempfile::tempdir().unwrap();
    let (_, whole) = verify_everything(&org, &baseline, out.path(), &[]);
    let mut shards = Vec::new();
    for shard in ["1/2", "2/2"] {
        let (_, part) = verify_everything(&org, &baseline, out.path(), &["--shard", shard]);
        let path = out.path().join(format!("shard-{}.json", &shard[..1]));
        std::fs::write(&path, part.to_string()).unwrap();
        shards.push(path);
    }
    let tripwire = Tripwire::new();
    let merged = mamori(&["report", "json", shards[0].to_str().unwrap(), shards[1].to_str().unwrap()], &tripwire.env());
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    assert!(!tripwire.touched(), "mamori report calls no AWS API");
    let merged: Value = serde_json::from_str(&stdout(&merged)).unwrap();
    let key = |f: &Value| (f["account"].to_string(), f["control"].to_string(), f["resource"].to_string(), f["status"].to_string());
    let mut merged_findings: Vec<_> = merged["findings"].as_array().unwrap().iter().map(key).collect();
    let mut whole_findings: Vec<_> = whole["findings"].as_array().unwrap().iter().map(key).collect();
    merged_findings.sort();
    whole_findings.sort();
    assert_eq!(merged_findings, whole_findings);
    assert_eq!(merged["summary"], whole["summary"]);
    let ids = |r: &Value| r["accounts"].as_array().unwrap().iter().map(|a| a["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&merged), ids(&whole));

    let page = mamori(&["report", "html", shards[0].to_str().unwrap(), shards[1].to_str().unwrap()], &tripwire.env());
    assert_eq!(page.status.code(), Some(0));
    assert_eq!(stdout(&page).matches("<tr class=\"finding\"").count(), whole_findings.len());
    let overlap = mamori(&["report", "html", shards[0].to_str().unwrap(), shards[0].to_str().unwrap()], &tripwire.env());
    assert_eq!(overlap.status.code(), Some(1));
    assert!(stderr(&overlap).contains("is already in an earlier report"), "{}", stderr(&overlap));
}
