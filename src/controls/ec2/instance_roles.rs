//! `ec2.instance-roles`: least-privilege instance roles and their instance profiles, from templates,
//! so that applications on EC2 use role credentials instead of access keys.
//!
//! Each baseline role is created or updated: its trust policy (EC2 assumes it) and one inline policy
//! per template, named after the template, both compared by meaning (`crate::policy`), and an instance
//! profile of the same name holding the role. Policies the role has beyond the templates (a managed
//! policy someone attached, another inline policy) are left alone: this control adds and corrects, it
//! never detaches or deletes. With `attach_to_unprofiled_instances: true`, every running or
//! stopped instance of the baseline regions without an instance profile gets the first role's profile
//! (`AssociateIamInstanceProfile`); an instance that has a profile is never changed.
//!
//! An instance whose profile is not one of the baseline's, or is a baseline role whose templates do
//! not let Session Manager open a session (an application role), is one finding of its own: `pass`
//! when the profile's role allows everything Session Manager asks of it under the preferences the
//! baseline sets (the agent's channels, and with `ssm.session-preferences` the session key and the
//! encrypted log destinations: [`session_manager`], judged by the policy evaluator over the role's
//! inline and attached managed policies), `manual` otherwise, naming what is missing, with the steps:
//! put the baseline's `ssm-session-instance` policy on that role, or move the instance to the
//! baseline's profile. mamori changes neither: the role and the association belong to whoever made
//! them. The roles come from one paginated `iam:GetAccountAuthorizationDetails` the IAM controls
//! share, the AWS managed policies they attach from `iam:GetPolicy`/`iam:GetPolicyVersion` — only when
//! some instance has such a profile, so an account whose instances all use the baseline's Session
//! Manager profile pays no IAM read for the check. Judging a profile names the keys it needs: one
//! `kms:DescribeKey` by alias per region with profiled instances (shared with `kms.baseline-key`, so
//! free when that control runs too), and for a session-log bucket other than the audit bucket its
//! `GetBucketLocation`/`GetBucketEncryption` (shared with `ssm.session-preferences`).
//!
//! IAM is global, so this is an account-wide control; the instances it looks at are those of every
//! baseline region, from the run's shared listing.
//!
//! An instance profile holds one role at most: a profile of a baseline role's name that already holds
//! another role is reported `manual`, with the steps, and left alone (AWS would refuse the second role
//! with `LimitExceeded`; mamori never removes the role someone put there), and no instance is given
//! that profile.
//!
//! # Caveats
//! On AWS a role or profile created in this run may take a while before IAM and EC2 accept it
//! (`NoSuchEntity`, `InvalidParameterValue` for the profile): those calls go through
//! [`crate::aws::propagation`], which retries exactly those documented answers for up to two minutes;
//! past that it is an `error` finding, and the next `apply` makes it. Only running and stopped
//! instances can be associated; a pending one is looked at by the next run.

use std::collections::BTreeMap;
use async_trait::async_trait;
use aws_sdk_ec2::types::IamInstanceProfileSpecification;
use serde::Serialize;
use serde_json::Value;

use crate::aws::{propagation, AwsError, NameCall};
use crate::baseline::{Baseline, InstanceRoles as Settings, RegionName};
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::policy;
use crate::report::Action;

use crate::inventory::iam_authorization;
use crate::inventory::instances;

pub mod session_manager;

use session_manager::{baseline_role, Profiled, SessionManagerGap};
use crate::least_privilege::{arn, Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "ec2.instance-roles",
    source: file!(),
    title: "Least-privilege instance roles and profiles from templates; instances without a profile get one",
    fix: Fix::Automatic,
    scope: Scope::Account,
    cis_v5: &["1.17"],
    fsbp: &[],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::on(&["iam:GetRole", "iam:GetRolePolicy"], &[arn::INSTANCE_ROLE]),
        Grant::on(&["iam:GetInstanceProfile"], &[arn::INSTANCE_PROFILE]),
    ],
    shared: &[crate::inventory::iam_authorization::READS, crate::inventory::instances::READS, crate::inventory::key_alias::READS, crate::inventory::buckets::READS, crate::inventory::bucket_encryption::READS],
    apply: &[
        Grant::on(&["iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:PassRole"], &[arn::INSTANCE_ROLE]),
        Grant::on(&["iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile"], &[arn::INSTANCE_PROFILE]),
        Grant::on(&["ec2:AssociateIamInstanceProfile"], &[arn::INSTANCE]).when(|baseline| baseline.instance_roles.as_ref().is_some_and(|r| r.attach_to_unprofiled_instances)),
    ],
};

