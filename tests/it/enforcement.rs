//! mamori's least privilege proved under IAM enforcement: moto authorizes every request by the
//! caller's identity policies (`POST /moto-api/reset-auth`), mamori runs with the keys of an IAM user
//! that carries only the policy `mamori policy` prints for the verb, and the run must meet no denial.
//!
//! Enforcement is global to a moto server, so every test here runs on a server of its own
//! ([`OwnMoto`]); the other tests of the binary never meet it. The account is built with enforcement
//! off (the harness's own role), then switched on for mamori's runs.
//!
//! moto does not authorize exactly as AWS does, and the user's copy of the printed policy is adjusted
//! for it here, never in the product ([`as_moto_authorizes`]):
//! - CloudWatch actions are checked as `monitoring:<Action>`;
//! - S3 requests are checked under moto's own action names (`s3:HeadBucket`, `s3:GetPublicAccessBlock`,
//!   and the bucket's default action `s3:ListBucket`/`s3:CreateBucket` for the encryption and Object
//!   Lock subresources), against the bucket's ARN as AWS does;
//! - every other service is checked against the resource `*` (moto resolves a resource only for S3,
//!   STS AssumeRole and IAM's calls naming an existing role), which no statement scoped to an ARN
//!   matches: those statements are widened to `*` in the copy, and their scoping is held to the
//!   Service Authorization Reference by the unit tests of `src/least_privilege/`.
//!
//! moto's signature check under enforcement re-encodes form bodies before recomputing the signature;
//! the emulator shim `moto_signature_form_encoding.py` lets the SDK's `%20` encoding through, and the
//! last test here holds the shim to refusing a wrong secret.

use std::path::Path;

use aws_sdk_ec2::types::{InstanceType, IpPermission, IpRange};
use mamori::app::Outcome;
use mamori::aws::{AccessMode, AwsError, NameCall};
use mamori::report::{Finding, Status, Verb};
use serde_json::{json, Value};

use crate::harness::{standard_baseline_with_subscriber, Account, OwnMoto};
use crate::least_privilege::printed_policy;

/// moto's names for the S3 actions mamori declares, where they differ (moto's `s3/responses.py`
/// `ACTION_MAP`): the AWS action, and what moto checks instead for the same request.
const MOTO_S3_NAMES: &[(&str, &str)] = &[
    ("s3:ListBucket", "s3:HeadBucket"),
    ("s3:GetBucketPublicAccessBlock", "s3:GetPublicAccessBlock"),
    ("s3:PutBucketPublicAccessBlock", "s3:PutPublicAccessBlock"),
    ("s3:GetAccountPublicAccessBlock", "s3:GetPublicAccessBlock"),
    ("s3:PutAccountPublicAccessBlock", "s3:PutPublicAccessBlock"),
    ("s3:GetEncryptionConfiguration", "s3:ListBucket"),
    ("s3:GetBucketObjectLockConfiguration", "s3:ListBucket"),
    ("s3:PutEncryptionConfiguration", "s3:CreateBucket"),
    ("s3:PutBucketObjectLockConfiguration", "s3:CreateBucket"),
];

/// The printed `policy` as moto authorizes it (see the module docs): the same grants under moto's
/// action names, non-S3 statements widened to `*`. Nothing is added that the printed policy does not
/// grant under AWS's name.
pub fn as_moto_authorizes(policy: &Value) -> Value {
    let mut copy = policy.clone();
    for statement in copy["Statement"].as_array_mut().expect("statements") {
        let actions: Vec<String> = statement["Action"].as_array().expect("actions").iter().filter_map(Value::as_str).map(str::to_string).collect();
        let mut named = actions.clone();
        for action in &actions {
            if let Some(operation) = action.strip_prefix("cloudwatch:") {
                named.push(format!("monitoring:{operation}"));
            }
            named.extend(MOTO_S3_NAMES.iter().filter(|(aws, _)| aws == action).map(|(_, moto)| moto.to_string()));
        }
        named.sort();
        named.dedup();
        statement["Action"] = json!(named);
        if !actions.iter().all(|action| action.starts_with("s3:") || action.starts_with("sts:")) {
            statement["Resource"] = json!("*");
        }
    }
    copy
}

