//! mamori's own least privilege, proved by recording: every call a run makes (the call log, not the
//! declarations) is an action the policy `mamori policy` prints for that verb allows. An uncovered
//! call fails the test naming the action and the control that sent it (found by running each
//! control of the run alone on the same account).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use aws_sdk_ec2::types::{InstanceType, IpPermission, IpRange};
use mamori::app::Outcome;
use mamori::aws::AccessMode;
use mamori::baseline::Baseline;
use mamori::controls::catalogue;
use mamori::engine::selection;
use mamori::least_privilege::{self, document, operations, RunShape};
use mamori::policy::permissions;
use mamori::policy::request::{Principal, Request};
use mamori::report::Verb;

use crate::harness::{baseline_file, mamori, standard_baseline, standard_baseline_with_subscriber, Account};

/// The policy `mamori policy --verb VERB --baseline FILE --only ...` prints, as action → resources.
pub fn printed_policy(baseline: &Path, verb: Verb, only: &[&str]) -> serde_json::Value {
    let baseline = Baseline::load(baseline).expect("the baseline loads");
    let catalogue = catalogue();
    let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
    let selected = selection::select(&catalogue, &only).expect("known controls");
    document::policy(&least_privilege::declared(&selected, &baseline, RunShape { verb, organization: false }))
}

/// The actions of the sent calls of `outcome` that `policy` does not allow.
fn uncovered(outcome: &Outcome, policy: &serde_json::Value) -> BTreeSet<String> {
    let allowed = document::allowed(policy);
    outcome.calls.sent().iter().flat_map(|call| operations::iam_actions(&call.service, &call.operation)).filter(|action| !allowed.contains_key(action)).collect()
}

/// Runs `verb` on `account` and checks every call it made against the printed policy; on a miss,
/// runs each selected control alone to name the one that sent the undeclared action.
async fn run_covered(account: &Account, verb: Verb, baseline: &Path, only: &[&str]) -> Outcome {
    let policy = printed_policy(baseline, verb, only);
    let outcome = account.run(verb, baseline, only).await;
    let missing = uncovered(&outcome, &policy);
    if missing.is_empty() {
        return outcome;
    }
    let only_names: Vec<String> = only.iter().map(|s| s.to_string()).collect();
    let catalogue = catalogue();
    let mut by_control: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for control in selection::select(&catalogue, &only_names).unwrap() {
        let id = control.meta().id;
        let alone = account.run(verb, baseline, &[id]).await;
        let sent: BTreeSet<String> = alone.calls.sent().iter().flat_map(|c| operations::iam_actions(&c.service, &c.operation)).collect();
        for action in missing.iter().filter(|a| sent.contains(*a)) {
            by_control.entry(id).or_default().insert(action.clone());
        }
    }
    panic!("{} called actions its printed policy lacks: {missing:?}; by control (run alone): {by_control:?}", verb.name());
}

#[tokio::test]
async fn every_call_of_the_standard_baseline_is_covered_by_the_policy_printed_for_its_verb() {
    let account = Account::fresh().await;
    let (_dir, baseline) = standard_baseline_with_subscriber();
    run_covered(&account, Verb::Verify, &baseline, &[]).await;
    run_covered(&account, Verb::Plan, &baseline, &[]).await;
    run_covered(&account, Verb::Apply, &baseline, &[]).await;
    let converged = run_covered(&account, Verb::Verify, &baseline, &[]).await;
    assert!(converged.calls.mutating_sent().is_empty());
    let again = run_covered(&account, Verb::Apply, &baseline, &[]).await;
    assert!(again.calls.mutating_sent().is_empty(), "a converged apply writes nothing: {:?}", again.calls.mutating_sent());
}