/// Instance states whose profile can be associated.
const ASSOCIABLE_STATES: &[&str] = &["running", "stopped"];

/// The shipped policy template that grants what Session Manager needs of an instance role under the
/// shipped preferences.
pub const SESSION_MANAGER_TEMPLATE: &str = "ssm-session-instance";

pub struct InstanceRoles;

/// One role as it matters here.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoleState {
    pub exists: bool,
    pub trust_policy_matches: bool,
    /// Per policy template: the role's inline policy of that name means what the template says.
    pub policies: BTreeMap<String, bool>,
    /// The instance profile of the same name exists and holds this role.
    pub instance_profile_holds_role: bool,
    /// The instance profile exists (whatever it holds); not compared, `desired` copies it.
    #[serde(skip)]
    pub instance_profile_exists: bool,
    /// Another role the instance profile of this name holds (a profile holds one role at most):
    /// reported, never removed; `desired` copies it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_profile_holds_other_role: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceRolesState {
    /// By role name.
    pub roles: BTreeMap<String, RoleState>,
    /// Instances without a profile (`region/instance-id` → empty), only when the baseline attaches.
    pub unprofiled_instances: BTreeMap<String, String>,
    /// Instances whose profile is not the baseline's Session Manager profile (`region/instance-id` →
    /// the Session Manager actions its role lacks; empty when it has them all). Reported, never changed.
    pub session_manager_gaps: BTreeMap<String, SessionManagerGap>,
}

/// One part per instance (`instance/REGION/ID`), its value shown as `field`.
fn instance_parts<V: Serialize>(field: &str, observed: &BTreeMap<String, V>, desired: &BTreeMap<String, V>) -> Vec<Part> {
    Part::by_key("instance/", observed, desired)
        .into_iter()
        .map(|mut part| {
            part.observed = serde_json::json!({ field: part.observed });
            part.desired = serde_json::json!({ field: part.desired });
            part
        })
        .collect()
}

fn settings<'a>(ctx: &Context<'a>) -> &'a Settings {
    ctx.baseline.instance_roles.as_ref().expect("the engine only runs enabled controls")
}

/// True when two policy documents grant the same (same statements by meaning, whatever their order
/// or Sid).
pub fn same_policy(a: &Value, b: &Value) -> bool {
    let meanings = |doc: &Value| {
        let mut statements: Vec<String> = policy::statements(doc).iter().map(|s| policy::statement_meaning(s).to_string()).collect();
        statements.sort();
        statements.dedup();
        statements
    };
    meanings(a) == meanings(b)
}

/// `None` when IAM says the entity does not exist.
macro_rules! absent_if_missing {
    ($call:expr, $op:literal) => {
        match $call.await {
            Ok(out) => Some(out),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => None,
            Err(e) => return Err(AwsError::from_sdk($op, e)),
        }
    };
}

