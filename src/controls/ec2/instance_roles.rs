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
//! not grant Session Manager (an application role), is one finding of its own: `pass` when the
//! profile's role allows what Session Manager needs of it ([`SESSION_MANAGER_ACTIONS`], judged by
//! [`crate::policy::permissions`] over the role's inline and attached managed policies), `manual`
//! otherwise, naming the missing actions, with the steps: put the baseline's `ssm-session-instance`
//! policy on that role, or move the instance to the baseline's profile. mamori changes neither: the
//! role and the association belong to whoever made them. The roles come from one paginated
//! `iam:GetAccountAuthorizationDetails` the IAM controls share, the AWS managed policies they
//! attach from `iam:GetPolicy`/`iam:GetPolicyVersion` — only when some instance has such a profile,
//! so an account whose instances all use the baseline's Session Manager profile pays nothing for the
//! check.
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
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::{propagation, Aws, AwsError, Caller, NameCall};
use crate::baseline::{Baseline, InstanceRole, InstanceRoles as Settings, RegionName};
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::policy::{self, permissions};
use crate::report::Action;

use crate::inventory::instances;
use crate::inventory::iam_authorization::{self, Authorization, RoleGrants};

static META: ControlMeta = ControlMeta {
    id: "ec2.instance-roles",
    source: file!(),
    title: "Least-privilege instance roles and profiles from templates; instances without a profile get one",
    fix: Fix::Automatic,
    scope: Scope::Account,
    cis_v5: &["1.17"],
    fsbp: &[],
    depends_on: &[],
};

/// Instance states whose profile can be associated.
const ASSOCIABLE_STATES: &[&str] = &["running", "stopped"];

/// What the SSM agent needs of the instance role for Session Manager sessions. The `ec2messages`
/// actions serve Run Command and are not required.
pub const SESSION_MANAGER_ACTIONS: &[&str] = &[
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
];

/// The shipped policy template that grants them.
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

/// What one instance's profile lacks for Session Manager: the finding's observed state, from which its
/// manual steps are written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionManagerGap {
    #[serde(rename = "instance_profile")]
    pub profile: String,
    /// The role the profile holds; `None` when it holds none.
    pub role: Option<String>,
    #[serde(rename = "missing_session_manager_actions")]
    pub missing: Vec<String>,
}

/// The name of an instance profile, from its ARN (`arn:aws:iam::1:instance-profile/path/NAME`).
fn profile_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The baseline role whose profile this is (named after it; names are unique in an account, whatever
/// the path).
fn baseline_role<'a>(settings: &'a Settings, profile_arn: &str) -> Option<&'a InstanceRole> {
    settings.roles.iter().find(|role| role.name == profile_name(profile_arn))
}

/// True when the baseline's own policy templates for `role` grant Session Manager: its instances need
/// no read (mamori keeps those policies). A baseline role without them, an application role, say, is
/// looked at like any other.
fn templates_grant_session_manager(ctx: &Context<'_>, target: &Target, role: &InstanceRole) -> bool {
    let vars = ctx.vars(&target.region);
    let documents: Vec<Value> = role.policy_templates.iter().map(|template| ctx.baseline.templates.render(template, &vars)).collect();
    permissions::missing_actions(&documents.iter().collect::<Vec<_>>(), SESSION_MANAGER_ACTIONS).is_empty()
}

/// The role the profile `profile_arn` holds, by name.
fn role_holding<'a>(details: &'a Authorization, profile_arn: &str) -> Option<(&'a String, &'a RoleGrants)> {
    details.roles.iter().find(|(_, role)| role.instance_profiles.iter().any(|arn| arn == profile_arn))
}

/// What the profile `profile_arn` lacks for Session Manager. `document` gives the document of a
/// managed policy the role attaches; when one is unknown, so is the answer (`None`).
fn session_manager_gap(profile_arn: &str, details: &Authorization, document: impl Fn(&str) -> Option<Value>) -> Option<SessionManagerGap> {
    let profile = profile_name(profile_arn).to_string();
    let Some((role, holder)) = role_holding(details, profile_arn) else {
        let missing = SESSION_MANAGER_ACTIONS.iter().map(|action| action.to_string()).collect();
        return Some(SessionManagerGap { profile, role: None, missing });
    };
    let mut documents: Vec<Value> = holder.grants.inline.values().cloned().collect();
    for arn in &holder.grants.attached {
        documents.push(document(arn)?);
    }
    let missing = permissions::missing_actions(&documents.iter().collect::<Vec<_>>(), SESSION_MANAGER_ACTIONS);
    Some(SessionManagerGap { profile, role: Some(role.clone()), missing: missing.iter().map(|action| action.to_string()).collect() })
}

