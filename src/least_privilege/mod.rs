//! mamori's own least privilege: the IAM actions each control may call, declared next to the code
//! that calls them, and the policy a run needs, derived from those declarations.
//!
//! Every control's [`crate::engine::ControlMeta`] carries an [`Access`]: the actions its `observe`
//! sends, the shared reads of [`crate::inventory`] it goes through (each inventory module declares its
//! own), and the actions its `apply` sends, each [`Grant`] with the resources it can be scoped to
//! where the baseline makes them knowable (the audit bucket's name, the baseline's role names, the
//! trail, the key alias). The run itself reads too: [`RUN`] (who the caller is, which opt-in regions
//! are enabled) and, over an organization, [`ORGANIZATION`] (the Organizations reads and
//! `sts:AssumeRole` into each member). [`declared`] gathers what one run needs for a verb, a baseline
//! and a `--only` selection; [`document`] turns it into an IAM policy, and [`role_template`] into a
//! member-account role for CloudFormation or Terraform. [`denial`] tells an operator whose run AWS
//! refused what to grant.
//!
//! The declarations are checked three ways: against the read-only guard's list ([`crate::aws::reads`]:
//! a `verify` or `plan` policy holds only actions the guard admits, and every read the guard admits is
//! declared), against AWS's Service Authorization Reference (an offline copy under `tests/fixtures/`:
//! every declared action exists, with the access level the verb allows), and against recorded runs
//! (every call a run makes is covered by the policy printed for its verb).
//!
//! This module never calls AWS, and never widens a grant to make a test pass: an action a control
//! calls and did not declare is a defect of the declaration.

pub mod denial;
pub mod document;
pub mod operations;
pub mod role_template;

use std::collections::BTreeSet;

use crate::baseline::Baseline;
use crate::engine::Reconciler;
use crate::report::Verb;

/// Actions a control (or a shared read) may call, on the resources they can be scoped to.
#[derive(Debug)]
pub struct Grant {
    /// IAM actions, `service:Action`.
    pub actions: &'static [&'static str],
    /// ARN templates (see [`resources`] for the variables). Empty: `*`, for actions AWS offers no
    /// resource-level permission for.
    pub resources: &'static [&'static str],
    /// Only when the baseline asks for it (an opt-in fix); `None`: always.
    pub when: Option<fn(&Baseline) -> bool>,
}

impl Grant {
    /// `actions` on every resource (`*`).
    pub const fn any(actions: &'static [&'static str]) -> Grant {
        Grant { actions, resources: &[], when: None }
    }

    /// `actions` on the resources `resources` name.
    pub const fn on(actions: &'static [&'static str], resources: &'static [&'static str]) -> Grant {
        Grant { actions, resources, when: None }
    }

    /// This grant, only when `baseline` opts in.
    pub const fn when(self, opted_in: fn(&Baseline) -> bool) -> Grant {
        Grant { when: Some(opted_in), ..self }
    }

    fn applies(&self, baseline: &Baseline) -> bool {
        self.when.is_none_or(|opted_in| opted_in(baseline))
    }
}

/// What one control may call.
#[derive(Debug)]
pub struct Access {
    /// What `observe` sends itself.
    pub observe: &'static [Grant],
    /// The shared reads of [`crate::inventory`] its `observe` goes through (their `READS`).
    pub shared: &'static [&'static [Grant]],
    /// What `apply` sends (the reads it makes on the way included).
    pub apply: &'static [Grant],
}

impl Access {
    /// Calls nothing of its own (a test's stand-in control).
    pub const NONE: Access = Access { observe: &[], shared: &[], apply: &[] };
}