async fn observe_role(ctx: &Context<'_>, target: &Target, name: &str, templates: &[String]) -> Result<RoleState, AwsError> {
    let iam = ctx.aws.iam();
    let vars = ctx.vars(&target.region);
    let profile = absent_if_missing!(iam.get_instance_profile().instance_profile_name(name).send(), "iam:GetInstanceProfile");
    let instance_profile_exists = profile.is_some();
    let held: Vec<&str> = profile.as_ref().and_then(|p| p.instance_profile()).map(|p| p.roles().iter().map(|r| r.role_name()).collect()).unwrap_or_default();
    let instance_profile_holds_role = held.contains(&name);
    let instance_profile_holds_other_role = held.iter().find(|held| **held != name).map(|other| other.to_string());
    let Some(role) = absent_if_missing!(iam.get_role().role_name(name).send(), "iam:GetRole") else {
        return Ok(RoleState {
            exists: false,
            trust_policy_matches: false,
            policies: templates.iter().map(|t| (t.clone(), false)).collect(),
            instance_profile_holds_role,
            instance_profile_exists,
            instance_profile_holds_other_role,
        });
    };
    let trust = role.role().and_then(|r| r.assume_role_policy_document()).and_then(policy::parse_document);
    let wanted_trust = ctx.baseline.templates.render(&settings(ctx).trust_template, &vars);
    let mut policies = BTreeMap::new();
    for template in templates {
        let current = absent_if_missing!(iam.get_role_policy().role_name(name).policy_name(template).send(), "iam:GetRolePolicy");
        let current = current.and_then(|out| policy::parse_document(out.policy_document()));
        let wanted = ctx.baseline.templates.render(template, &vars);
        policies.insert(template.clone(), current.is_some_and(|doc| same_policy(&doc, &wanted)));
    }
    Ok(RoleState {
        exists: true,
        trust_policy_matches: trust.is_some_and(|doc| same_policy(&doc, &wanted_trust)),
        policies,
        instance_profile_holds_role,
        instance_profile_exists,
        instance_profile_holds_other_role,
    })
}

/// Associates `profile` with `instance`. A profile IAM created moments ago may not be visible to EC2
/// yet: that answer is retried by [`propagation::send`].
async fn associate_profile(ctx: &Context<'_>, region: &RegionName, instance: &str, profile: &str) -> Result<(), AwsError> {
    let ec2 = ctx.aws.ec2(region.as_str());
    let associate = ec2
        .associate_iam_instance_profile()
        .instance_id(instance)
        .iam_instance_profile(IamInstanceProfileSpecification::builder().name(profile).build());
    match propagation::send("ec2:AssociateIamInstanceProfile", || associate.clone().send()).await {
        // Terminated since it was listed: nothing left to give a profile.
        Err(e) if e.is_code("InvalidInstanceID.NotFound") => Ok(()),
        other => other.map(|_| ()),
    }
}

/// The steps for a baseline role whose instance profile holds another role: mamori adds no second role
/// (AWS allows one) and removes none.
fn foreign_role_steps(profile: &str, other: &str) -> String {
    format!(
        "The instance profile {profile} holds the role {other}, and an instance profile holds one role at most: mamori does not \
         remove {other} (instances using {profile} run with it). If nothing depends on {other} through this profile: aws iam \
         remove-role-from-instance-profile --instance-profile-name {profile} --role-name {other}, then mamori apply --only \
         ec2.instance-roles adds {profile}. Otherwise rename the baseline role. Then: mamori verify --only ec2.instance-roles"
    )
}

#[async_trait]
impl Control for InstanceRoles {
    type State = InstanceRolesState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.instance_roles.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "role/*".into()
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<InstanceRolesState, AwsError> {
        let settings = settings(ctx);
        let mut roles = BTreeMap::new();
        for role in &settings.roles {
            roles.insert(role.name.clone(), observe_role(ctx, target, &role.name, &role.policy_templates).await?);
        }
        let mut unprofiled_instances = BTreeMap::new();
        // Instances with a profile that is not the baseline's Session Manager profile, and the keys
        // Session Manager uses in their regions.
        let mut foreign_profiles = Vec::new();
        let mut keys = BTreeMap::new();
        for region in &ctx.baseline.regions {
            for instance in instances::instances_in(ctx, region, ASSOCIABLE_STATES).await? {
                let Some(id) = instance.instance_id() else { continue };
                match instance.iam_instance_profile().and_then(|profile| profile.arn()) {
                    None if instance.iam_instance_profile().is_none() && settings.attach_to_unprofiled_instances => {
                        unprofiled_instances.insert(format!("{region}/{id}"), String::new());
                    }
                    None => {}
                    Some(arn) => {
                        if !keys.contains_key(region) {
                            keys.insert(region.clone(), session_manager::session_keys(ctx, region).await?);
                        }
                        let covered = baseline_role(settings, arn).is_some_and(|role| {
                            session_manager::templates_grant(ctx, role, &session_manager::requests(ctx, &role.name, region, id, &keys[region]))
                        });
                        if !covered {
                            let key = format!("{region}/{id}");
                            foreign_profiles.push(Profiled { key, region: region.clone(), instance: id.to_string(), profile_arn: arn.to_string() });
                        }
                    }
                }
            }
        }
        let session_manager_gaps =
            if foreign_profiles.is_empty() { BTreeMap::new() } else { session_manager::gaps(ctx, &foreign_profiles, &keys).await? };
        Ok(InstanceRolesState { roles, unprofiled_instances, session_manager_gaps })
    }