#[tokio::test]
async fn every_call_on_a_legacy_account_with_the_opt_in_fixes_is_covered() {
    let account = Account::fresh().await;
    let aws = account.aws(AccessMode::ReadWrite).await;
    let (iam, ec2) = (aws.iam(), aws.ec2("us-east-1"));
    // Users: an administrator with an access key, a console user without MFA.
    let star = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;
    let policy = iam.create_policy().policy_name("legacy-full-access").policy_document(star).send().await.unwrap().policy.unwrap();
    iam.create_user().user_name("legacy-admin").send().await.unwrap();
    iam.attach_user_policy().user_name("legacy-admin").policy_arn(policy.arn().unwrap()).send().await.unwrap();
    iam.create_access_key().user_name("legacy-admin").send().await.unwrap();
    iam.create_user().user_name("legacy-console").send().await.unwrap();
    iam.create_login_profile().user_name("legacy-console").password("Legacy-Passw0rd!").send().await.unwrap();
    // An instance without a profile, and a security group with SSH open to the world.
    let image = ec2.describe_images().send().await.unwrap().images()[0].image_id().unwrap().to_string();
    ec2.run_instances().image_id(image).instance_type(InstanceType::T3Micro).min_count(1).max_count(1).send().await.unwrap();
    let group = ec2.create_security_group().group_name("legacy-ssh").description("legacy").send().await.unwrap().group_id().unwrap().to_string();
    let ssh = IpPermission::builder().ip_protocol("tcp").from_port(22).to_port(22).ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build()).build();
    ec2.authorize_security_group_ingress().group_id(&group).ip_permissions(ssh).send().await.unwrap();

    let standard = std::fs::read_to_string(standard_baseline()).unwrap();
    let opted_in = [
        ("attach_to_unprofiled_instances: false", "attach_to_unprofiled_instances: true"),
        ("revoke_open_admin_ports: false", "revoke_open_admin_ports: true"),
        ("running_instances: false", "running_instances: true"),
        ("remove_login_without_mfa: false", "remove_login_without_mfa: true"),
        ("deny_open_admin_ports: false", "deny_open_admin_ports: true"),
    ]
    .iter()
    .fold(standard, |text, (from, to)| {
        assert!(text.contains(from), "{from}");
        text.replace(from, to)
    });
    let (_dir, baseline) = baseline_file(&opted_in);
    let only = ["root", "iam", "ec2", "ssm", "vpc"];
    run_covered(&account, Verb::Verify, &baseline, &only).await;
    let applied = run_covered(&account, Verb::Apply, &baseline, &only).await;
    let wrote: BTreeSet<String> = applied.calls.mutating_sent().iter().map(|c| c.name()).collect();
    for write in ["EC2:AssociateIamInstanceProfile", "EC2:RevokeSecurityGroupIngress", "EC2:ModifyInstanceMetadataOptions", "IAM:DeleteLoginProfile"] {
        assert!(wrote.contains(write), "the opt-in fixes ran ({write}): {wrote:?}");
    }
    run_covered(&account, Verb::Verify, &baseline, &only).await;
}

/// The AWS managed policies an auditor may attach instead of the printed verify policy, as moto
/// ships them (its snapshot of AWS's documents; the README says of which date).
const MANAGED_FOR_AUDITORS: &[&str] = &["SecurityAudit", "ReadOnlyAccess"];

/// What each managed policy leaves out of the verify policy of the standard baseline, judged by
/// mamori's own policy evaluator, must be what the README says. Fails with the README's lines as they
/// should read.
#[tokio::test]
async fn the_readme_says_what_each_managed_audit_policy_lacks_for_verify() {
    let account = Account::fresh().await;
    let iam = account.aws(AccessMode::ReadOnly).await.iam();
    let verify = printed_policy(&standard_baseline(), Verb::Verify, &[]);
    let auditor = Principal::aws(&format!("arn:aws:iam::{}:role/auditor", account.id));
    // GetCallerIdentity needs no permission, and no policy can deny it (STS API Reference,
    // https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    let wanted: Vec<Request> = document::allowed(&verify)
        .into_iter()
        .filter(|(action, _)| action != "sts:GetCallerIdentity")
        .flat_map(|(action, resources)| resources.into_iter().map(move |resource| (action.clone(), resource.replace(":*:*:", ":us-east-1:123456789012:"))))
        .map(|(action, resource)| Request::new(auditor.clone(), &action, &resource))
        .collect();
    let mut lines = Vec::new();
    for name in MANAGED_FOR_AUDITORS {
        let arn = format!("arn:aws:iam::aws:policy/{name}");
        let version = iam.get_policy().policy_arn(&arn).send().await.unwrap().policy.unwrap().default_version_id.unwrap();
        let text = iam.get_policy_version().policy_arn(&arn).version_id(version).send().await.unwrap().policy_version.unwrap().document.unwrap();
        let managed = mamori::policy::parse_document(&text).expect("a policy document");
        let missing: BTreeSet<String> = permissions::missing(&[&managed], &wanted).into_iter().map(|request| request.action.clone()).collect();
        let listed = if missing.is_empty() { "nothing".to_string() } else { missing.iter().map(|action| format!("`{action}`")).collect::<Vec<_>>().join(", ") };
        lines.push(format!("- `{name}` lacks: {listed}."));
    }
    let readme = std::fs::read_to_string(crate::harness::repo().join("README.md")).unwrap();
    for line in &lines {
        assert!(readme.contains(line.as_str()), "the README's section on managed policies should say:\n{}", lines.join("\n"));
    }
}