/// The Session Manager gap of each instance (`region/instance-id`, profile ARN): the account's roles
/// are read once, the AWS managed policies their roles attach once each.
async fn session_manager_gaps(aws: &Aws, profiled: &[(String, String)]) -> Result<BTreeMap<String, SessionManagerGap>, AwsError> {
    let details = iam_authorization::authorization(aws).await?;
    let mut aws_managed = BTreeMap::new();
    for (_, profile_arn) in profiled {
        let attached = role_holding(&details, profile_arn).map(|(_, role)| role.grants.attached.as_slice()).unwrap_or_default();
        for arn in attached.iter().filter(|arn| !details.customer_policies.contains_key(*arn)) {
            aws_managed.insert(arn.clone(), iam_authorization::managed_policy_document(aws, arn).await?);
        }
    }
    let document = |arn: &str| details.customer_policies.get(arn).map(|policy| policy.document.clone()).or_else(|| aws_managed.get(arn).cloned());
    let mut gaps = BTreeMap::new();
    for (instance, profile_arn) in profiled {
        let gap = session_manager_gap(profile_arn, &details, document)
            .ok_or_else(|| AwsError::malformed("iam:GetPolicyVersion", "a managed policy attached to a role has no readable document"))?;
        gaps.insert(instance.clone(), gap);
    }
    Ok(gaps)
}

