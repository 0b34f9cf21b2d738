//! The organization layout end to end on moto (`organization.log_archive_account`): the management
//! account runs the organization trail, the log-archive account holds the locked audit bucket the
//! trail delivers into, and every member gets the rest of the standard baseline, in one `apply --org`.

use std::path::Path;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use mamori::app::Outcome;
use mamori::aws::AccessMode;
use mamori::fleet::AccountSelection;
use mamori::report::{Status, Verb};
use serde_json::Value;

use crate::harness::{baseline_file, standard_baseline, Account, Organization};

const HOME: &str = "us-east-1";
const SESSION_ROLE: &str = "mamori-ssm-session-instance";

/// The standard baseline with the organization layout: `archive` holds the audit bucket.
fn layout_baseline(archive: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let standard = std::fs::read_to_string(standard_baseline()).expect("read the standard baseline");
    baseline_file(&format!("{standard}\norganization:\n  log_archive_account: \"{archive}\"\n"))
}

fn every_account() -> AccountSelection {
    AccountSelection { organization: true, ..AccountSelection::default() }
}

async fn run(org: &Organization, verb: Verb, baseline: &Path) -> Outcome {
    org.management.run_fleet(verb, baseline, &[], every_account()).await.unwrap_or_else(|e| panic!("{} --org: {e}", verb.name()))
}

/// Findings that neither pass nor wait for a person (the root user's steps, a subscriber to confirm,
/// the default VPC's network ACL left to the operator): what an `apply` must leave none of.
fn unconverged(outcome: &Outcome) -> Vec<String> {
    outcome
        .report
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Error))
        .map(|f| format!("{} {} {} {}: {}", f.account, f.control, f.region, f.resource, f.message))
        .collect()
}

fn status_in(outcome: &Outcome, account: &str, control: &str) -> Vec<Status> {
    outcome.report.findings.iter().filter(|f| f.account == account && f.control == control).map(|f| f.status).collect()
}

