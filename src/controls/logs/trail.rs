//! `logs.trail`: CloudTrail for the whole account (or organization) into the audit-log bucket and a
//! CloudWatch Logs group, checked by what it delivers, not only by its settings.
//!
//! Which trail records the account ([`crate::inventory::trails`]):
//! - an organization trail mamori does not manage (the management account's, seen from a member, or
//!   AWS Control Tower's in the management account) is the trail of record. mamori creates no second
//!   one; it reports whether that trail itself satisfies the settings (multi-region, global service
//!   events, log-file validation, KMS, CloudWatch Logs, all management events, logging, delivery) and
//!   leaves it alone (`manual`: it is changed where it is managed);
//! - otherwise mamori runs its own trail: an organization trail in a management account whose
//!   organization has all features enabled and gives CloudTrail trusted access
//!   (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-an-organizational-trail-prepare.html>),
//!   a multi-region account trail anywhere else.
//!
//! mamori's own trail logs global service events and all management events (read and write, no source
//! excluded: [`event_selectors`]), validates log files, encrypts with the baseline key, delivers to a
//! CloudWatch Logs group (KMS-encrypted, retention raised to the baseline's and never shortened:
//! [`retention`]) through a delivery role, is logging, and delivers ([`delivery`]). Create-or-update:
//! an existing trail of the baseline's name is updated in place (`UpdateTrail`, same ARN), never
//! deleted and recreated; its event selectors are rewritten only to add management events, in the
//! form (basic or advanced) the trail uses, every other selector kept. The trail lives in the home
//! region; its calls go there.

pub mod delivery;
pub mod event_selectors;
pub mod retention;

use async_trait::async_trait;
use aws_sdk_cloudtrail::operation::get_trail_status::GetTrailStatusOutput;
use aws_sdk_cloudtrail::types::Trail as CloudTrail;
use aws_smithy_types::DateTime;
use serde::Serialize;
use serde_json::Value;

use super::bucket;
use crate::aws::{propagation, AwsError, NameCall};
use crate::baseline::{Baseline, Trail as Settings};
use crate::controls::kms::baseline_key;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::inventory::organization::{self, OrgPosition};
use crate::inventory::{log_groups, trails};
use crate::policy;
use crate::report::Action;
use delivery::{Channel, Health};
use event_selectors::{ManagementEvents, Selectors};
use crate::least_privilege::{arn, Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "logs.trail",
    source: file!(),
    title: "Organization or multi-region trail: logging and delivering, validated, KMS-encrypted, to CloudWatch Logs, all management events",
    fix: Fix::Automatic,
    scope: Scope::Account,
    cis_v5: &["3.1", "3.2", "3.5"],
    fsbp: &["CloudTrail.1", "CloudTrail.2", "CloudTrail.4", "CloudTrail.5"],
    depends_on: &["kms.baseline-key", "logs.bucket"],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::on(&["cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"], &[arn::ANY_TRAIL]),
        Grant::on(&["iam:GetRole", "iam:GetRolePolicy"], &[arn::DELIVERY_ROLE]),
    ],
    shared: &[crate::inventory::trails::READS, crate::inventory::organization::READS, crate::inventory::log_groups::READS],
    apply: &[
        Grant::on(&["cloudtrail:CreateTrail", "cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors", "cloudtrail:StartLogging"], &[arn::TRAIL]),
        Grant::on(&["iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:PassRole"], &[arn::DELIVERY_ROLE]),
        Grant::on(&["iam:CreateServiceLinkedRole"], &[arn::CLOUDTRAIL_SERVICE_ROLE]),
        Grant::any(&["organizations:EnableAWSServiceAccess"]),
        Grant::on(&["logs:CreateLogGroup", "logs:AssociateKmsKey", "logs:PutRetentionPolicy"], &[arn::LOG_GROUP, arn::LOG_GROUP_STREAMS]),
    ],
};

const CLOUDTRAIL_PRINCIPAL: &str = "cloudtrail.amazonaws.com";
const DELIVERY_POLICY_NAME: &str = "mamori-cloudtrail-delivery";

