//! `ec2.instance-roles`: least-privilege instance roles and their instance profiles, from templates,
//! so that applications on EC2 use role credentials instead of access keys.
//!
//! Each baseline role is created or updated: its trust policy (EC2 assumes it) and one inline policy
//! per template, named after the template, both compared by meaning (`crate::policy`), and an instance
//! profile of the same name holding the role. Policies the role has beyond the templates (a managed
//! policy someone attached, another inline policy) are left alone: this control adds and corrects, it
//! never detaches or deletes. With `attach_to_unprofiled_instances: true`, every pending, running or
//! stopped instance of the baseline regions without an instance profile gets the first role's profile
//! (`AssociateIamInstanceProfile`); an instance that has a profile is never changed.
//!
//! IAM is global, so this is an account-wide control; the instances it looks at are those of every
//! baseline region.
//!
//! # Caveats
//! On AWS a profile created in this run may take seconds before EC2 accepts it; an association that
//! fails for that reason is an `error` finding, and the next `apply` makes it (the profile then exists).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::IamInstanceProfileSpecification;
use serde::Serialize;
use serde_json::Value;

use crate::aws::{AwsError, NameCall};
use crate::baseline::{Baseline, InstanceRoles as Settings, RegionName};
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::policy;
use crate::report::Action;

use super::ec2_instances;

static META: ControlMeta = ControlMeta {
    id: "ec2.instance-roles",
    title: "Least-privilege instance roles and profiles from templates; instances without a profile get one",
    fix: Fix::Automatic,
    scope: Scope::Account,
    cis_v5: &["1.17"],
    fsbp: &[],
    depends_on: &[],
};

/// Instance states whose profile can be associated.
const ASSOCIABLE_STATES: &[&str] = &["pending", "running", "stopping", "stopped"];

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
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceRolesState {
    /// By role name.
    pub roles: BTreeMap<String, RoleState>,
    /// Instances without a profile (`region/instance-id` → empty), only when the baseline attaches.
    pub unprofiled_instances: BTreeMap<String, String>,
}

fn settings<'a>(ctx: &Context<'a>) -> &'a Settings {
    ctx.baseline.instance_roles.as_ref().expect("the engine only runs enabled controls")
}

/// A policy document as IAM returns it: JSON, URL-encoded by the Query API on AWS.
pub fn parse_document(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(text).decode_utf8().ok()?;
        serde_json::from_str(&decoded).ok()
    })
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
    let instance_profile_holds_role =
        profile.as_ref().and_then(|p| p.instance_profile()).is_some_and(|p| p.roles().iter().any(|r| r.role_name() == name));
    let Some(role) = absent_if_missing!(iam.get_role().role_name(name).send(), "iam:GetRole") else {
        return Ok(RoleState {
            exists: false,
            trust_policy_matches: false,
            policies: templates.iter().map(|t| (t.clone(), false)).collect(),
            instance_profile_holds_role,
            instance_profile_exists,
        });
    };
    let trust = role.role().and_then(|r| r.assume_role_policy_document()).and_then(parse_document);
    let wanted_trust = ctx.baseline.templates.render(&settings(ctx).trust_template, &vars);
    let mut policies = BTreeMap::new();
    for template in templates {
        let current = absent_if_missing!(iam.get_role_policy().role_name(name).policy_name(template).send(), "iam:GetRolePolicy");
        let current = current.and_then(|out| parse_document(out.policy_document()));
        let wanted = ctx.baseline.templates.render(template, &vars);
        policies.insert(template.clone(), current.is_some_and(|doc| same_policy(&doc, &wanted)));
    }
    Ok(RoleState {
        exists: true,
        trust_policy_matches: trust.is_some_and(|doc| same_policy(&doc, &wanted_trust)),
        policies,
        instance_profile_holds_role,
        instance_profile_exists,
    })
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
        if settings.attach_to_unprofiled_instances {
            for region in &ctx.baseline.regions {
                for instance in ec2_instances::instances_in(ctx, region, ASSOCIABLE_STATES).await? {
                    if let (Some(id), None) = (instance.instance_id(), instance.iam_instance_profile()) {
                        unprofiled_instances.insert(format!("{region}/{id}"), String::new());
                    }
                }
            }
        }
        Ok(InstanceRolesState { roles, unprofiled_instances })
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
                };
                (role.name.clone(), state)
            })
            .collect();
        let default_profile = &settings.roles[0].name;
        let unprofiled_instances = observed.unprofiled_instances.keys().map(|key| (key.clone(), default_profile.clone())).collect();
        InstanceRolesState { roles, unprofiled_instances }
    }

    fn parts(&self, _ctx: &Context<'_>, _target: &Target, observed: &InstanceRolesState, desired: &InstanceRolesState) -> Vec<Part> {
        let mut parts: Vec<Part> = Part::by_key("role/", &observed.roles, &desired.roles)
            .into_iter()
            .map(|mut part| {
                if part.observed.get("exists") == Some(&Value::Bool(false)) {
                    part.action = Action::Create;
                }
                part
            })
            .collect();
        parts.extend(Part::by_key("instance/", &observed.unprofiled_instances, &desired.unprofiled_instances).into_iter().map(|mut part| {
            part.observed = serde_json::json!({ "instance_profile": part.observed });
            part.desired = serde_json::json!({ "instance_profile": part.desired });
            part
        }));
        parts
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &InstanceRolesState, _desired: &InstanceRolesState) -> Result<(), ControlError> {
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
                    iam.put_role_policy().role_name(name).policy_name(template).policy_document(document).send().await.named("iam:PutRolePolicy")?;
                }
            }
            if !state.instance_profile_exists {
                match iam.create_instance_profile().instance_profile_name(name).send().await {
                    Ok(_) => {}
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_entity_already_exists_exception()) => {}
                    Err(e) => return Err(AwsError::from_sdk("iam:CreateInstanceProfile", e).into()),
                }
            }
            if !state.instance_profile_holds_role {
                iam.add_role_to_instance_profile()
                    .instance_profile_name(name)
                    .role_name(name)
                    .send()
                    .await
                    .named("iam:AddRoleToInstanceProfile")?;
            }
        }
        let default_profile = &settings.roles[0].name;
        for key in observed.unprofiled_instances.keys() {
            let (region, instance) = key.split_once('/').expect("keys are region/instance-id");
            let region = RegionName::parse(region).map_err(ControlError::Precondition)?;
            ctx.aws
                .ec2(region.as_str())
                .associate_iam_instance_profile()
                .instance_id(instance)
                .iam_instance_profile(IamInstanceProfileSpecification::builder().name(default_profile).build())
                .send()
                .await
                .named("ec2:AssociateIamInstanceProfile")?;
            ec2_instances::forget_instances(ctx, &region);
            tracing::info!(%region, instance, profile = %default_profile, "associated the default instance profile");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_encoded_documents_are_read() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(parse_document(encoded), Some(json!({"Version": "2012-10-17", "Statement": []})));
        assert_eq!(parse_document(r#"{"a": 1}"#), Some(json!({"a": 1})));
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