/// An IAM user of `account` carrying only `policy` (inline), and its access key: the account as that
/// user enters it.
pub async fn user_with_policy(account: &Account, name: &str, policy: &Value) -> Account {
    let iam = account.aws(AccessMode::ReadWrite).await.iam();
    iam.create_user().user_name(name).send().await.unwrap();
    iam.put_user_policy().user_name(name).policy_name(name).policy_document(policy.to_string()).send().await.unwrap();
    let key = iam.create_access_key().user_name(name).send().await.unwrap().access_key.unwrap();
    account.with_access_key(key.access_key_id(), key.secret_access_key())
}

/// The requests moto refused since `from` (a byte offset of its log): access lines answered 403.
pub fn refused_since(server: &OwnMoto, from: usize) -> Vec<String> {
    server.log()[from..].lines().filter(|line| line.contains("\" 403 ")).map(str::to_string).collect()
}

/// Runs `verb` as `identity` and checks that moto refused none of its requests and that no finding
/// is `error`.
async fn run_unrefused(server: &OwnMoto, identity: &Account, verb: Verb, baseline: &Path) -> Outcome {
    let from = server.log().len();
    let outcome = identity.run(verb, baseline, &[]).await;
    let errors: Vec<String> = outcome.report.findings.iter().filter(|f| f.status == Status::Error).map(|f| format!("{} {}: {}", f.control, f.resource, f.message)).collect();
    assert!(errors.is_empty(), "{} under its printed policy: error findings {errors:#?} (moto's log: {})", verb.name(), server.log_path().display());
    let refused = refused_since(server, from);
    assert!(refused.is_empty(), "{} under its printed policy: moto refused {refused:#?}", verb.name());
    outcome
}

/// A write refused for lack of permission: the SDK's code where it could read one (EC2, S3, IAM, the
/// query services), and HTTP 403 in any case (moto answers the JSON services' denials in XML, which
/// the SDK cannot read a code from).
fn assert_denied<T: std::fmt::Debug>(result: Result<T, AwsError>, what: &str) {
    let error = result.expect_err(&format!("{what} was allowed"));
    let denied_code = error.code.as_deref().is_none_or(|code| ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"].contains(&code));
    assert!(error.status == Some(403) && denied_code, "{what}: not a denial: {error:?}");
}

#[tokio::test]
async fn verify_under_the_printed_verify_policy_meets_no_denial_and_its_user_cannot_write() {
    let server = OwnMoto::start();
    let account = Account::fresh_on(&server).await;
    let (_dir, baseline) = standard_baseline_with_subscriber();
    // Legacy content every read meets: a user with a key, an instance, a group open to SSH.
    let admin = account.aws(AccessMode::ReadWrite).await;
    admin.iam().create_user().user_name("legacy").send().await.unwrap();
    admin.iam().create_access_key().user_name("legacy").send().await.unwrap();
    let ec2 = admin.ec2("us-east-1");
    let image = ec2.describe_images().send().await.unwrap().images()[0].image_id().unwrap().to_string();
    ec2.run_instances().image_id(image).instance_type(InstanceType::T3Micro).min_count(1).max_count(1).send().await.unwrap();
    let group = ec2.create_security_group().group_name("legacy-ssh").description("legacy").send().await.unwrap().group_id().unwrap().to_string();
    let ssh = IpPermission::builder().ip_protocol("tcp").from_port(22).to_port(22).ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build()).build();
    ec2.authorize_security_group_ingress().group_id(&group).ip_permissions(ssh).send().await.unwrap();
    let auditor = user_with_policy(&account, "mamori-verify", &as_moto_authorizes(&printed_policy(&baseline, Verb::Verify, &[]))).await;

    server.enforce_iam(true);
    let fresh = run_unrefused(&server, &auditor, Verb::Verify, &baseline).await;
    assert!(fresh.report.findings.iter().any(|f| f.status == Status::Fail), "a fresh account drifts: the reads saw it");
    run_unrefused(&server, &auditor, Verb::Plan, &baseline).await;

    // The guard is not the only barrier: the same user, through a client without it, is refused.
    let unguarded = auditor.aws(AccessMode::ReadWrite).await;
    assert_denied(unguarded.s3("us-east-1").create_bucket().bucket("mamori-verify-writes").send().await.named("s3:CreateBucket"), "s3:CreateBucket");
    assert_denied(unguarded.kms("us-east-1").create_key().send().await.named("kms:CreateKey"), "kms:CreateKey");
    assert_denied(unguarded.ec2("us-east-1").enable_ebs_encryption_by_default().send().await.named("ec2:EnableEbsEncryptionByDefault"), "ec2:EnableEbsEncryptionByDefault");
    assert_denied(unguarded.iam().update_account_password_policy().minimum_password_length(14).send().await.named("iam:UpdateAccountPasswordPolicy"), "iam:UpdateAccountPasswordPolicy");
    assert_denied(unguarded.cloudtrail("us-east-1").start_logging().name("mamori-trail").send().await.named("cloudtrail:StartLogging"), "cloudtrail:StartLogging");
}