pub struct Trail;

/// mamori's own trail, as `CreateTrail`, `UpdateTrail`, `PutEventSelectors` and `StartLogging` write it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OwnTrail {
    pub exists: bool,
    pub organization_trail: bool,
    pub multi_region: bool,
    pub global_service_events: bool,
    pub log_file_validation: bool,
    pub s3_bucket: Option<String>,
    pub kms_key: Option<String>,
    pub cloudwatch_logs_group: Option<String>,
    pub cloudwatch_logs_role: Option<String>,
    pub management_events: ManagementEvents,
    pub logging: bool,
    /// The delivery role exists with the templates' trust and permission statements.
    pub delivery_role: bool,
}

/// An organization trail mamori does not manage, which records this account: what it must satisfy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrganizationTrail {
    pub arn: String,
    pub multi_region: bool,
    pub global_service_events: bool,
    pub log_file_validation: bool,
    /// Encrypted with a KMS key (its owner's key: any key passes).
    pub kms_encrypted: bool,
    /// Delivers to a CloudWatch Logs group (in its owner's account).
    pub cloudwatch_logs: bool,
    pub management_events: ManagementEvents,
    pub logging: bool,
}

/// The trail that records the account.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Recorder {
    Own(OwnTrail),
    Organization(OrganizationTrail),
}

/// Whether the trail of record delivers, per channel.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    pub s3: Health,
    pub cloudwatch_logs: Health,
}

/// mamori's trail's CloudWatch Logs group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogGroup {
    pub exists: bool,
    pub kms_key: Option<String>,
    /// [`retention::label`]: `365 days`, `never expires`.
    pub retention: String,
}

/// What an organization trail needs from the organization (management account only).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrganizationSetup {
    /// All features enabled, not only consolidated billing.
    pub all_features: bool,
    pub cloudtrail_trusted_access: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrailState {
    pub recorder: Recorder,
    pub delivery: Delivery,
    /// mamori's own trail only.
    pub log_group: Option<LogGroup>,
    /// In an organization's management account.
    pub organization: Option<OrganizationSetup>,
    #[serde(skip)]
    pub read: Observations,
}

/// What `observe` read that `apply` needs and findings do not show.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observations {
    organization_id: Option<String>,
    /// The group's retention in days; `None`: forever (or no group).
    retention_days: Option<i32>,
    /// The own trail's event selectors, when it exists.
    selectors: Option<Selectors>,
    role_exists: bool,
    role_trust: Option<Value>,
    role_policy: Option<Value>,
}

impl OwnTrail {
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

fn log_group_arn(ctx: &Context<'_>, target: &Target) -> String {
    format!("arn:{}:logs:{}:{}:log-group:{}:*", ctx.caller.partition, target.region, ctx.caller.account_id, settings(ctx).log_group)
}

fn role_arn(ctx: &Context<'_>) -> String {
    format!("arn:{}:iam::{}:role/{}", ctx.caller.partition, ctx.caller.account_id, settings(ctx).delivery_role)
}

fn template(ctx: &Context<'_>, target: &Target, name: &str) -> Value {
    ctx.baseline.templates.render(name, &ctx.vars(&target.region))
}

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("states serialize")
}

fn contains_all(current: Option<&Value>, wanted: &Value) -> bool {
    current.is_some_and(|current| policy::statements(wanted).iter().all(|s| policy::contains_statement(current, s)))
}

/// The management account, when this account is another account of the organization layout: its
/// trail is the management account's organization trail, never one of its own.
fn organization_trail_owner<'a>(ctx: &'a Context<'_>) -> Option<&'a str> {
    let (layout, _) = ctx.organization_layout()?;
    (layout.management_account != ctx.caller.account_id).then_some(layout.management_account.as_str())
}

