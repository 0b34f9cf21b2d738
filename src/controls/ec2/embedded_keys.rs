//! `ec2.embedded-keys`: no access key material in EC2 user data, and IAM users that act as
//! application identities reported with the role that should replace them.
//!
//! Every instance of the baseline regions (terminated ones aside) is one finding: its user data is
//! decoded and scanned ([`user_data_scan`]); a finding names the instance and the masked key id,
//! never the secret. IAM users with an active access key and no console password are programmatic
//! identities, typically an application's: each is one finding naming the instance role that should
//! replace it. They are found in the run's credential report (so a key created in the last four hours
//! may wait for the next report) and confirmed live, through the reads the IAM controls share. Both
//! are `manual`: rotating a leaked key and moving an application to a role are for
//! the team that owns it. This control reads only; it never changes a user, a key or an instance.

pub mod user_data_scan;

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::InstanceAttributeName;

use crate::aws::{AwsError, NameCall};
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};

use crate::inventory::credential_report;
use crate::controls::ec2::instance_roles::SESSION_MANAGER_TEMPLATE;
use crate::inventory::instances;
use crate::inventory::iam_authorization::{self, Confirm};
use crate::least_privilege::{arn, Access, Grant};


static META: ControlMeta = ControlMeta {
    id: "ec2.embedded-keys",
    source: file!(),
    title: "No access keys in EC2 user data; application users are replaced by instance roles",
    fix: Fix::Manual,
    scope: Scope::Account,
    cis_v5: &[],
    fsbp: &[],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::on(&["ec2:DescribeInstanceAttribute"], &[arn::INSTANCE]),
    ],
    shared: &[crate::inventory::instances::READS, crate::inventory::credential_report::READS, crate::inventory::iam_authorization::READS],
    apply: &[],
};

const INSTANCE_STATES: &[&str] = &["pending", "running", "stopping", "stopped"];

pub struct EmbeddedKeys;

/// Problems by resource (`instance/REGION/ID`, `user/NAME`); an empty list is compliant.
pub type Problems = BTreeMap<String, Vec<String>>;

/// The role the baseline offers applications instead of keys, as findings name it: `replacement_role`,
/// else the first instance role that is not the Session Manager one (it grants an application
/// nothing), else advice.
fn replacement_role(baseline: &Baseline) -> String {
    let configured = baseline.embedded_keys.as_ref().and_then(|settings| settings.replacement_role.clone());
    let application_role = baseline
        .instance_roles
        .as_ref()
        .and_then(|roles| roles.roles.iter().find(|role| !role.policy_templates.iter().any(|t| t == SESSION_MANAGER_TEMPLATE)))
        .map(|role| role.name.clone());
    match configured.or(application_role) {
        Some(role) => format!("the instance role {role} (ec2.instance-roles)"),
        None => "an instance role cut to what the application uses (ec2.instance-roles; see templates/ses-send-from-identity.json)".to_string(),
    }
}

/// Users the run's credential report lists with an active key and no console password, confirmed
/// live through the run's memo (the IAM controls share those reads).
async fn application_users(ctx: &Context<'_>, role: &str) -> Result<Problems, AwsError> {
    let report = credential_report::read(ctx.aws).await?;
    let mut problems = Problems::new();
    for row in report.users.iter().filter(|row| !row.password_enabled && row.keys.iter().any(|k| k.active)) {
        let row = iam_authorization::confirm(ctx.aws, row, Confirm { keys: true, password: true, ..Confirm::default() }).await?;
        let active: Vec<String> = row.keys.iter().filter(|k| k.active).filter_map(|k| k.id.as_deref()).map(crate::redact::mask_key_id).collect();
        if row.password_enabled || active.is_empty() {
            continue;
        }
        problems.insert(
            format!("user/{}", row.user),
            vec![format!("application identity: active access key(s) {} and no console password; replace with {role}", active.join(", "))],
        );
    }
    Ok(problems)
}

#[async_trait]
impl Control for EmbeddedKeys {
    type State = Problems;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.embedded_keys.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "instances-and-users".into()
    }

    async fn observe(&self, ctx: &Context<'_>, _target: &Target) -> Result<Problems, AwsError> {
        let mut problems = Problems::new();
        for region in &ctx.baseline.regions {
            let client = ctx.aws.ec2(region.as_str());
            for instance in instances::instances_in(ctx, region, INSTANCE_STATES).await? {
                let Some(id) = instance.instance_id() else { continue };
                let read = client.describe_instance_attribute().instance_id(id).attribute(InstanceAttributeName::UserData).send().await;
                let attribute = match read.named("ec2:DescribeInstanceAttribute") {
                    Ok(attribute) => attribute,
                    // Terminated since it was listed: nothing left to scan.
                    Err(e) if e.is_code("InvalidInstanceID.NotFound") => continue,
                    Err(e) => return Err(e),
                };
                let encoded = attribute.user_data().and_then(|u| u.value()).unwrap_or_default();
                problems.insert(format!("instance/{region}/{id}"), user_data_scan::scan_user_data(encoded).describe());
            }
        }
        problems.extend(application_users(ctx, &replacement_role(ctx.baseline)).await?);
        Ok(problems)
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, observed: &Problems, _facts: &Facts) -> Problems {
        observed.keys().map(|key| (key.clone(), Vec::new())).collect()
    }

    /// One finding per instance and per application user; one passing finding when there is none.
    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &Problems, desired: &Problems) -> Vec<Part> {
        let parts = Part::by_key("", observed, desired);
        if !parts.is_empty() {
            return parts;
        }
        let none = serde_json::json!([]);
        vec![Part { resource: self.resource(ctx, target), observed: none.clone(), desired: none, action: crate::report::Action::Update, fix: None }]
    }

    fn manual_steps(&self, ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        let resource = part.resource.as_str();
        let role = replacement_role(ctx.baseline);
        if let Some(user) = resource.strip_prefix("user/") {
            return Some(format!(
                "move the application that uses {user}'s keys to {role}, then \
                 deactivate the keys: aws iam list-access-keys --user-name {user}; aws iam update-access-key --user-name {user} \
                 --access-key-id <id> --status Inactive"
            ));
        }
        let (region, instance) = resource.strip_prefix("instance/")?.split_once('/')?;
        Some(format!(
            "treat the key as leaked: deactivate and rotate it (aws iam update-access-key --status Inactive), give {instance} \
             the instance profile of {role} instead, and remove the key from its user data (stop it, then aws ec2 \
             modify-instance-attribute --region {region} --instance-id {instance} --user-data file://clean-user-data)"
        ))
    }

    async fn apply(&self, _ctx: &Context<'_>, _target: &Target, _observed: &Problems, _desired: &Problems) -> Result<(), ControlError> {
        // Manual only: the engine never asks for a fix, and this control never changes anything.
        Ok(())
    }
}