#[tokio::test]
async fn apply_under_the_printed_apply_policy_converges_a_fresh_account() {
    let server = OwnMoto::start();
    let account = Account::fresh_on(&server).await;
    let (_dir, baseline) = standard_baseline_with_subscriber();
    let operator = user_with_policy(&account, "mamori-apply", &as_moto_authorizes(&printed_policy(&baseline, Verb::Apply, &[]))).await;
    let auditor = user_with_policy(&account, "mamori-verify", &as_moto_authorizes(&printed_policy(&baseline, Verb::Verify, &[]))).await;

    server.enforce_iam(true);
    let planned = run_unrefused(&server, &operator, Verb::Plan, &baseline).await;
    assert!(!planned.report.changes.as_deref().unwrap_or_default().is_empty(), "a fresh account has changes pending");
    run_unrefused(&server, &operator, Verb::Apply, &baseline).await;
    let verified = run_unrefused(&server, &auditor, Verb::Verify, &baseline).await;
    let open: Vec<String> = verified
        .report
        .findings
        .iter()
        .filter(|f| !matches!(f.status, Status::Pass | Status::Skipped) && !left_to_a_person(f))
        .map(|f| format!("{} {} {:?}: {}", f.control, f.resource, f.status, f.message))
        .collect();
    assert!(open.is_empty(), "verify after apply, beyond the root user's steps: {open:#?}");
    let again = run_unrefused(&server, &operator, Verb::Apply, &baseline).await;
    assert!(again.calls.mutating_sent().is_empty(), "a converged apply writes nothing: {:?}", again.calls.mutating_sent());
}

/// What a converged standard baseline leaves `manual` on purpose: the root user's steps (MFA, MFA
/// Delete on the audit bucket), the alarm subscription (its recipient confirms it), the default
/// network ACL's open admin ports (a fix the standard baseline leaves opt-in), and the test's own
/// IAM users, whose access keys `ec2.embedded-keys` rightly reports as application identities.
fn left_to_a_person(finding: &Finding) -> bool {
    finding.status == Status::Manual
        && (["root.mfa", "logs.bucket-mfa-delete", "vpc.nacl-admin-ports"].contains(&finding.control.as_str())
            || (finding.control == "logs.alarms" && finding.resource.ends_with("/subscribers"))
            || (finding.control == "ec2.embedded-keys" && ["user/mamori-apply", "user/mamori-verify"].contains(&finding.resource.as_str())))
}