/// ARN templates the declarations share (variables as [`resources`] renders them). Formats from
/// the Service Authorization Reference's "Resource types" table of each service
/// (<https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html>).
pub mod arn {
    pub const KMS_KEY: &str = "arn:{partition}:kms:{region}:{account_id}:key/*";
    pub const KMS_ALIAS: &str = "arn:{partition}:kms:{region}:{account_id}:{key_alias}";
    pub const LOG_BUCKET: &str = "arn:{partition}:s3:::{log_bucket}";
    pub const ACCESS_LOG_BUCKET: &str = "arn:{partition}:s3:::{access_log_bucket}";
    pub const SESSION_BUCKET: &str = "arn:{partition}:s3:::{session_bucket}";
    pub const VPCE_BUCKET: &str = "arn:{partition}:s3:::{vpce_bucket}";
    pub const INSTANCE: &str = "arn:{partition}:ec2:{region}:{account_id}:instance/*";
    pub const SECURITY_GROUP: &str = "arn:{partition}:ec2:{region}:{account_id}:security-group/*";
    pub const SECURITY_GROUP_RULE: &str = "arn:{partition}:ec2:{region}:{account_id}:security-group-rule/*";
    pub const VPC: &str = "arn:{partition}:ec2:{region}:{account_id}:vpc/*";
    pub const SUBNET: &str = "arn:{partition}:ec2:{region}:{account_id}:subnet/*";
    pub const ROUTE_TABLE: &str = "arn:{partition}:ec2:{region}:{account_id}:route-table/*";
    pub const VPC_ENDPOINT: &str = "arn:{partition}:ec2:{region}:{account_id}:vpc-endpoint/*";
    pub const NETWORK_ACL: &str = "arn:{partition}:ec2:{region}:{account_id}:network-acl/*";
    pub const HOSTED_ZONE: &str = "arn:{partition}:route53:::hostedzone/*";
    pub const IAM_USER: &str = "arn:{partition}:iam::{account_id}:user/*";
    pub const AWS_MANAGED_POLICY: &str = "arn:{partition}:iam::aws:policy/*";
    pub const INSTANCE_ROLE: &str = "arn:{partition}:iam::{account_id}:role/{instance_role}";
    pub const INSTANCE_PROFILE: &str = "arn:{partition}:iam::{account_id}:instance-profile/{instance_role}";
    pub const DELIVERY_ROLE: &str = "arn:{partition}:iam::{account_id}:role/{delivery_role}";
    pub const CLOUDTRAIL_SERVICE_ROLE: &str = "arn:{partition}:iam::{account_id}:role/aws-service-role/cloudtrail.amazonaws.com/AWSServiceRoleForCloudTrail";
    pub const ANY_ROLE: &str = "arn:{partition}:iam::{account_id}:role/*";
    pub const TRAIL: &str = "arn:{partition}:cloudtrail:{region}:{account_id}:trail/{trail}";
    pub const ANY_TRAIL: &str = "arn:{partition}:cloudtrail:{region}:*:trail/*";
    pub const LOG_GROUP: &str = "arn:{partition}:logs:{region}:{account_id}:log-group:{log_group}";
    pub const LOG_GROUP_STREAMS: &str = "arn:{partition}:logs:{region}:{account_id}:log-group:{log_group}:*";
    pub const ALARMS: &str = "arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*";
    pub const MAMORI_ALARMS: &str = "arn:{partition}:cloudwatch:{region}:{account_id}:alarm:mamori-cis-*";
    pub const TOPIC: &str = "arn:{partition}:sns:{region}:{account_id}:{topic}";
    pub const SESSION_DOCUMENT: &str = "arn:{partition}:ssm:{region}:{account_id}:document/SSM-SessionManagerRunShell";
}

/// What every run reads before any control: who the caller is, and, when the baseline covers an
/// opt-in region, which of them the account has enabled ([`crate::engine::regions`]).
pub static RUN: &[Grant] = &[
    Grant::any(&["sts:GetCallerIdentity"]),
    Grant::any(&["ec2:DescribeRegions"]).when(|baseline| baseline.regions.iter().any(|region| region.is_opt_in())),
];

/// What a run over an organization (`--org`, `--ou`, `--account`) reads with the caller's own
/// credentials ([`crate::fleet`]): the organization's tree, its layout and trail, and the role it
/// assumes in each member (`organization.role_name`).
pub static ORGANIZATION: &[Grant] = &[
    Grant::any(&["organizations:ListRoots", "organizations:DescribeOrganization"]),
    Grant::on(
        &["organizations:ListOrganizationalUnitsForParent", "organizations:ListAccountsForParent"],
        &["arn:{partition}:organizations::*:root/o-*/r-*", "arn:{partition}:organizations::*:ou/o-*/ou-*"],
    ),
    Grant::any(&["cloudtrail:DescribeTrails"]),
    Grant::on(&["cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"], &["arn:{partition}:cloudtrail:*:{account_id}:trail/*"]),
    Grant::on(&["sts:AssumeRole"], &["arn:{partition}:iam::*:role/{organization_role}"]),
];

/// One statement's worth of a run's needs: actions on rendered resources (`*` when none).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Needed {
    pub action: String,
    /// Rendered ARN patterns; `["*"]` when the action has no resource-level permission.
    pub resources: Vec<String>,
}

/// Which run a policy is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunShape {
    pub verb: Verb,
    /// A run over an organization's accounts, from the management (or delegated) account.
    pub organization: bool,
}

/// The IAM action of `verify --security-hub`'s one write, named after the operation the read-only
/// guard lets through for it ([`crate::aws::guard::FINDINGS_IMPORT`]), so the two cannot drift apart.
pub fn findings_import_action() -> String {
    let (_, operation) = crate::aws::guard::FINDINGS_IMPORT;
    format!("securityhub:{operation}")
}

/// `needed` plus what `verify --security-hub` sends: `securityhub:BatchImportFindings`, on `*` (the
/// findings name the account's own default product ARN in each region; the action is granted on
/// `*` by AWS's own managed policies, and a product ARN per region would be one statement per region
/// for nothing more).
pub fn with_findings_import(needed: Vec<Needed>) -> Vec<Needed> {
    let mut needed = needed;
    needed.push(Needed { action: findings_import_action(), resources: vec!["*".into()] });
    needed.sort();
    merge(needed)
}