/// The steps for an instance whose profile lacks Session Manager actions: what is missing, and the two
/// fixes a human may choose (mamori makes neither).
fn session_manager_steps(settings: &Settings, caller: &Caller, home_region: &str, region: &str, instance: &str, gap: &SessionManagerGap) -> String {
    let SessionManagerGap { profile, role, missing } = gap;
    let missing = missing.join(", ");
    let template = format!(
        "mamori's templates/{SESSION_MANAGER_TEMPLATE}.json with {{account_id}} = {account}, {{partition}} = {partition}, \
         {{home_region}} = {home_region}",
        account = caller.account_id,
        partition = caller.partition,
    );
    let mut steps = match role {
        Some(role) => format!(
            "{instance} ({region}) uses the instance profile {profile}, whose role {role} does not allow what Session Manager needs: \
             {missing}. mamori changes no role or profile it does not own. Either 1) give {role} the baseline's policy as an inline \
             policy: aws iam put-role-policy --role-name {role} --policy-name {SESSION_MANAGER_TEMPLATE} --policy-document \
             file://{SESSION_MANAGER_TEMPLATE}.json ({template})"
        ),
        None => format!(
            "{instance} ({region}) uses the instance profile {profile}, which holds no role: the instance has no credentials and \
             Session Manager lacks {missing}. Either 1) put a role into {profile} that allows them: aws iam \
             add-role-to-instance-profile --instance-profile-name {profile} --role-name ROLE, with the baseline's policy on ROLE \
             (aws iam put-role-policy --role-name ROLE --policy-name {SESSION_MANAGER_TEMPLATE} --policy-document \
             file://{SESSION_MANAGER_TEMPLATE}.json, {template})"
        ),
    };
    let baseline_profile = settings.roles.iter().find(|r| r.policy_templates.iter().any(|t| t == SESSION_MANAGER_TEMPLATE));
    if let Some(baseline_profile) = baseline_profile {
        steps.push_str(&format!(
            ", or 2) move the instance to the baseline's profile {name}, if the application needs nothing else of {profile}: \
             aws ec2 describe-iam-instance-profile-associations --region {region} --filters Name=instance-id,Values={instance} \
             (its association id), then aws ec2 replace-iam-instance-profile-association --region {region} --association-id \
             ASSOCIATION_ID --iam-instance-profile Name={name}",
            name = baseline_profile.name,
        ));
    }
    steps.push_str(". Then: mamori verify --only ec2.instance-roles");
    steps
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
        // Instances with a profile that is not the baseline's: (`region/instance-id`, profile ARN).
        let mut foreign_profiles = Vec::new();
        for region in &ctx.baseline.regions {
            for instance in instances::instances_in(ctx, region, ASSOCIABLE_STATES).await? {
                let Some(id) = instance.instance_id() else { continue };
                match instance.iam_instance_profile() {
                    None if settings.attach_to_unprofiled_instances => {
                        unprofiled_instances.insert(format!("{region}/{id}"), String::new());
                    }
                    None => {}
                    Some(profile) => {
                        let covered = |arn: &&str| baseline_role(settings, arn).is_some_and(|role| templates_grant_session_manager(ctx, target, role));
                        if let Some(arn) = profile.arn().filter(|arn| !covered(arn)) {
                            foreign_profiles.push((format!("{region}/{id}"), arn.to_string()));
                        }
                    }
                }
            }
        }
        let session_manager_gaps =
            if foreign_profiles.is_empty() { BTreeMap::new() } else { session_manager_gaps(ctx.aws, &foreign_profiles).await? };
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
        Some(session_manager_steps(settings(ctx), ctx.caller, ctx.baseline.home_region().as_str(), region, instance, &gap))
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

    fn details(inline: Value, attached: &[&str]) -> Authorization {
        let grants = iam_authorization::Grants { attached: attached.iter().map(|a| a.to_string()).collect(), inline: BTreeMap::from([("own".to_string(), inline)]) };
        let role = RoleGrants { grants, instance_profiles: vec![PROFILE.to_string()] };
        Authorization { roles: BTreeMap::from([("legacy-role".to_string(), role)]), ..Authorization::default() }
    }

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
    fn the_gap_is_what_inline_and_attached_policies_leave_out() {
        let no_document = |_: &str| None;
        let s3_read = json!({"Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]});
        let gap = session_manager_gap(PROFILE, &details(s3_read.clone(), &[]), no_document).unwrap();
        assert_eq!((gap.profile.as_str(), gap.role.as_deref()), ("legacy-app", Some("legacy-role")));
        assert_eq!(gap.missing, SESSION_MANAGER_ACTIONS);

        let core = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
        let core_document = json!({"Statement": [{"Effect": "Allow", "Action": ["ssm:UpdateInstanceInformation", "ssmmessages:*"], "Resource": "*"}]});
        assert_eq!(session_manager_gap(PROFILE, &details(s3_read.clone(), &[core]), no_document), None, "an unread attached policy: no answer");
        let read = |arn: &str| (arn == core).then(|| core_document.clone());
        assert_eq!(session_manager_gap(PROFILE, &details(s3_read, &[core]), read).unwrap().missing, Vec::<String>::new());

        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "ssmmessages:OpenDataChannel", "Resource": "*"}]});
        assert_eq!(session_manager_gap(PROFILE, &details(deny, &[core]), read).unwrap().missing, ["ssmmessages:OpenDataChannel"]);

        let elsewhere = "arn:aws:iam::111122223333:instance-profile/other";
        let gap = session_manager_gap(elsewhere, &details(json!({}), &[]), no_document).unwrap();
        assert_eq!((gap.profile.as_str(), gap.role), ("other", None), "a profile without a role");
        assert_eq!(gap.missing, SESSION_MANAGER_ACTIONS);
    }

    #[test]
    fn steps_name_the_instance_profile_role_missing_actions_and_both_fixes() {
        let caller = Caller { account_id: "111122223333".into(), partition: "aws".into(), arn: String::new() };
        let region = "eu-west-1";
        let gap = SessionManagerGap { profile: "legacy-app".into(), role: Some("legacy-role".into()), missing: vec!["ssm:UpdateInstanceInformation".into()] };
        let settings = settings_with(&[("app-mailer", "ses-send-from-identity"), ("mamori-ssm-session-instance", SESSION_MANAGER_TEMPLATE)]);
        let steps = session_manager_steps(&settings, &caller, "us-east-1", region, "i-0abc", &gap);
        for part in [
            "i-0abc (eu-west-1)",
            "instance profile legacy-app",
            "role legacy-role",
            "ssm:UpdateInstanceInformation",
            "aws iam put-role-policy --role-name legacy-role --policy-name ssm-session-instance",
            "{account_id} = 111122223333",
            "{home_region} = us-east-1",
            "--filters Name=instance-id,Values=i-0abc",
            "replace-iam-instance-profile-association --region eu-west-1",
            "--iam-instance-profile Name=mamori-ssm-session-instance",
        ] {
            assert!(steps.contains(part), "{part:?} missing from: {steps}");
        }
        let without_session_role = session_manager_steps(&settings_with(&[("app-mailer", "ses-send-from-identity")]), &caller, "us-east-1", region, "i-0abc", &gap);
        assert!(!without_session_role.contains("replace-iam-instance-profile-association"), "no baseline profile to move to: {without_session_role}");
        let roleless = SessionManagerGap { role: None, ..gap };
        let steps = session_manager_steps(&settings, &caller, "us-east-1", region, "i-0abc", &roleless);
        assert!(steps.contains("holds no role") && steps.contains("add-role-to-instance-profile --instance-profile-name legacy-app"), "{steps}");
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