/// The README's StackSet recipe: its step-1 command, run as written, prints a template that
/// CloudFormation deploys (on moto) into the role a `--org` run with `organization.role_name:
/// mamori-verify` assumes, carrying exactly the printed verify policy and trusting only the runner.
#[tokio::test]
async fn the_readme_stackset_template_deploys_the_role_the_org_run_assumes() {
    let readme = std::fs::read_to_string(crate::harness::repo().join("README.md")).unwrap();
    let command = readme.lines().find(|line| line.starts_with("mamori policy ") && line.contains("--format cloudformation")).expect("the README's recipe prints the template");
    let args: Vec<&str> = command.split_whitespace().skip(1).take_while(|word| *word != ">").collect();
    let printed = mamori(&args, &[]);
    assert!(printed.status.success(), "{command}: {}", crate::harness::stderr(&printed));
    let template = crate::harness::stdout(&printed);
    let trusted = args.iter().skip_while(|word| **word != "--trust").nth(1).expect("the recipe names the runner role").to_string();

    let account = Account::fresh().await;
    let deploy = Command::new(crate::harness::repo().join(".venv/moto/bin/python"))
        .args(["-c", CREATE_STACK, &template])
        .envs(account.env())
        .output()
        .expect("run the moto venv's python");
    assert!(deploy.status.success(), "CloudFormation refused the template: {}", String::from_utf8_lossy(&deploy.stderr));

    let iam = account.aws(AccessMode::ReadOnly).await.iam();
    let role = iam.get_role().role_name("mamori-verify").send().await.expect("the stack made the role").role.unwrap();
    let trust = mamori::policy::parse_document(role.assume_role_policy_document().unwrap()).expect("a trust policy");
    assert_eq!(trust["Statement"][0]["Principal"]["AWS"], trusted.as_str());
    let inline = iam.get_role_policy().role_name("mamori-verify").policy_name("mamori-verify").send().await.unwrap();
    // moto's CloudFormation stores an inline role policy as Python prints a dict ('...' quotes); no
    // string of the printed policy holds a quote, so the document reads back as JSON with them swapped.
    let policy = mamori::policy::parse_document(&inline.policy_document().replace('\'', "\"")).unwrap_or_else(|| panic!("{}", inline.policy_document()));
    assert_eq!(policy, printed_policy(&standard_baseline(), Verb::Verify, &[]), "the role carries the printed verify policy");

    let with_role = std::fs::read_to_string(standard_baseline()).unwrap() + "organization:\n  role_name: mamori-verify\n";
    let (_dir, baseline) = baseline_file(&with_role);
    let runner = least_privilege::declared(&selection::select(&catalogue(), &[]).unwrap(), &Baseline::load(&baseline).unwrap(), RunShape { verb: Verb::Verify, organization: true });
    let assume = runner.iter().find(|n| n.action == "sts:AssumeRole").expect("the runner assumes the member role");
    assert_eq!(assume.resources, ["arn:aws:iam::*:role/mamori-verify"]);
}

/// CloudFormation CreateStack of the template `argv[1]` with the named-IAM capability, waited for,
/// with boto3 from the moto venv (mamori has no CloudFormation client of its own).
const CREATE_STACK: &str = "import sys, boto3
cloudformation = boto3.client('cloudformation', region_name='us-east-1')
cloudformation.create_stack(StackName='mamori-verify', TemplateBody=sys.argv[1], Capabilities=['CAPABILITY_NAMED_IAM'])
cloudformation.get_waiter('stack_create_complete').wait(StackName='mamori-verify', WaiterConfig={'Delay': 1, 'MaxAttempts': 30})
";