fn statement_sids(policy: &str) -> Vec<String> {
    let policy: Value = serde_json::from_str(policy).expect("a JSON policy");
    policy["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn the_management_trail_delivers_into_the_log_archive_bucket_and_members_get_the_rest() {
    let org = Organization::create(&[("log-archive", "root"), ("alpha", "workloads"), ("beta", "prod"), ("gamma", "prod")], None).await;
    let (archive, management) = (org.id("log-archive"), org.management.id.clone());
    let members = [org.id("alpha"), org.id("beta"), org.id("gamma")];
    let (_dir, baseline) = layout_baseline(&archive);

    let apply = run(&org, Verb::Apply, &baseline).await;
    assert!(unconverged(&apply).is_empty(), "one apply --org converges every account: {:#?}", unconverged(&apply));

    // The audit bucket exists in the log-archive account only, with the organization's policy.
    let audit_bucket = format!("mamori-audit-{archive}-{HOME}");
    let archive_account = org.management.member(&archive).await;
    let archive_s3 = archive_account.aws(AccessMode::ReadWrite).await.s3(HOME);
    let policy = archive_s3.get_bucket_policy().bucket(&audit_bucket).send().await.expect("the audit bucket and its policy").policy.unwrap();
    let sids = statement_sids(&policy);
    for sid in ["MamoriCloudTrailWrite", "MamoriOrganizationSessionLogs", "MamoriLogBucketLock"] {
        assert!(sids.contains(&sid.to_string()), "{sid} in {sids:?}");
    }
    let organization_id = org.management.aws(AccessMode::ReadOnly).await.organizations().describe_organization().send().await.unwrap();
    let organization_id = organization_id.organization().unwrap().id().unwrap().to_string();
    assert!(policy.contains(&format!("AWSLogs/{organization_id}/*")), "CloudTrail writes for the organization: {policy}");
    assert!(policy.contains(&format!(":cloudtrail:{HOME}:{management}:trail/")), "only the management account's trail: {policy}");
    for account in std::iter::once(&management).chain(&members) {
        assert_eq!(status_in(&apply, account, "logs.bucket"), [Status::Skipped], "{account}: the audit bucket is the log-archive account's");
        let buckets = match *account == management {
            true => org.management.aws(AccessMode::ReadOnly).await,
            false => org.management.member(account).await.aws(AccessMode::ReadOnly).await,
        };
        let names: Vec<String> = buckets.s3(HOME).list_buckets().send().await.unwrap().buckets().iter().filter_map(|b| b.name().map(str::to_string)).collect();
        assert!(!names.iter().any(|n| n.starts_with("mamori-audit-")), "{account} holds no audit bucket of its own: {names:?}");
    }

    // The organization trail is the management account's, and delivers into the log-archive bucket.
    let trails = org.management.aws(AccessMode::ReadOnly).await.cloudtrail(HOME).describe_trails().send().await.unwrap();
    let trail = trails.trail_list().iter().find(|t| t.is_organization_trail() == Some(true)).expect("an organization trail").clone();
    assert_eq!(trail.s3_bucket_name(), Some(audit_bucket.as_str()));
    assert_eq!(status_in(&apply, &management, "logs.alarms").iter().filter(|s| **s == Status::Skipped).count(), 0, "the alarms run in the management account");
    for member in &members {
        let trail_findings: Vec<_> = apply.report.findings.iter().filter(|f| f.account == *member && f.control == "logs.trail").collect();
        assert!(trail_findings.iter().any(|f| f.status == Status::Pass && f.message.contains(trail.trail_arn().unwrap())), "{member}: covered by the organization trail: {trail_findings:#?}");
        assert!(status_in(&apply, member, "logs.alarms").iter().all(|s| *s == Status::Skipped), "{member}: the alarms are the management account's");
        assert!(status_in(&apply, member, "ebs.default-encryption").iter().all(|s| *s == Status::Pass), "{member}: the rest of the baseline runs everywhere");
    }
    let archive_trails = archive_account.aws(AccessMode::ReadOnly).await.cloudtrail(HOME).describe_trails().include_shadow_trails(false).send().await.unwrap();
    assert!(archive_trails.trail_list().is_empty(), "no member trail: the organization trail records them all");

    // Members write their session logs into the log-archive bucket: their instance role's policy names it.
    let member = org.management.member(&members[0]).await;
    let iam = member.aws(AccessMode::ReadOnly).await.iam();
    let document = iam.get_role_policy().role_name(SESSION_ROLE).policy_name("ssm-session-instance").send().await.expect("the instance role's policy");
    let document = mamori::policy::parse_document(document.policy_document()).expect("a policy document");
    assert!(document.to_string().contains(&format!("arn:aws:s3:::{audit_bucket}/session-logs/*")), "{document}");

    // A second apply writes nothing in any account.
    let again = run(&org, Verb::Apply, &baseline).await;
    assert_eq!(again.calls_by_account.len(), 5);
    for (account, calls) in &again.calls_by_account {
        let writes: Vec<String> = calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
        assert!(writes.is_empty(), "second apply wrote in {account}: {writes:?}");
    }
    let verify = run(&org, Verb::Verify, &baseline).await;
    assert!(unconverged(&verify).is_empty(), "{:#?}", unconverged(&verify));

    // The log-archive bucket refuses deletion, as in a single account (the lock's Deny, enforced by the
    // emulator shim), to the log-archive account's administrators too.
    let refused = |result: Result<(), String>| result.err().is_some_and(|code| code == "AccessDenied");
    let object = archive_s3.delete_object().bucket(&audit_bucket).key(format!("AWSLogs/{organization_id}/probe.json.gz")).send().await;
    assert!(refused(object.map(|_| ()).map_err(|e| e.code().unwrap_or_default().to_string())), "object deletion is refused");
    let bucket = archive_s3.delete_bucket().bucket(&audit_bucket).send().await;
    assert!(refused(bucket.map(|_| ()).map_err(|e| e.code().unwrap_or_default().to_string())), "bucket deletion is refused");
    let policy = archive_s3.delete_bucket_policy().bucket(&audit_bucket).send().await;
    assert!(refused(policy.map(|_| ()).map_err(|e| e.code().unwrap_or_default().to_string())), "removing the lock is refused");
}

/// A bare management account that reaches the new account with the role Organizations created: the
/// documented bootstrap of a project account (`apply --account ID`).
#[tokio::test]
async fn a_new_project_account_is_bootstrapped_with_apply_account() {
    let org = Organization::create(&[("log-archive", "root"), ("project", "workloads")], None).await;
    let (_dir, baseline) = layout_baseline(&org.id("log-archive"));
    // The order for a new organization: the management account and the log-archive account first...
    let first = AccountSelection { accounts: vec![org.management.id.clone(), org.id("log-archive")], ..AccountSelection::default() };
    let setup = org.management.run_fleet(Verb::Apply, &baseline, &[], first).await.unwrap();
    assert!(unconverged(&setup).is_empty(), "{:#?}", unconverged(&setup));
    // ...then each new project account on its own.
    let project = AccountSelection { accounts: vec![org.id("project")], ..AccountSelection::default() };
    let bootstrap = org.management.run_fleet(Verb::Apply, &baseline, &[], project.clone()).await.unwrap();
    assert!(unconverged(&bootstrap).is_empty(), "{:#?}", unconverged(&bootstrap));
    assert_eq!(bootstrap.calls_by_account.keys().collect::<Vec<_>>(), [&org.id("project")], "only the new account is entered");
    assert!(status_in(&bootstrap, &org.id("project"), "logs.trail").contains(&Status::Pass), "covered by the organization trail from its first run");
    let again = org.management.run_fleet(Verb::Apply, &baseline, &[], project).await.unwrap();
    assert!(again.calls_by_account[&org.id("project")].mutating_sent().is_empty());
}

#[tokio::test]
async fn without_the_log_archive_account_every_account_keeps_its_own_bucket() {
    let org = Organization::create(&[("member", "root")], None).await;
    let member = org.id("member");
    let only = ["kms.baseline-key", "logs.bucket"];
    let apply = org.management.run_fleet(Verb::Apply, &standard_baseline(), &only, every_account()).await.unwrap();
    assert!(unconverged(&apply).is_empty(), "{:#?}", unconverged(&apply));
    let entered: Account = org.management.member(&member).await;
    let names: Vec<String> = entered.aws(AccessMode::ReadOnly).await.s3(HOME).list_buckets().send().await.unwrap().buckets().iter().filter_map(|b| b.name().map(str::to_string)).collect();
    assert!(names.contains(&format!("mamori-audit-{member}-{HOME}")), "{names:?}");
}