    fn desired(&self, ctx: &Context<'_>, _target: &Target, observed: &InstanceRolesState, _facts: &Facts) -> InstanceRolesState {
        let settings = settings(ctx);
        let roles = settings
            .roles
            .iter()
            .map(|role| {
                let state = RoleState {
                    exists: true,
                    trust_policy_matches: true,
                    policies: role.policy_templates.iter().map(|t| (t.clone(), true)).collect(),
                    instance_profile_holds_role: true,
                    instance_profile_exists: observed.roles.get(&role.name).is_some_and(|r| r.instance_profile_exists),
                    instance_profile_holds_other_role: observed.roles.get(&role.name).and_then(|r| r.instance_profile_holds_other_role.clone()),
                };
                (role.name.clone(), state)
            })
            .collect();
        let default_profile = &settings.roles[0].name;
        let unprofiled_instances = observed.unprofiled_instances.keys().map(|key| (key.clone(), default_profile.clone())).collect();
        let session_manager_gaps =
            observed.session_manager_gaps.iter().map(|(key, gap)| (key.clone(), SessionManagerGap { missing: Vec::new(), ..gap.clone() })).collect();
        InstanceRolesState { roles, unprofiled_instances, session_manager_gaps }
    }

    fn parts(&self, _ctx: &Context<'_>, _target: &Target, observed: &InstanceRolesState, desired: &InstanceRolesState) -> Vec<Part> {
        let mut parts: Vec<Part> = Part::by_key("role/", &observed.roles, &desired.roles)
            .into_iter()
            .map(|mut part| {
                if part.observed.get("exists") == Some(&Value::Bool(false)) {
                    part.action = Action::Create;
                }
                match part.observed.get("instance_profile_holds_other_role") {
                    Some(Value::String(_)) => part.with_fix(Fix::Manual),
                    _ => part,
                }
            })
            .collect();
        parts.extend(instance_parts("instance_profile", &observed.unprofiled_instances, &desired.unprofiled_instances));
        parts.extend(
            Part::by_key("instance/", &observed.session_manager_gaps, &desired.session_manager_gaps).into_iter().map(|part| part.with_fix(Fix::Manual)),
        );
        parts
    }