/// Every action a run of `shape` over `controls` (already selected, dependencies included) needs
/// with `baseline`, one entry per action and resource set, sorted.
pub fn declared(controls: &[&dyn Reconciler], baseline: &Baseline, shape: RunShape) -> Vec<Needed> {
    let mut grants: Vec<&Grant> = RUN.iter().collect();
    if shape.organization {
        grants.extend(ORGANIZATION.iter());
    }
    for control in controls.iter().filter(|c| c.enabled(baseline)) {
        let access = control.meta().access;
        grants.extend(access.observe.iter());
        grants.extend(access.shared.iter().flat_map(|reads| reads.iter()));
        if shape.verb == Verb::Apply {
            grants.extend(access.apply.iter());
        }
    }
    let mut needed = BTreeSet::new();
    for grant in grants.into_iter().filter(|grant| grant.applies(baseline)) {
        let rendered = resources(grant.resources, baseline);
        if !grant.resources.is_empty() && rendered.is_empty() {
            continue; // a resource the baseline does not name: nothing to call it on
        }
        for action in grant.actions {
            needed.insert((action.to_string(), rendered.clone()));
        }
    }
    merge(needed.into_iter().map(|(action, resources)| Needed { action, resources }).collect())
}

/// One entry per action: an action granted on `*` anywhere needs nothing narrower; otherwise the
/// union of its resources.
fn merge(needed: Vec<Needed>) -> Vec<Needed> {
    let mut merged: Vec<Needed> = Vec::new();
    for entry in needed {
        match merged.iter_mut().find(|m| m.action == entry.action) {
            Some(existing) => {
                let any = |resources: &[String]| resources.is_empty() || resources == ["*"];
                if any(&existing.resources) || any(&entry.resources) {
                    existing.resources = vec!["*".into()];
                } else {
                    existing.resources.extend(entry.resources);
                    existing.resources.sort();
                    existing.resources.dedup();
                }
            }
            None => merged.push(Needed { resources: if entry.resources.is_empty() { vec!["*".into()] } else { entry.resources }, ..entry }),
        }
    }
    merged
}

/// Renders ARN templates for `baseline`. Variables: `{partition}` (the baseline's); `{account_id}` and
/// `{region}` (`*`: the policy is printed before any AWS call, and one policy serves every account
/// and region of the run); `{log_bucket}`, `{access_log_bucket}` and `{session_bucket}` (bucket names,
/// their own `{account_id}` as `*`); `{vpce_bucket}` (each endpoint-only data bucket);
/// `{trail}`, `{log_group}`, `{delivery_role}`, `{topic}`, `{key_alias}`, `{instance_role}` (each),
/// `{organization_role}`. A template whose variable the baseline leaves unset renders to nothing.
pub fn resources(templates: &[&str], baseline: &Baseline) -> Vec<String> {
    let mut rendered = BTreeSet::new();
    for template in templates {
        let mut expanded = vec![template.replace("{partition}", baseline.partition().id).replace("{account_id}", "*").replace("{region}", "*")];
        for (name, values) in variables(baseline) {
            let placeholder = format!("{{{name}}}");
            if expanded.iter().any(|text| text.contains(&placeholder)) {
                expanded = expanded.iter().flat_map(|text| values.iter().map(|value| text.replace(&placeholder, value)).collect::<Vec<_>>()).collect();
            }
        }
        rendered.extend(expanded);
    }
    rendered.into_iter().collect()
}

/// The baseline's names a resource template may use, each with its values (none when unset).
fn variables(baseline: &Baseline) -> Vec<(&'static str, Vec<String>)> {
    let home = baseline.home_region();
    let vars = baseline.vars("*", baseline.partition().id, home);
    let region_wildcard = |name: String| name.replace(home.as_str(), "*");
    let log_bucket = baseline.log_bucket.as_ref();
    let session_bucket = baseline.session_preferences.as_ref().and_then(|s| s.s3_bucket.as_ref());
    vec![
        ("log_bucket", log_bucket.map(|b| b.name.render(&vars)).into_iter().collect()),
        ("access_log_bucket", log_bucket.map(|b| b.access_log_bucket.render(&vars)).into_iter().collect()),
        ("session_bucket", session_bucket.map(|name| vars.render(name)).into_iter().collect()),
        ("vpce_bucket", baseline.vpce_only.iter().flat_map(|v| v.buckets.iter().map(|b| region_wildcard(vars.render(&b.name)))).collect()),
        ("trail", vec![baseline.trail_name.clone()]),
        ("log_group", vec![baseline.trail_log_group.clone()]),
        ("delivery_role", baseline.trail.iter().map(|t| t.delivery_role.clone()).collect()),
        ("topic", baseline.alarms.iter().map(|a| a.topic.clone()).collect()),
        ("key_alias", baseline.baseline_key.iter().map(|k| k.alias.qualified()).collect()),
        ("instance_role", baseline.instance_roles.iter().flat_map(|r| r.roles.iter().map(|role| role.name.clone())).collect()),
        ("organization_role", vec![baseline.organization.role_name.clone()]),
    ]
}

#[cfg(test)]
mod readme_lists;
#[cfg(test)]
mod tests;
