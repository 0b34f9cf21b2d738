//! Whether an instance's role lets Session Manager open a session under the preferences the baseline
//! sets, judged by the policy evaluator over the role's policies.
//!
//! What the role must allow depends on the preferences ([`service_access::session_manager_requests`],
//! per "Create a custom IAM instance profile for Session Manager"): always the SSM agent's
//! `ssm:UpdateInstanceInformation` and the four `ssmmessages` channel actions; with session data
//! encrypted (`ssm.session-preferences` always encrypts with the baseline key) `kms:Decrypt` on the
//! key of the instance's region; with S3 logging `s3:PutObject` under the prefix,
//! `s3:GetEncryptionConfiguration` on the bucket and, for a bucket encrypted with a customer managed
//! key, `kms:GenerateDataKey` on that key through S3; with CloudWatch Logs the log-stream writes on the
//! group. A role with only `AmazonSSMManagedInstanceCore` therefore does not pass: Session Manager
//! refuses its sessions once the preferences require encryption and encrypted logs.
//!
//! The keys are the ones the account has: the baseline key of each region, read by alias through the
//! run's memo (shared with `kms.baseline-key`), and the log bucket's key (the baseline key of the home
//! region for the audit-log bucket; otherwise the key its default encryption names, read through the
//! memo shared with `ssm.session-preferences`). A key not created yet is named `key/*` of its region.
//! Resource policies are taken to leave the decision to the role's policies (the baseline key's
//! policy delegates to IAM; `kms.baseline-key` checks that it does). Nothing here writes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::{AwsError, Caller};
use crate::baseline::{InstanceRole, InstanceRoles as Settings, RegionName};
use crate::controls::logs::bucket;
use crate::engine::Context;
use crate::inventory::iam_authorization::{self, Authorization, RoleGrants};
use crate::inventory::{bucket_encryption, key_alias};
use crate::policy::permissions;
use crate::policy::request::Request;
use crate::service_access::{self, Names};

use super::SESSION_MANAGER_TEMPLATE;

/// What one instance's profile lacks for Session Manager: the finding's observed state, from which its
/// manual steps are written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionManagerGap {
    #[serde(rename = "instance_profile")]
    pub profile: String,
    /// The role the profile holds; `None` when it holds none.
    pub role: Option<String>,
    /// What the role is not allowed: an action, or `action on resource` when the resource is not `*`
    /// or the instance itself.
    #[serde(rename = "missing_session_manager_actions")]
    pub missing: Vec<String>,
}

/// One instance with a profile to judge.
#[derive(Clone, Debug)]
pub struct Profiled {
    /// `region/instance-id`: the finding's key.
    pub key: String,
    pub region: RegionName,
    pub instance: String,
    pub profile_arn: String,
}

/// The KMS keys Session Manager uses for an instance of one region: the session key, and the key S3
/// encrypts the session logs with (`None`: no log bucket, or one S3 encrypts without a customer
/// managed key).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionKeys {
    pub session: Option<String>,
    pub log_bucket: Option<String>,
}

/// The name of an instance profile, from its ARN (`arn:aws:iam::1:instance-profile/path/NAME`).
pub fn profile_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The baseline role whose profile this is (named after it; names are unique in an account, whatever
/// the path).
pub fn baseline_role<'a>(settings: &'a Settings, profile_arn: &str) -> Option<&'a InstanceRole> {
    settings.roles.iter().find(|role| role.name == profile_name(profile_arn))
}

/// The ARN of the account's role `name` (its path does not matter to its own identity policies).
fn role_arn(caller: &Caller, name: &str) -> String {
    format!("arn:{}:iam::{}:role/{name}", caller.partition, caller.account_id)
}

/// A key as S3 names it (an ARN, a key id or an alias) as an ARN in `region`.
fn key_arn(caller: &Caller, region: &str, key: &str) -> String {
    if key.starts_with("arn:") {
        key.to_string()
    } else if key.starts_with("alias/") {
        format!("arn:{}:kms:{region}:{}:{key}", caller.partition, caller.account_id)
    } else {
        format!("arn:{}:kms:{region}:{}:key/{key}", caller.partition, caller.account_id)
    }
}

/// The baseline key of `region`, by its alias (the run's shared read); `key/*` of the region while it
/// does not exist. `None` without `kms.baseline-key`.
async fn baseline_key_in(ctx: &Context<'_>, region: &str) -> Result<Option<String>, AwsError> {
    let Some(settings) = &ctx.baseline.baseline_key else { return Ok(None) };
    let described = key_alias::described(ctx.aws, region, &settings.alias.qualified()).await?;
    let arn = described.and_then(|key| key.arn().map(str::to_string));
    Ok(Some(arn.unwrap_or_else(|| format!("arn:{}:kms:{region}:{}:key/*", ctx.caller.partition, ctx.caller.account_id))))
}

/// The keys Session Manager uses for instances of `region` (module documentation).
pub async fn session_keys(ctx: &Context<'_>, region: &RegionName) -> Result<SessionKeys, AwsError> {
    let Some(preferences) = &ctx.baseline.session_preferences else { return Ok(SessionKeys::default()) };
    let home = ctx.baseline.home_region();
    let session = baseline_key_in(ctx, region.as_str()).await?;
    let log_bucket = match preferences.s3_bucket.as_ref().map(|b| ctx.vars(region).render(b)) {
        None => None,
        Some(name) if Some(&name) == bucket::audit_bucket_name(ctx, home).as_ref() => baseline_key_in(ctx, home.as_str()).await?,
        Some(name) => {
            let found = bucket_encryption::read(ctx, &name).await?;
            let bucket_region = found.region.as_deref().unwrap_or(home.as_str());
            found.kms_key.map(|key| key_arn(ctx.caller, bucket_region, &key))
        }
    };
    Ok(SessionKeys { session, log_bucket })
}

