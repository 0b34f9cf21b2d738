//! `logs.trail`: CloudTrail for the whole account (or organization) into the audit-log bucket.
//!
//! Which trail depends on where mamori runs: in an organization's management account it runs an
//! organization trail (after enabling CloudTrail's trusted access in Organizations); in a member
//! account that an organization trail already covers it passes and creates nothing; anywhere else it
//! runs a multi-region account trail. In every case the trail logs global service events and all
//! management events (read and write), validates log files, encrypts with the baseline key, delivers to
//! a CloudWatch Logs group (KMS-encrypted, with retention) through a delivery role, and is logging.
//!
//! Create-or-update: an existing trail of the baseline's name is updated in place (`UpdateTrail`, same
//! ARN), never deleted and recreated. The trail lives in the home region; its calls go there.

use async_trait::async_trait;
use aws_sdk_cloudtrail::types::{EventSelector, ReadWriteType};
use serde::Serialize;
use serde_json::Value;

use crate::aws::{propagation, AwsError, NameCall};
use crate::baseline::{Baseline, Trail as Settings};
use crate::inventory::organization::{self, OrgPosition};
use crate::controls::kms::baseline_key;
use super::bucket;
use crate::inventory::log_groups;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Scope, Target};
use crate::policy;
use crate::report::Action;

static META: ControlMeta = ControlMeta {
    id: "logs.trail",
    source: file!(),
    title: "Organization or multi-region trail: logging, validated, KMS-encrypted, to CloudWatch Logs, all management events",
    fix: Fix::Automatic,
    scope: Scope::Account,
    cis_v5: &["3.1", "3.2", "3.5"],
    fsbp: &["CloudTrail.1", "CloudTrail.2", "CloudTrail.4", "CloudTrail.5"],
    depends_on: &["kms.baseline-key", "logs.bucket"],
};

const CLOUDTRAIL_PRINCIPAL: &str = "cloudtrail.amazonaws.com";
const DELIVERY_POLICY_NAME: &str = "mamori-cloudtrail-delivery";

pub struct Trail;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrailState {
    /// An organization trail run by the management account already covers this member account.
    pub covered_by_organization_trail: Option<String>,
    pub exists: bool,
    pub organization_trail: bool,
    pub multi_region: bool,
    pub global_service_events: bool,
    pub log_file_validation: bool,
    pub s3_bucket: Option<String>,
    pub kms_key: Option<String>,
    pub cloudwatch_logs_group: Option<String>,
    pub cloudwatch_logs_role: Option<String>,
    /// `All`, `ReadOnly`, `WriteOnly`, or `none`.
    pub management_events: String,
    pub logging: bool,
    pub log_group_exists: bool,
    pub log_group_retention_days: Option<i32>,
    pub log_group_kms_key: Option<String>,
    /// The delivery role exists with the templates' trust and permission statements.
    pub delivery_role: bool,
    /// CloudTrail's trusted access in Organizations (management account only).
    pub trusted_access: Option<bool>,
    #[serde(skip)]
    pub position: OrgPosition,
    #[serde(skip)]
    pub role_exists: bool,
    #[serde(skip)]
    pub role_trust: Option<Value>,
    #[serde(skip)]
    pub role_policy: Option<Value>,
}

impl TrailState {
    /// What `CreateTrail`/`UpdateTrail` write, for comparing an existing trail.
    fn trail_settings(&self) -> impl PartialEq + '_ {
        (
            self.organization_trail,
            self.multi_region,
            self.global_service_events,
            self.log_file_validation,
            &self.s3_bucket,
            &self.kms_key,
            &self.cloudwatch_logs_group,
            &self.cloudwatch_logs_role,
        )
    }
}

/// Applies the settings `CreateTrail` and `UpdateTrail` share to either builder (distinct types).
macro_rules! trail_settings {
    ($builder:expr, $bucket:expr, $key:expr, $organization:expr, $ctx:expr, $target:expr) => {
        $builder
            .s3_bucket_name($bucket)
            .is_multi_region_trail(true)
            .include_global_service_events(true)
            .enable_log_file_validation(true)
            .is_organization_trail($organization)
            .kms_key_id($key)
            .cloud_watch_logs_log_group_arn(log_group_arn($ctx, $target))
            .cloud_watch_logs_role_arn(role_arn($ctx))
    };
}

fn settings<'a>(ctx: &Context<'a>) -> &'a Settings {
    ctx.baseline.trail.as_ref().expect("the engine only runs enabled controls")
}

