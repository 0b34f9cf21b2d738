//! The declarations checked against the read-only guard's list and against AWS's Service
//! Authorization Reference (the offline copy in `tests/fixtures/service-authorization/`, see its
//! README for where it comes from and its date).

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::aws::reads::READ_OPERATIONS;
use crate::controls::catalogue;

/// One action of the Service Authorization Reference.
pub(super) struct Reference {
    pub(super) access_level: String,
    /// Resource types the action can be scoped to (empty: only `*`).
    pub(super) resource_types: Vec<String>,
    pub(super) dependent_actions: Vec<String>,
}

pub(super) fn reference() -> BTreeMap<String, Reference> {
    include_str!("../../tests/fixtures/service-authorization/actions.tsv")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            let list = |text: &str| text.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>();
            let reference = Reference { access_level: columns[1].to_string(), resource_types: list(columns[2]), dependent_actions: list(columns[3]) };
            (columns[0].to_string(), reference)
        })
        .collect()
}

fn shipped(name: &str) -> Baseline {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("baselines/{name}.yaml"));
    Baseline::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Every grant declared anywhere, opt-in or not.
fn every_grant() -> Vec<&'static Grant> {
    let mut grants: Vec<&'static Grant> = RUN.iter().chain(ORGANIZATION.iter()).collect();
    for control in catalogue() {
        let access = control.meta().access;
        grants.extend(access.observe.iter().chain(access.shared.iter().flat_map(|reads| reads.iter())).chain(access.apply.iter()));
    }
    grants
}

/// The reads: what `observe` and the run declare.
fn declared_reads() -> BTreeSet<&'static str> {
    let mut reads: BTreeSet<&str> = RUN.iter().chain(ORGANIZATION.iter()).flat_map(|g| g.actions.iter().copied()).collect();
    for control in catalogue() {
        let access = control.meta().access;
        reads.extend(access.observe.iter().chain(access.shared.iter().flat_map(|r| r.iter())).flat_map(|g| g.actions.iter().copied()));
    }
    reads
}

/// The IAM actions the read-only guard admits.
fn guard_reads() -> BTreeSet<String> {
    READ_OPERATIONS.iter().flat_map(|(service, operation)| operations::iam_actions(service, operation)).collect()
}

fn policy_for(baseline: &Baseline, verb: Verb, organization: bool) -> Vec<Needed> {
    declared(&catalogue(), baseline, RunShape { verb, organization })
}

/// Dependent actions the reference lists that mamori's calls never trigger, with the reason.
const DEPENDENT_NOT_NEEDED: &[(&str, &str, &str)] = &[
    ("kms:CreateKey", "iam:CreateServiceLinkedRole", "only for keys in a custom key store; the baseline key is a KMS key"),
    ("cloudtrail:CreateTrail", "cloudtrail:AddTags", "mamori creates the trail without TagsList"),
    ("ec2:CreateVpcEndpoint", "ec2:CreateTags", "mamori sends no TagSpecifications"),
    ("ec2:CreateSecurityGroup", "ec2:CreateTags", "mamori sends no TagSpecifications"),
    ("ec2:AuthorizeSecurityGroupIngress", "ec2:CreateTags", "mamori sends no TagSpecifications"),
    ("ec2:AuthorizeSecurityGroupEgress", "ec2:CreateTags", "mamori sends no TagSpecifications"),
    ("sns:CreateTopic", "iam:PassRole", "only for delivery-status logging roles, which mamori does not set"),
    ("sns:SetTopicAttributes", "iam:PassRole", "only for delivery-status logging roles, which mamori does not set"),
    ("ssm:CreateDocument", "iam:PassRole", "only for Automation documents that name a role; the Session document names none"),
];

#[test]
fn every_declared_action_exists_in_the_service_authorization_reference() {
    let reference = reference();
    let unknown: BTreeSet<&str> = every_grant().iter().flat_map(|g| g.actions.iter().copied()).filter(|a| !reference.contains_key(*a)).collect();
    assert!(unknown.is_empty(), "declared actions AWS does not define (misspelt?): {unknown:?}");
}

#[test]
fn the_guards_reads_are_read_or_list_in_the_reference_and_declared() {
    let reference = reference();
    for action in guard_reads() {
        let level = reference.get(&action).map(|r| r.access_level.as_str()).unwrap_or_else(|| panic!("{action} is not in the reference"));
        assert!(["Read", "List"].contains(&level) || action == "sts:AssumeRole", "{action} is {level} in the reference, yet the guard admits it in read-only runs");
    }
    let declared = declared_reads();
    let undeclared: Vec<String> = guard_reads().into_iter().filter(|a| !declared.contains(a.as_str())).collect();
    assert!(undeclared.is_empty(), "the guard admits reads no control or shared read declares: {undeclared:?}");
}