/// What Session Manager asks of the role `role` for `instance` in `region`.
pub fn requests(ctx: &Context<'_>, role: &str, region: &RegionName, instance: &str, keys: &SessionKeys) -> Vec<Request> {
    let names = Names::new(ctx.baseline, ctx.caller);
    service_access::session_manager_requests(&names, &role_arn(ctx.caller, role), region, instance, keys.session.as_deref(), keys.log_bucket.as_deref())
}

/// True when the baseline's own templates for `role` allow every request of `wanted`: its instances
/// need no read (mamori keeps those policies). A baseline role without them, an application role,
/// say, is looked at like any other.
pub fn templates_grant(ctx: &Context<'_>, role: &InstanceRole, wanted: &[Request]) -> bool {
    let vars = ctx.vars(ctx.baseline.home_region());
    let documents: Vec<Value> = role.policy_templates.iter().map(|template| ctx.baseline.templates.render(template, &vars)).collect();
    permissions::missing(&documents.iter().collect::<Vec<_>>(), wanted).is_empty()
}

/// A request as a finding names it: the action, with its resource unless that is `*` or the instance.
fn needed(request: &Request) -> String {
    if request.resource == "*" || request.resource.contains(":instance/") {
        request.action.clone()
    } else {
        format!("{} on {}", request.action, request.resource)
    }
}

/// The role the profile `profile_arn` holds, by name.
fn role_holding<'a>(details: &'a Authorization, profile_arn: &str) -> Option<(&'a String, &'a RoleGrants)> {
    details.roles.iter().find(|(_, role)| role.instance_profiles.iter().any(|arn| arn == profile_arn))
}

/// What the profile `profile_arn` lacks: `wanted` gives the requests for a role name, `document` the
/// document of a managed policy the role attaches; when one is unknown, so is the answer (`None`).
pub fn gap(wanted: impl Fn(&str) -> Vec<Request>, profile_arn: &str, details: &Authorization, document: impl Fn(&str) -> Option<Value>) -> Option<SessionManagerGap> {
    let profile = profile_name(profile_arn).to_string();
    let Some((role, holder)) = role_holding(details, profile_arn) else {
        let missing = wanted("(no role)").iter().map(needed).collect();
        return Some(SessionManagerGap { profile, role: None, missing });
    };
    let mut documents: Vec<Value> = holder.grants.inline.values().cloned().collect();
    for arn in &holder.grants.attached {
        documents.push(document(arn)?);
    }
    let wanted = wanted(role);
    let missing = permissions::missing(&documents.iter().collect::<Vec<_>>(), &wanted);
    Some(SessionManagerGap { profile, role: Some(role.clone()), missing: missing.into_iter().map(needed).collect() })
}

/// The gap of each instance: the account's roles are read once, the AWS managed policies their roles
/// attach once each; `keys` holds the keys of each instance's region.
pub async fn gaps(ctx: &Context<'_>, profiled: &[Profiled], keys: &BTreeMap<RegionName, SessionKeys>) -> Result<BTreeMap<String, SessionManagerGap>, AwsError> {
    let details = iam_authorization::authorization(ctx.aws).await?;
    let mut aws_managed = BTreeMap::new();
    for instance in profiled {
        let attached = role_holding(&details, &instance.profile_arn).map(|(_, role)| role.grants.attached.as_slice()).unwrap_or_default();
        for arn in attached.iter().filter(|arn| !details.customer_policies.contains_key(*arn)) {
            aws_managed.insert(arn.clone(), iam_authorization::managed_policy_document(ctx.aws, arn).await?);
        }
    }
    let document = |arn: &str| details.customer_policies.get(arn).map(|policy| policy.document.clone()).or_else(|| aws_managed.get(arn).cloned());
    let mut gaps = BTreeMap::new();
    for instance in profiled {
        let region_keys = keys.get(&instance.region).cloned().unwrap_or_default();
        let wanted = |role: &str| requests(ctx, role, &instance.region, &instance.instance, &region_keys);
        let gap = gap(wanted, &instance.profile_arn, &details, document)
            .ok_or_else(|| AwsError::malformed("iam:GetPolicyVersion", "a managed policy attached to a role has no readable document"))?;
        gaps.insert(instance.key.clone(), gap);
    }
    Ok(gaps)
}

/// The steps for an instance whose profile lacks what Session Manager needs: what is missing, and the
/// two fixes a human may choose (mamori makes neither).
pub fn steps(settings: &Settings, caller: &Caller, home_region: &str, region: &str, instance: &str, gap: &SessionManagerGap) -> String {
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
            "{instance} ({region}) uses the instance profile {profile}, whose role {role} does not allow what Session Manager needs \
             under the baseline's preferences: {missing}. mamori changes no role or profile it does not own. Either 1) give {role} the \
             baseline's policy as an inline policy: aws iam put-role-policy --role-name {role} --policy-name {SESSION_MANAGER_TEMPLATE} \
             --policy-document file://{SESSION_MANAGER_TEMPLATE}.json ({template})"
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

#[cfg(test)]
mod tests;