/// `GetTrailStatus` and `GetEventSelectors` of the trail `arn` (a member reads its organization's
/// trail by ARN; in a run over an organization it reuses the management account's read).
async fn read_status(ctx: &Context<'_>, target: &Target, arn: &str) -> Result<(GetTrailStatusOutput, Selectors), AwsError> {
    if let Some(read) = ctx.layout.and_then(|layout| layout.trail_for_member(&ctx.caller.account_id)).filter(|t| t.arn() == arn) {
        let selectors = &read.selectors;
        return Ok((read.status.clone(), Selectors::from_response(selectors.event_selectors(), selectors.advanced_event_selectors())));
    }
    let cloudtrail = ctx.aws.cloudtrail(target.region.as_str());
    let (status, selectors) = futures::join!(cloudtrail.get_trail_status().name(arn).send(), cloudtrail.get_event_selectors().trail_name(arn).send());
    let (status, selectors) = (status.named("cloudtrail:GetTrailStatus")?, selectors.named("cloudtrail:GetEventSelectors")?);
    Ok((status, Selectors::from_response(selectors.event_selectors(), selectors.advanced_event_selectors())))
}

/// The delivery health of `trail`, from its status, at `now`.
fn delivery_of(trail: &CloudTrail, status: &GetTrailStatusOutput, now: &DateTime) -> Delivery {
    let (logging, started) = (status.is_logging().unwrap_or(false), status.start_logging_time());
    let s3 = Channel { configured: true, delivered: status.latest_delivery_time(), error: status.latest_delivery_error() };
    let cloudwatch_logs = Channel {
        configured: trail.cloud_watch_logs_log_group_arn().is_some_and(|arn| !arn.is_empty()),
        delivered: status.latest_cloud_watch_logs_delivery_time(),
        error: status.latest_cloud_watch_logs_delivery_error(),
    };
    Delivery { s3: delivery::health(&s3, logging, started, now), cloudwatch_logs: delivery::health(&cloudwatch_logs, logging, started, now) }
}