    /// The manual findings: a baseline role whose profile holds another role, and the Session Manager
    /// findings, whose observed state names the profile, the role and what it lacks.
    fn manual_steps(&self, ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        if let Some(role) = part.resource.strip_prefix("role/") {
            let other = part.observed.get("instance_profile_holds_other_role")?.as_str()?;
            return Some(foreign_role_steps(role, other));
        }
        let (region, instance) = part.resource.strip_prefix("instance/")?.split_once('/')?;
        let gap: SessionManagerGap = serde_json::from_value(part.observed.clone()).ok()?;
        Some(session_manager::steps(settings(ctx), ctx.caller, ctx.baseline.home_region().as_str(), region, instance, &gap))
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &InstanceRolesState, desired: &InstanceRolesState) -> Result<(), ControlError> {
        let settings = settings(ctx);
        let iam = ctx.aws.iam();
        let vars = ctx.vars(&target.region);
        let trust = ctx.baseline.templates.render(&settings.trust_template, &vars).to_string();
        for role in &settings.roles {
            let name = role.name.as_str();
            let state = observed.roles.get(name).ok_or_else(|| ControlError::Precondition(format!("role {name} was not observed")))?;
            if !state.exists {
                iam.create_role()
                    .role_name(name)
                    .assume_role_policy_document(&trust)
                    .description("EC2 instance role managed by mamori")
                    .send()
                    .await
                    .named("iam:CreateRole")?;
            } else if !state.trust_policy_matches {
                iam.update_assume_role_policy().role_name(name).policy_document(&trust).send().await.named("iam:UpdateAssumeRolePolicy")?;
            }
            for (template, matches) in &state.policies {
                if !matches {
                    let document = ctx.baseline.templates.render(template, &vars).to_string();
                    let put = iam.put_role_policy().role_name(name).policy_name(template).policy_document(document);
                    propagation::send("iam:PutRolePolicy", || put.clone().send()).await?;
                }
            }
            if !state.instance_profile_exists {
                match iam.create_instance_profile().instance_profile_name(name).send().await {
                    Ok(_) => {}
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_entity_already_exists_exception()) => {}
                    Err(e) => return Err(AwsError::from_sdk("iam:CreateInstanceProfile", e).into()),
                }
            }
            if !state.instance_profile_holds_role && state.instance_profile_holds_other_role.is_none() {
                let add = iam.add_role_to_instance_profile().instance_profile_name(name).role_name(name);
                match propagation::send("iam:AddRoleToInstanceProfile", || add.clone().send()).await {
                    // Someone put another role in since it was read: reported by the next observation, not forced.
                    Err(e) if e.is_code("LimitExceeded") => {}
                    other => other.map(drop)?,
                }
            }
        }
        if observed.roles != desired.roles {
            // Roles were written: the next observation reads them again.
            iam_authorization::forget_authorization(ctx.aws);
        }
        let default_profile = &settings.roles[0].name;
        if let Some(other) = observed.roles.get(default_profile).and_then(|r| r.instance_profile_holds_other_role.as_deref()) {
            if !observed.unprofiled_instances.is_empty() {
                return Err(ControlError::Precondition(format!(
                    "instances are not given the instance profile {default_profile}: it holds the role {other}, not {default_profile}"
                )));
            }
        }
        for key in observed.unprofiled_instances.keys() {
            let (region, instance) = key.split_once('/').expect("keys are region/instance-id");
            let region = RegionName::parse(region).map_err(ControlError::Precondition)?;
            associate_profile(ctx, &region, instance, default_profile).await?;
            instances::forget_instances(ctx, &region);
            tracing::info!(%region, instance, profile = %default_profile, "associated the default instance profile");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROFILE: &str = "arn:aws:iam::111122223333:instance-profile/apps/legacy-app";

    fn settings_with(roles: &[(&str, &str)]) -> Settings {
        Settings {
            trust_template: "ec2-instance-trust".into(),
            attach_to_unprofiled_instances: false,
            roles: roles.iter().map(|(name, template)| crate::baseline::InstanceRole { name: name.to_string(), policy_templates: vec![template.to_string()] }).collect(),
        }
    }

    #[test]
    fn profiles_are_the_baselines_by_name_whatever_their_path() {
        let settings = settings_with(&[("mamori-ssm-session-instance", SESSION_MANAGER_TEMPLATE)]);
        let owner = |arn: &str| baseline_role(&settings, arn).map(|role| role.name.as_str());
        assert_eq!(owner("arn:aws:iam::1:instance-profile/path/mamori-ssm-session-instance"), Some("mamori-ssm-session-instance"));
        assert_eq!(owner(PROFILE), None);
        assert_eq!(owner("arn:aws:iam::1:instance-profile/mamori-ssm-session-instance-old"), None);
    }

    #[test]
    fn policies_compare_by_meaning() {
        let a = json!({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "x"},
                                     {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]});
        let b = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": ["*"]},
                                     {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "x"}]});
        assert!(same_policy(&a, &b));
        let broader = json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
        assert!(!same_policy(&a, &broader));
    }
}