fn trail_arn(ctx: &Context<'_>, target: &Target) -> String {
    format!("arn:{}:cloudtrail:{}:{}:trail/{}", ctx.caller.partition, target.region, ctx.caller.account_id, settings(ctx).name)
}

fn log_group_arn(ctx: &Context<'_>, target: &Target) -> String {
    format!("arn:{}:logs:{}:{}:log-group:{}:*", ctx.caller.partition, target.region, ctx.caller.account_id, settings(ctx).log_group)
}

fn role_arn(ctx: &Context<'_>) -> String {
    format!("arn:{}:iam::{}:role/{}", ctx.caller.partition, ctx.caller.account_id, settings(ctx).delivery_role)
}

/// In a member account: the ARN of an organization trail that another account (the management
/// account) runs, and which therefore already covers this one.
fn covering_organization_trail(trails: &[aws_sdk_cloudtrail::types::Trail], position: &OrgPosition, account_id: &str) -> Option<String> {
    if *position != OrgPosition::Member {
        return None;
    }
    trails
        .iter()
        .find(|t| t.is_organization_trail() == Some(true) && t.trail_arn().and_then(arn_account) != Some(account_id))
        .and_then(|t| t.trail_arn())
        .map(str::to_string)
}

/// The account id in an ARN.
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

fn template(ctx: &Context<'_>, target: &Target, name: &str) -> Value {
    ctx.baseline.templates.render(name, &ctx.vars(&target.region))
}

fn contains_all(current: Option<&Value>, wanted: &Value) -> bool {
    current.is_some_and(|current| policy::statements(wanted).iter().all(|s| policy::contains_statement(current, s)))
}