/// The IAM delivery role and its inline policy, as documents (`None` where missing).
async fn read_delivery_role(ctx: &Context<'_>) -> Result<(bool, Option<Value>, Option<Value>), AwsError> {
    let role = &settings(ctx).delivery_role;
    let iam = ctx.aws.iam();
    let (exists, trust) = match iam.get_role().role_name(role).send().await {
        Ok(out) => (true, out.role().and_then(|r| r.assume_role_policy_document()).and_then(policy::parse_document)),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => (false, None),
        Err(e) => return Err(AwsError::from_sdk("iam:GetRole", e)),
    };
    if !exists {
        return Ok((false, None, None));
    }
    let permissions = match iam.get_role_policy().role_name(role).policy_name(DELIVERY_POLICY_NAME).send().await {
        Ok(out) => policy::parse_document(out.policy_document()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => None,
        Err(e) => return Err(AwsError::from_sdk("iam:GetRolePolicy", e)),
    };
    Ok((true, trust, permissions))
}

/// The organization trail that records the account: what a member can read of it.
async fn observe_organization_trail(ctx: &Context<'_>, target: &Target, recorder: &CloudTrail, read: Observations) -> Result<TrailState, AwsError> {
    let arn = recorder.trail_arn().unwrap_or_default().to_string();
    let (status, selectors) = read_status(ctx, target, &arn).await?;
    Ok(TrailState {
        recorder: Recorder::Organization(OrganizationTrail {
            multi_region: recorder.is_multi_region_trail() == Some(true),
            global_service_events: recorder.include_global_service_events() == Some(true),
            log_file_validation: recorder.log_file_validation_enabled() == Some(true),
            kms_encrypted: recorder.kms_key_id().is_some_and(|k| !k.is_empty()),
            cloudwatch_logs: recorder.cloud_watch_logs_log_group_arn().is_some_and(|g| !g.is_empty()),
            management_events: event_selectors::management_events(&selectors),
            logging: status.is_logging() == Some(true),
            arn,
        }),
        delivery: delivery_of(recorder, &status, &DateTime::from(std::time::SystemTime::now())),
        log_group: None,
        organization: None,
        read,
    })
}

/// mamori's own trail (`trail`, when it exists), its log group and its delivery role.
async fn observe_own_trail(ctx: &Context<'_>, target: &Target, trail: Option<&CloudTrail>, mut read: Observations) -> Result<TrailState, AwsError> {
    let settings = settings(ctx);
    // The trail's status, its log group and its delivery role are read at once: none depends on another.
    let own_arn = trails::own_arn(ctx, target);
    let status = async {
        match trail {
            Some(_) => read_status(ctx, target, &own_arn).await.map(Some),
            None => Ok(None),
        }
    };
    let (status, group, role) = futures::join!(status, log_groups::read(ctx, target, &settings.log_group), read_delivery_role(ctx));
    let (management_events, logging, delivery) = match (trail, status?) {
        (Some(trail), Some((status, selectors))) => {
            let events = event_selectors::management_events(&selectors);
            read.selectors = Some(selectors);
            (events, status.is_logging() == Some(true), delivery_of(trail, &status, &DateTime::from(std::time::SystemTime::now())))
        }
        _ => {
            let none = Health::NotApplicable("no trail yet");
            (event_selectors::management_events(&Selectors::Basic(Vec::new())), false, Delivery { s3: none.clone(), cloudwatch_logs: none })
        }
    };
    let group = group?;
    read.retention_days = group.as_ref().and_then(|g| g.retention_in_days());
    let (role_exists, role_trust, role_policy) = role?;
    let delivery_role = contains_all(role_trust.as_ref(), &template(ctx, target, &settings.delivery_role_trust_template))
        && contains_all(role_policy.as_ref(), &template(ctx, target, &settings.delivery_role_policy_template));
    (read.role_exists, read.role_trust, read.role_policy) = (role_exists, role_trust, role_policy);
    Ok(TrailState {
        recorder: Recorder::Own(OwnTrail {
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
            delivery_role,
        }),
        delivery,
        log_group: Some(LogGroup {
            exists: group.is_some(),
            kms_key: group.as_ref().and_then(|g| g.kms_key_id()).map(str::to_string),
            retention: match group.is_some() {
                true => retention::label(read.retention_days),
                false => "no log group".into(),
            },
        }),
        organization: None,
        read,
    })
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
        let visible = trails::read(ctx, target).await?;
        let org = organization::read(ctx).await?;
        let organization = match (org.position == OrgPosition::Management, org.all_features) {
            (false, _) => None,
            (true, false) => Some(OrganizationSetup { all_features: false, cloudtrail_trusted_access: false }),
            (true, true) => Some(OrganizationSetup { all_features: true, cloudtrail_trusted_access: organization::trusted_access(ctx, CLOUDTRAIL_PRINCIPAL).await? }),
        };
        let read = Observations { organization_id: org.id.clone(), ..Observations::default() };
        let own_arn = trails::own_arn(ctx, target);
        let state = match trails::organization_trail(&visible, &org, &own_arn) {
            Some(recorder) => observe_organization_trail(ctx, target, recorder, read).await?,
            None => observe_own_trail(ctx, target, visible.iter().find(|t| t.trail_arn() == Some(own_arn.as_str())), read).await?,
        };
        Ok(TrailState { organization, ..state })
    }

    fn desired(&self, ctx: &Context<'_>, target: &Target, observed: &TrailState, facts: &Facts) -> TrailState {
        let settings = settings(ctx);
        let key = baseline_key::key_reference(ctx, facts, &target.region);
        let recorder = match &observed.recorder {
            Recorder::Organization(trail) => Recorder::Organization(OrganizationTrail {
                arn: trail.arn.clone(),
                multi_region: true,
                global_service_events: true,
                log_file_validation: true,
                kms_encrypted: true,
                cloudwatch_logs: true,
                management_events: ManagementEvents::all(),
                logging: true,
            }),
            Recorder::Own(_) => Recorder::Own(OwnTrail {
                exists: true,
                organization_trail: observed.organization.as_ref().is_some_and(|o| o.all_features),
                multi_region: true,
                global_service_events: true,
                log_file_validation: true,
                s3_bucket: bucket::audit_bucket_name(ctx, &target.region),
                kms_key: key.clone(),
                cloudwatch_logs_group: Some(log_group_arn(ctx, target)),
                cloudwatch_logs_role: Some(role_arn(ctx)),
                management_events: ManagementEvents::all(),
                logging: true,
                delivery_role: true,
            }),
        };
        let log_group = observed.log_group.as_ref().map(|group| LogGroup {
            exists: true,
            kms_key: key.clone(),
            retention: match group.exists {
                true => retention::desired_label(observed.read.retention_days, settings.log_group_retention_days),
                false => retention::label(Some(settings.log_group_retention_days)),
            },
        });
        TrailState {
            recorder,
            delivery: Delivery { s3: observed.delivery.s3.desired(), cloudwatch_logs: observed.delivery.cloudwatch_logs.desired() },
            log_group,
            organization: observed.organization.as_ref().map(|_| OrganizationSetup { all_features: true, cloudtrail_trusted_access: true }),
            read: observed.read.clone(),
        }
    }

    fn parts(&self, ctx: &Context<'_>, _target: &Target, observed: &TrailState, desired: &TrailState) -> Vec<Part> {
        let (trail_resource, action, fix) = match &observed.recorder {
            // In the organization layout, only the management account runs a trail: a member without
            // the organization trail cannot fix that itself.
            Recorder::Own(trail) => {
                let fix = organization_trail_owner(ctx).map(|_| Fix::Manual);
                (format!("trail/{}", settings(ctx).name), if trail.exists { Action::Update } else { Action::Create }, fix)
            }
            // Reported, never changed: it is managed elsewhere.
            Recorder::Organization(trail) => (format!("organization-trail/{}", trail.arn), Action::Update, Some(Fix::Manual)),
        };
        let mut parts = vec![Part { resource: trail_resource.clone(), observed: json(&observed.recorder), desired: json(&desired.recorder), action, fix }];
        // A trail that does not exist yet delivers nothing to judge.
        if action == Action::Update {
            parts.push(Part {
                resource: format!("{trail_resource}/delivery"),
                observed: json(&observed.delivery),
                desired: json(&desired.delivery),
                action: Action::Update,
                fix,
            });
        }
        if let (Some(current), Some(wanted)) = (&observed.log_group, &desired.log_group) {
            let action = if current.exists { Action::Update } else { Action::Create };
            parts.push(Part { resource: format!("log-group/{}", settings(ctx).log_group), observed: json(current), desired: json(wanted), action, fix: None });
        }
        if let (Some(current), Some(wanted)) = (&observed.organization, &desired.organization) {
            let id = observed.read.organization_id.as_deref().unwrap_or("organization");
            let fix = (!current.all_features).then_some(Fix::Manual);
            parts.push(Part { resource: format!("organization/{id}"), observed: json(current), desired: json(wanted), action: Action::Update, fix });
        }
        parts
    }

    fn pass_reason(&self, ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        if let Some(arn) = part.resource.strip_prefix("organization-trail/").filter(|r| !r.ends_with("/delivery")) {
            let owner = trails::arn_account(arn).unwrap_or("another account");
            return Some(format!(
                "the organization trail {arn} (account {owner}) records this account and satisfies the trail settings: mamori \
                 runs no second trail here"
            ));
        }
        let retention = part.observed.get("retention")?.as_str()?;
        let minimum = settings(ctx).log_group_retention_days;
        (retention != retention::label(Some(minimum))).then(|| {
            format!("the group keeps events {} (baseline: at least {minimum} days): retention is raised, never shortened", match retention {
                "never expires" => "forever".to_string(),
                days => format!("for {days}"),
            })
        })
    }

    fn manual_steps(&self, ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        if let Some(management) = organization_trail_owner(ctx).filter(|_| part.resource.starts_with("trail/")) {
            return Some(format!(
                "In the organization layout (organization.log_archive_account) the management account {management} runs the \
                 organization trail that records this account, and no account trail is made here; that trail was not found. \
                 Run `mamori apply --account {management}` (or `apply --org`, which runs the management account before the \
                 members), then verify this account again."
            ));
        }
        if part.resource.starts_with("organization/") {
            return Some(
                "An organization trail needs all features enabled in AWS Organizations (not only consolidated billing). From \
                 the management account: `aws organizations enable-all-features`; every invited member account must approve \
                 the handshake. Until then mamori runs a multi-region account trail here; afterwards `mamori apply --only \
                 logs.trail` enables CloudTrail's trusted access and turns that trail into the organization trail (same ARN)."
                    .into(),
            );
        }
        let arn = part.resource.strip_prefix("organization-trail/")?.trim_end_matches("/delivery");
        let owner = trails::arn_account(arn).unwrap_or("the management account");
        let name = arn.rsplit('/').next().unwrap_or(arn);
        Some(match owner == ctx.caller.account_id {
            true => format!(
                "The organization trail {arn} records every account of the organization, but mamori does not manage it (AWS \
                 Control Tower's, for one). Change it where it is managed; or let mamori manage it in place by naming it in \
                 the baseline (`logs.trail.name: {name}`): `mamori apply --only logs.trail` then updates it (same ARN) to the \
                 baseline's bucket, key and log group."
            ),
            false => format!(
                "This account is recorded by the organization trail {arn}, which account {owner} runs; a member account can \
                 read it but not change it. Fix it in account {owner} (`mamori apply --only logs.trail` there, when mamori \
                 manages it). mamori creates no second trail here."
            ),
        })
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &TrailState, desired: &TrailState) -> Result<(), ControlError> {
        if let Some(OrganizationSetup { all_features: true, cloudtrail_trusted_access: false }) = observed.organization {
            ctx.aws
                .organizations()
                .enable_aws_service_access()
                .service_principal(CLOUDTRAIL_PRINCIPAL)
                .send()
                .await
                .named("organizations:EnableAWSServiceAccess")?;
            organization::forget_trusted_access(ctx);
        }
        let (Recorder::Own(current), Recorder::Own(wanted)) = (&observed.recorder, &desired.recorder) else {
            // An organization trail mamori does not manage records the account: reported, never changed.
            return Ok(());
        };
        let settings = settings(ctx);
        let region = target.region.as_str();
        let key = wanted.kms_key.clone().filter(|k| baseline_key::is_key_arn(k)).ok_or_else(|| baseline_key::key_missing(&target.region))?;
        let bucket = wanted.s3_bucket.clone().ok_or_else(|| ControlError::Precondition("logs.trail writes to the audit-log bucket: configure logs.bucket".into()))?;

        converge_log_group(ctx, target, observed, &key).await?;
        if !current.delivery_role {
            converge_delivery_role(ctx, target, &observed.read).await?;
        }

        let cloudtrail = ctx.aws.cloudtrail(region);
        if !current.exists {
            // CloudTrail may not see a delivery role or policy written moments ago: retried (aws::propagation).
            let create = trail_settings!(cloudtrail.create_trail().name(&settings.name), &bucket, &key, wanted.organization_trail, ctx, target);
            propagation::send("cloudtrail:CreateTrail", || create.clone().send()).await?;
        } else if current.trail_settings() != wanted.trail_settings() {
            let update = trail_settings!(cloudtrail.update_trail().name(trails::own_arn(ctx, target)), &bucket, &key, wanted.organization_trail, ctx, target);
            propagation::send("cloudtrail:UpdateTrail", || update.clone().send()).await?;
        }
        trails::forget(ctx, target);
        // A trail created without event selectors logs every read and write management event
        // (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html):
        // only an existing trail's selectors are rewritten, and only to add management events.
        if let Some(selectors) = observed.read.selectors.as_ref().filter(|_| !current.management_events.is_all()) {
            let request = cloudtrail.put_event_selectors().trail_name(trails::own_arn(ctx, target));
            let request = match event_selectors::with_all_management_events(selectors).map_err(ControlError::Precondition)? {
                Selectors::Basic(basic) => request.set_event_selectors(Some(basic)),
                Selectors::Advanced(advanced) => request.set_advanced_event_selectors(Some(advanced)),
            };
            request.send().await.named("cloudtrail:PutEventSelectors")?;
        }
        if !current.logging {
            cloudtrail.start_logging().name(trails::own_arn(ctx, target)).send().await.named("cloudtrail:StartLogging")?;
        }
        Ok(())
    }
}