#[test]
fn verify_and_plan_policies_hold_only_reads_the_guard_admits() {
    let reference = reference();
    let admitted = guard_reads();
    for name in ["standard", "strict"] {
        let baseline = shipped(name);
        for verb in [Verb::Verify, Verb::Plan] {
            for organization in [false, true] {
                let needed = policy_for(&baseline, verb, organization);
                assert!(!needed.is_empty());
                for entry in needed {
                    assert!(admitted.contains(&entry.action), "{name} {verb:?}: {} is not a read the guard admits", entry.action);
                    let level = &reference[&entry.action].access_level;
                    assert!(level == "Read" || level == "List" || entry.action == "sts:AssumeRole", "{name} {verb:?}: {} is {level}", entry.action);
                }
            }
        }
    }
}

#[test]
fn star_only_where_aws_offers_no_resource_level_permission() {
    let reference = reference();
    for name in ["standard", "strict"] {
        for entry in policy_for(&shipped(name), Verb::Apply, true) {
            if entry.resources == ["*"] {
                let types = &reference[&entry.action].resource_types;
                assert!(types.is_empty(), "{name}: {} is granted on * but can be scoped to {types:?}", entry.action);
            }
        }
    }
}

#[test]
fn dependent_actions_are_granted_or_never_triggered() {
    let reference = reference();
    for name in ["standard", "strict"] {
        let needed = policy_for(&shipped(name), Verb::Apply, false);
        let granted: BTreeSet<&str> = needed.iter().map(|n| n.action.as_str()).collect();
        for entry in &needed {
            for dependent in &reference[&entry.action].dependent_actions {
                let explained = DEPENDENT_NOT_NEEDED.iter().any(|(action, dep, _)| *action == entry.action && dep == dependent);
                assert!(granted.contains(dependent.as_str()) || explained, "{name}: {} needs {dependent}, which the apply policy lacks", entry.action);
            }
        }
    }
}

#[test]
fn resources_render_from_the_baseline() {
    let baseline = shipped("standard");
    assert_eq!(resources(&[arn::LOG_BUCKET], &baseline), ["arn:aws:s3:::mamori-audit-*-us-east-1"]);
    assert_eq!(resources(&[arn::INSTANCE_ROLE], &baseline), ["arn:aws:iam::*:role/mamori-ssm-session-instance"]);
    assert_eq!(resources(&[arn::KMS_ALIAS], &baseline), ["arn:aws:kms:*:*:alias/mamori-baseline"]);
    assert_eq!(resources(&[arn::TRAIL], &baseline), ["arn:aws:cloudtrail:*:*:trail/mamori-trail"]);
    assert!(resources(&[arn::VPCE_BUCKET], &baseline).is_empty(), "no endpoint-only bucket in standard");
    let needed = policy_for(&baseline, Verb::Apply, false);
    let create_bucket = needed.iter().find(|n| n.action == "s3:CreateBucket").expect("apply creates the audit buckets");
    assert_eq!(create_bucket.resources, ["arn:aws:s3:::mamori-access-logs-*-us-east-1", "arn:aws:s3:::mamori-audit-*-us-east-1"]);
}

#[test]
fn opt_in_fixes_are_granted_only_when_the_baseline_opts_in() {
    let actions = |name: &str| -> BTreeSet<String> { policy_for(&shipped(name), Verb::Apply, false).into_iter().map(|n| n.action).collect() };
    let (standard, strict) = (actions("standard"), actions("strict"));
    for opt_in in ["iam:UpdateAccessKey", "ec2:ModifyInstanceMetadataOptions", "ec2:AssociateIamInstanceProfile", "ec2:CreateNetworkAclEntry"] {
        assert!(!standard.contains(opt_in) && strict.contains(opt_in), "{opt_in}");
    }
    let verify: BTreeSet<String> = policy_for(&shipped("standard"), Verb::Verify, false).into_iter().map(|n| n.action).collect();
    assert!(verify.is_subset(&standard), "apply observes too");
    assert!(!verify.contains("sts:AssumeRole") && policy_for(&shipped("standard"), Verb::Verify, true).iter().any(|n| n.action == "sts:AssumeRole"));
}

#[test]
fn the_policies_fit_a_roles_inline_policy_quota() {
    for name in ["standard", "strict"] {
        for verb in [Verb::Verify, Verb::Apply] {
            let document = document::policy(&policy_for(&shipped(name), verb, false));
            let size = role_template::inline_policy_size(&document);
            assert!(size <= role_template::ROLE_INLINE_POLICY_QUOTA, "{name} {verb:?}: {size} characters");
        }
    }
}