/// `policy` without `actions`, wherever they are granted.
fn without(policy: &Value, actions: &[&str]) -> Value {
    let mut narrowed = policy.clone();
    for statement in narrowed["Statement"].as_array_mut().expect("statements") {
        let kept: Vec<Value> = statement["Action"].as_array().expect("actions").iter().filter(|action| !actions.iter().any(|removed| action.as_str() == Some(removed))).cloned().collect();
        statement["Action"] = json!(kept);
    }
    narrowed["Statement"] = json!(narrowed["Statement"].as_array().unwrap().iter().filter(|s| !s["Action"].as_array().unwrap().is_empty()).cloned().collect::<Vec<_>>());
    narrowed
}

#[tokio::test]
async fn a_denied_call_becomes_an_error_finding_that_names_the_action_to_grant() {
    let server = OwnMoto::start();
    let account = Account::fresh_on(&server).await;
    let (_dir, baseline) = standard_baseline_with_subscriber();
    // One action of a query-protocol service (EC2 answers UnauthorizedOperation), one of a JSON
    // service (moto's 403 carries no code the SDK can read).
    let lacking = ["ec2:DescribeSecurityGroups", "cloudtrail:DescribeTrails"];
    let policy = without(&as_moto_authorizes(&printed_policy(&baseline, Verb::Verify, &[])), &lacking);
    let auditor = user_with_policy(&account, "mamori-verify", &policy).await;

    server.enforce_iam(true);
    let outcome = auditor.run(Verb::Verify, &baseline, &[]).await;
    let errors: Vec<&Finding> = outcome.report.findings.iter().filter(|f| f.status == Status::Error).collect();
    assert!(!errors.is_empty(), "the denials show");
    let fix = format!("run `mamori policy --verb verify --baseline {}` to print the policy this run needs", baseline.display());
    let mut named = std::collections::BTreeSet::new();
    for finding in &errors {
        let action = lacking.iter().find(|action| finding.message.contains(&format!("mamori needs `{action}`"))).unwrap_or_else(|| panic!("{}: names no lacking action: {}", finding.control, finding.message));
        assert!(finding.message.contains(&fix), "{}: {}", finding.control, finding.message);
        named.insert(*action);
    }
    assert_eq!(named.into_iter().collect::<Vec<_>>(), ["cloudtrail:DescribeTrails", "ec2:DescribeSecurityGroups"], "each lacking action is named: {errors:#?}");
    assert!(errors.iter().any(|f| f.control == "ec2.no-open-admin-ports") && errors.iter().any(|f| f.control == "logs.trail"), "{errors:#?}");
}

/// The signature shim (`moto_signature_form_encoding.py`): under enforcement, a form body whose
/// parameters hold spaces (sent `%20`-encoded by the SDK) passes moto's signature check when signed
/// with the right secret, and still fails with a wrong one.
#[tokio::test]
async fn under_enforcement_a_spaced_form_body_is_checked_against_the_right_secret() {
    let server = OwnMoto::start();
    let account = Account::fresh_on(&server).await;
    let allowed = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*"}]});
    let iam = account.aws(AccessMode::ReadWrite).await.iam();
    iam.create_user().user_name("roles").send().await.unwrap();
    iam.put_user_policy().user_name("roles").policy_name("roles").policy_document(allowed.to_string()).send().await.unwrap();
    let key = iam.create_access_key().user_name("roles").send().await.unwrap().access_key.unwrap();
    let trust = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"*\"}, \"Action\": \"sts:AssumeRole\"}]\n}";

    server.enforce_iam(true);
    let create = |identity: Account, name: &'static str| async move {
        identity.aws(AccessMode::ReadWrite).await.iam().create_role().role_name(name).assume_role_policy_document(trust).send().await.named("iam:CreateRole")
    };
    create(account.with_access_key(key.access_key_id(), key.secret_access_key()), "spaced").await.expect("signed right, allowed");
    let forged = create(account.with_access_key(key.access_key_id(), "not-the-secret"), "forged").await.expect_err("a wrong secret is refused");
    // The user may call CreateRole, so the 403 is the signature's (moto's IAM error body, `<Errors>`
    // around `<Error>`, is not the one the SDK reads a code from).
    assert_eq!(forged.status, Some(403), "{forged:?}");
}