/// Creates the trail's log group (with the baseline key and retention), or sets its key and raises
/// its retention; never shortens it.
async fn converge_log_group(ctx: &Context<'_>, target: &Target, observed: &TrailState, key: &str) -> Result<(), ControlError> {
    let settings = settings(ctx);
    let Some(group) = &observed.log_group else { return Ok(()) };
    let logs = ctx.aws.logs(target.region.as_str());
    let minimum = settings.log_group_retention_days;
    let set_retention = if !group.exists {
        logs.create_log_group().log_group_name(&settings.log_group).kms_key_id(key).send().await.named("logs:CreateLogGroup")?;
        true
    } else {
        if group.kms_key.as_deref() != Some(key) {
            logs.associate_kms_key().log_group_name(&settings.log_group).kms_key_id(key).send().await.named("logs:AssociateKmsKey")?;
        }
        retention::needs_raise(observed.read.retention_days, minimum)
    };
    if set_retention {
        logs.put_retention_policy().log_group_name(&settings.log_group).retention_in_days(minimum).send().await.named("logs:PutRetentionPolicy")?;
    }
    log_groups::forget(ctx, target, &settings.log_group);
    Ok(())
}

/// Creates the delivery role or adds the templates' statements to it; existing statements are kept.
async fn converge_delivery_role(ctx: &Context<'_>, target: &Target, read: &Observations) -> Result<(), ControlError> {
    let settings = settings(ctx);
    let iam = ctx.aws.iam();
    let trust = template(ctx, target, &settings.delivery_role_trust_template);
    let permissions = template(ctx, target, &settings.delivery_role_policy_template);
    if !read.role_exists {
        iam.create_role()
            .role_name(&settings.delivery_role)
            .assume_role_policy_document(trust.to_string())
            .description("CloudTrail delivers the mamori trail to CloudWatch Logs")
            .send()
            .await
            .named("iam:CreateRole")?;
    } else if !contains_all(read.role_trust.as_ref(), &trust) {
        let merged = policy::merge_statements(read.role_trust.as_ref().unwrap_or(&Value::Null), &trust);
        iam.update_assume_role_policy()
            .role_name(&settings.delivery_role)
            .policy_document(merged.to_string())
            .send()
            .await
            .named("iam:UpdateAssumeRolePolicy")?;
    }
    if !contains_all(read.role_policy.as_ref(), &permissions) {
        let merged = policy::merge_statements(read.role_policy.as_ref().unwrap_or(&Value::Null), &permissions);
        let put = iam.put_role_policy().role_name(&settings.delivery_role).policy_name(DELIVERY_POLICY_NAME).policy_document(merged.to_string());
        propagation::send("iam:PutRolePolicy", || put.clone().send()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::aws::{AccessMode, Aws, Caller, ConnectOptions};
    use crate::baseline::RegionName;
    use crate::engine::{Observed, Reconciler};
    use crate::report::Status;

    const ORG_TRAIL: &str = "arn:aws:cloudtrail:us-east-1:999999999999:trail/org";
    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/0f1e2d3c";

    async fn assess(state: TrailState) -> Vec<(String, Status, String)> {
        let options = ConnectOptions { endpoint_url: Some("http://127.0.0.1:9".into()), ..Default::default() };
        let aws = Aws::connect(&options, AccessMode::ReadOnly, "us-east-1").await;
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/standard.yaml")).unwrap();
        let baseline = Baseline::parse(&Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/standard.yaml"), &text).unwrap();
        let caller = Caller { account_id: "111111111111".into(), partition: "aws".into(), arn: "arn:aws:iam::111111111111:role/auditor".into() };
        let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: None, regions_not_enabled: &[], layout: None };
        let target = Target { region: RegionName::parse("us-east-1").unwrap(), account_wide: true };
        let observed: Observed = Arc::new(state);
        let mut facts = Facts::default();
        facts.baseline_key_arn.insert(target.region.clone(), KEY.into());
        Reconciler::assess(&Trail, &ctx, &target, &observed, &facts)
            .findings
            .into_iter()
            .map(|f| (f.resource, f.status, format!("{}\n{}", f.message, f.remediation.unwrap_or_default())))
            .collect()
    }

    fn organization_trail(logging: bool, management_events: ManagementEvents) -> TrailState {
        TrailState {
            recorder: Recorder::Organization(OrganizationTrail {
                arn: ORG_TRAIL.into(),
                multi_region: true,
                global_service_events: true,
                log_file_validation: true,
                kms_encrypted: true,
                cloudwatch_logs: true,
                management_events,
                logging,
            }),
            delivery: Delivery { s3: Health::Delivering, cloudwatch_logs: Health::Delivering },
            log_group: None,
            organization: None,
            read: Observations::default(),
        }
    }

    #[tokio::test]
    async fn a_member_recorded_by_a_sound_organization_trail_passes_and_says_why() {
        let findings = assess(organization_trail(true, ManagementEvents::all())).await;
        let resources: Vec<&str> = findings.iter().map(|(r, _, _)| r.as_str()).collect();
        assert_eq!(resources, [format!("organization-trail/{ORG_TRAIL}"), format!("organization-trail/{ORG_TRAIL}/delivery")]);
        assert!(findings.iter().all(|(_, status, _)| *status == Status::Pass), "{findings:?}");
        assert!(findings[0].2.contains("records this account and satisfies the trail settings"), "{}", findings[0].2);
    }

    #[tokio::test]
    async fn an_organization_trail_that_falls_short_is_manual_and_never_duplicated() {
        let blind = ManagementEvents { read: "none".into(), write: "all except kms.amazonaws.com".into() };
        let mut state = organization_trail(false, blind);
        state.delivery.cloudwatch_logs = Health::Failing("LogGroup not found".into());
        let findings = assess(state).await;
        let (_, status, text) = &findings[0];
        assert_eq!(*status, Status::Manual, "a member cannot change its organization's trail: {findings:?}");
        assert!(text.contains("management_events.write") && text.contains("logging: false → true"), "{text}");
        assert!(text.contains("which account 999999999999 runs") && text.contains("creates no second trail"), "{text}");
        let (_, status, text) = &findings[1];
        assert_eq!(*status, Status::Manual);
        assert!(text.contains("failing: LogGroup not found"), "the error AWS gives: {text}");
    }

    #[tokio::test]
    async fn a_longer_retention_passes_and_says_it_is_kept() {
        let own = OwnTrail {
            exists: true,
            organization_trail: false,
            multi_region: true,
            global_service_events: true,
            log_file_validation: true,
            s3_bucket: Some("mamori-audit-111111111111-us-east-1".into()),
            kms_key: Some(KEY.into()),
            cloudwatch_logs_group: Some("arn:aws:logs:us-east-1:111111111111:log-group:/mamori/cloudtrail:*".into()),
            cloudwatch_logs_role: Some("arn:aws:iam::111111111111:role/mamori-cloudtrail-logs".into()),
            management_events: ManagementEvents::all(),
            logging: true,
            delivery_role: true,
        };
        let state = TrailState {
            recorder: Recorder::Own(own),
            delivery: Delivery { s3: Health::Delivering, cloudwatch_logs: Health::Delivering },
            log_group: Some(LogGroup { exists: true, kms_key: Some(KEY.into()), retention: retention::label(Some(3653)) }),
            organization: None,
            read: Observations { retention_days: Some(3653), ..Observations::default() },
        };
        let findings = assess(state).await;
        assert!(findings.iter().all(|(_, status, _)| *status == Status::Pass), "{findings:?}");
        let (_, status, text) = findings.iter().find(|(r, _, _)| r == "log-group//mamori/cloudtrail").expect("the log group's finding");
        assert_eq!(*status, Status::Pass, "{text}");
        assert!(text.contains("keeps events for 3653 days") && text.contains("never shortened"), "{text}");
    }
}