#[async_trait]
impl Control for Trail {
    type State = TrailState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.trail.is_some()
    }

    fn resource(&self, ctx: &Context<'_>, _target: &Target) -> String {
        format!("trail/{}", ctx.baseline.trail_name)
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<TrailState, AwsError> {
        let region = target.region.as_str();
        let cloudtrail = ctx.aws.cloudtrail(region);
        let settings = settings(ctx);
        let trails = cloudtrail.describe_trails().include_shadow_trails(true).send().await.named("cloudtrail:DescribeTrails")?;
        let position = organization::read(ctx).await?.position;
        let ours = trail_arn(ctx, target);
        let trail = trails.trail_list().iter().find(|t| t.trail_arn() == Some(ours.as_str()));
        let covering = covering_organization_trail(trails.trail_list(), &position, &ctx.caller.account_id);

        let (logging, management_events) = match trail {
            Some(_) => {
                let status = cloudtrail.get_trail_status().name(&ours).send().await.named("cloudtrail:GetTrailStatus")?;
                let selectors = cloudtrail.get_event_selectors().trail_name(&ours).send().await.named("cloudtrail:GetEventSelectors")?;
                let management = selectors
                    .event_selectors()
                    .iter()
                    .filter(|s| s.include_management_events() != Some(false))
                    .map(|s| s.read_write_type().map_or("All", |t| t.as_str()).to_string())
                    .max_by_key(|t| t == "All")
                    .unwrap_or_else(|| if selectors.advanced_event_selectors().is_empty() { "All".into() } else { "advanced".into() });
                (status.is_logging().unwrap_or(false), management)
            }
            None => (false, "none".to_string()),
        };

        let group = log_groups::read_trail_log_group(ctx, target).await?;
        let group = group.as_ref();

        let iam = ctx.aws.iam();
        let (role_exists, role_trust) = match iam.get_role().role_name(&settings.delivery_role).send().await {
            Ok(out) => (true, out.role().and_then(|r| r.assume_role_policy_document()).and_then(policy::parse_document)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => (false, None),
            Err(e) => return Err(AwsError::from_sdk("iam:GetRole", e)),
        };
        let role_policy = if role_exists {
            match iam.get_role_policy().role_name(&settings.delivery_role).policy_name(DELIVERY_POLICY_NAME).send().await {
                Ok(out) => policy::parse_document(out.policy_document()),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => None,
                Err(e) => return Err(AwsError::from_sdk("iam:GetRolePolicy", e)),
            }
        } else {
            None
        };
        let delivery_role = contains_all(role_trust.as_ref(), &template(ctx, target, &settings.delivery_role_trust_template))
            && contains_all(role_policy.as_ref(), &template(ctx, target, &settings.delivery_role_policy_template));

        let trusted_access = if position == OrgPosition::Management {
            let out = ctx.aws.organizations().list_aws_service_access_for_organization().send().await.named("organizations:ListAWSServiceAccessForOrganization")?;
            Some(out.enabled_service_principals().iter().any(|p| p.service_principal() == Some(CLOUDTRAIL_PRINCIPAL)))
        } else {
            None
        };

        Ok(TrailState {
            covered_by_organization_trail: covering,
            exists: trail.is_some(),
            organization_trail: trail.and_then(|t| t.is_organization_trail()).unwrap_or(false),
            multi_region: trail.and_then(|t| t.is_multi_region_trail()).unwrap_or(false),
            global_service_events: trail.and_then(|t| t.include_global_service_events()).unwrap_or(false),
            log_file_validation: trail.and_then(|t| t.log_file_validation_enabled()).unwrap_or(false),
            s3_bucket: trail.and_then(|t| t.s3_bucket_name()).map(str::to_string),
            kms_key: trail.and_then(|t| t.kms_key_id()).map(str::to_string),
            cloudwatch_logs_group: trail.and_then(|t| t.cloud_watch_logs_log_group_arn()).map(str::to_string),
            cloudwatch_logs_role: trail.and_then(|t| t.cloud_watch_logs_role_arn()).map(str::to_string),
            management_events,
            logging,
            log_group_exists: group.is_some(),
            log_group_retention_days: group.and_then(|g| g.retention_in_days()),
            log_group_kms_key: group.and_then(|g| g.kms_key_id()).map(str::to_string),
            delivery_role,
            trusted_access,
            position,
            role_exists,
            role_trust,
            role_policy,
        })
    }

    fn desired(&self, ctx: &Context<'_>, target: &Target, observed: &TrailState, facts: &Facts) -> TrailState {
        if observed.covered_by_organization_trail.is_some() {
            return observed.clone();
        }
        let settings = settings(ctx);
        let key = baseline_key::key_reference(ctx, facts, &target.region);
        let management = observed.position == OrgPosition::Management;
        TrailState {
            covered_by_organization_trail: None,
            exists: true,
            organization_trail: management,
            multi_region: true,
            global_service_events: true,
            log_file_validation: true,
            s3_bucket: bucket::audit_bucket_name(ctx, &target.region),
            kms_key: key.clone(),
            cloudwatch_logs_group: Some(log_group_arn(ctx, target)),
            cloudwatch_logs_role: Some(role_arn(ctx)),
            management_events: "All".into(),
            logging: true,
            log_group_exists: true,
            log_group_retention_days: Some(settings.log_group_retention_days),
            log_group_kms_key: key,
            delivery_role: true,
            trusted_access: management.then_some(true),
            ..observed.clone()
        }
    }

    fn action(&self, observed: &TrailState) -> Action {
        if observed.exists {
            Action::Update
        } else {
            Action::Create
        }
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &TrailState, desired: &TrailState) -> Result<(), ControlError> {
        let settings = settings(ctx);
        let region = target.region.as_str();
        let key = desired.kms_key.clone().filter(|k| baseline_key::is_key_arn(k)).ok_or_else(|| baseline_key::key_missing(&target.region))?;
        let bucket = desired.s3_bucket.clone().ok_or_else(|| ControlError::Precondition("logs.trail writes to the audit-log bucket: configure logs.bucket".into()))?;

        let logs = ctx.aws.logs(region);
        if !observed.log_group_exists {
            logs.create_log_group().log_group_name(&settings.log_group).kms_key_id(&key).send().await.named("logs:CreateLogGroup")?;
        } else if observed.log_group_kms_key != desired.log_group_kms_key {
            logs.associate_kms_key().log_group_name(&settings.log_group).kms_key_id(&key).send().await.named("logs:AssociateKmsKey")?;
        }
        log_groups::forget_trail_log_group(ctx);
        if observed.log_group_retention_days != desired.log_group_retention_days {
            logs.put_retention_policy()
                .log_group_name(&settings.log_group)
                .retention_in_days(settings.log_group_retention_days)
                .send()
                .await
                .named("logs:PutRetentionPolicy")?;
        }

        if !observed.delivery_role {
            converge_delivery_role(ctx, target, observed).await?;
        }

        if observed.trusted_access == Some(false) {
            ctx.aws
                .organizations()
                .enable_aws_service_access()
                .service_principal(CLOUDTRAIL_PRINCIPAL)
                .send()
                .await
                .named("organizations:EnableAWSServiceAccess")?;
        }

        let cloudtrail = ctx.aws.cloudtrail(region);
        if !observed.exists {
            // CloudTrail may not see a delivery role or policy written moments ago: retried (aws::propagation).
            let create = trail_settings!(cloudtrail.create_trail().name(&settings.name), &bucket, &key, desired.organization_trail, ctx, target);
            propagation::send("cloudtrail:CreateTrail", || create.clone().send()).await?;
        } else if observed.trail_settings() != desired.trail_settings() {
            let update = trail_settings!(cloudtrail.update_trail().name(trail_arn(ctx, target)), &bucket, &key, desired.organization_trail, ctx, target);
            propagation::send("cloudtrail:UpdateTrail", || update.clone().send()).await?;
        }
        if observed.management_events != desired.management_events {
            let all = EventSelector::builder().read_write_type(ReadWriteType::All).include_management_events(true).build();
            cloudtrail.put_event_selectors().trail_name(trail_arn(ctx, target)).event_selectors(all).send().await.named("cloudtrail:PutEventSelectors")?;
        }
        if !observed.logging {
            cloudtrail.start_logging().name(trail_arn(ctx, target)).send().await.named("cloudtrail:StartLogging")?;
        }
        Ok(())
    }
}

/// Creates the delivery role or adds the templates' statements to it; existing statements are kept.
async fn converge_delivery_role(ctx: &Context<'_>, target: &Target, observed: &TrailState) -> Result<(), ControlError> {
    let settings = settings(ctx);
    let iam = ctx.aws.iam();
    let trust = template(ctx, target, &settings.delivery_role_trust_template);
    let permissions = template(ctx, target, &settings.delivery_role_policy_template);
    if !observed.role_exists {
        iam.create_role()
            .role_name(&settings.delivery_role)
            .assume_role_policy_document(trust.to_string())
            .description("CloudTrail delivers the mamori trail to CloudWatch Logs")
            .send()
            .await
            .named("iam:CreateRole")?;
    } else if !contains_all(observed.role_trust.as_ref(), &trust) {
        let merged = policy::merge_statements(observed.role_trust.as_ref().unwrap_or(&Value::Null), &trust);
        iam.update_assume_role_policy()
            .role_name(&settings.delivery_role)
            .policy_document(merged.to_string())
            .send()
            .await
            .named("iam:UpdateAssumeRolePolicy")?;
    }
    if !contains_all(observed.role_policy.as_ref(), &permissions) {
        let merged = policy::merge_statements(observed.role_policy.as_ref().unwrap_or(&Value::Null), &permissions);
        let put = iam.put_role_policy().role_name(&settings.delivery_role).policy_name(DELIVERY_POLICY_NAME).policy_document(merged.to_string());
        propagation::send("iam:PutRolePolicy", || put.clone().send()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudtrail::types::Trail;

    use super::*;

    fn trail(arn: &str, organization: bool) -> Trail {
        Trail::builder().trail_arn(arn).is_organization_trail(organization).build()
    }

    #[test]
    fn a_member_is_covered_by_the_management_accounts_organization_trail() {
        let trails = [
            trail("arn:aws:cloudtrail:us-east-1:111111111111:trail/local", false),
            trail("arn:aws:cloudtrail:us-east-1:999999999999:trail/org", true),
        ];
        let covering = covering_organization_trail(&trails, &OrgPosition::Member, "111111111111");
        assert_eq!(covering.as_deref(), Some("arn:aws:cloudtrail:us-east-1:999999999999:trail/org"));
    }

    #[test]
    fn only_a_member_counts_as_covered() {
        let trails = [trail("arn:aws:cloudtrail:us-east-1:999999999999:trail/org", true)];
        assert_eq!(covering_organization_trail(&trails, &OrgPosition::Standalone, "111111111111"), None);
        assert_eq!(covering_organization_trail(&trails, &OrgPosition::Management, "999999999999"), None);
        let own = [trail("arn:aws:cloudtrail:us-east-1:111111111111:trail/org", true)];
        assert_eq!(covering_organization_trail(&own, &OrgPosition::Member, "111111111111"), None, "its own trail covers nothing");
        let account_trail = [trail("arn:aws:cloudtrail:us-east-1:999999999999:trail/acct", false)];
        assert_eq!(covering_organization_trail(&account_trail, &OrgPosition::Member, "111111111111"), None);
    }
}
