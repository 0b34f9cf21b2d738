//! `logs.bucket`: the audit-log bucket CloudTrail writes to, and the bucket that receives its server
//! access logs, both in the home region.
//!
//! The audit bucket is versioned, encrypted with the baseline key (SSE-KMS, S3 Bucket Keys), blocks
//! public access, logs its own accesses to the access-log bucket, optionally carries an Object Lock
//! default retention, and has a bucket policy made of the template's statements: TLS only,
//! CloudTrail's writes (conditioned on the trail's ARN), and the lock ([`lock`]) — a `Deny` of every
//! action except the reads and writes the log flow needs, so nobody, mamori included, can delete or
//! reconfigure the bucket. The access-log bucket is versioned, SSE-S3 encrypted (S3 server access
//! logging does not deliver into a bucket whose default encryption is SSE-KMS: S3 User Guide,
//! "Enabling Amazon S3 server access logging"), blocks public access and is TLS-only.
//!
//! No lifecycle rule by default: S3 does not support a lifecycle configuration on a bucket with MFA
//! Delete (S3 User Guide, "Lifecycle and other bucket configurations"), which `logs.bucket-mfa-delete`
//! turns on, and noncurrent versions hardly arise in this bucket (CloudTrail never overwrites a log
//! file, and the lock forbids deletes). The rule `mamori-noncurrent-versions` is opt-in for a baseline
//! without MFA Delete; with MFA Delete on, a rule of that id left by an earlier mamori is removed
//! (nothing expires or moves back: versions already moved stay where they are). Other rules are kept.
//!
//! Every call names the expected owner (`ExpectedBucketOwner`: the caller's account), and each bucket
//! is located first ([`crate::inventory::buckets`]): a bucket of the name that another account owns,
//! or one in another region, is an `error` and is sent nothing more.
//!
//! The lock is written last, after everything it would forbid. Once a bucket carries a statement with
//! the lock's `Sid`, any drift is reported `manual` with the root procedure and `apply` sends the bucket
//! no write, except in the root user's step (`apply --mfa` with the root user's credentials), where the
//! lock is lifted, the bucket converged and the lock written again in the same run. Existing bucket
//! policy statements are kept; objects and versions are never touched.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketLoggingStatus, BucketVersioningStatus, CreateBucketConfiguration,
    DefaultRetention, ExpirationStatus, LifecycleRule, LifecycleRuleFilter, LoggingEnabled, MfaDeleteStatus, NoncurrentVersionTransition,
    ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    TransitionStorageClass, VersioningConfiguration,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;
use serde_json::Value;

use crate::aws::{AwsError, NameCall};
use crate::baseline::{Baseline, LogBucket as Settings, NoncurrentTransition};
use crate::controls::kms::baseline_key;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::fleet::Placement;
use crate::inventory::buckets::{self, Located};
use crate::policy;
use crate::report::Action;
use crate::least_privilege::{arn, Access, Grant};

pub mod lock;

pub use lock::LOCK_SID;

static META: ControlMeta = ControlMeta {
    id: "logs.bucket",
    source: file!(),
    title: "Audit-log bucket: versioned, SSE-KMS, private, TLS-only, access-logged, locked against deletion",
    fix: Fix::Automatic,
    scope: Scope::Account,
    cis_v5: &["2.1.1", "3.4"],
    fsbp: &["S3.5", "S3.14", "S3.15", "CloudTrail.7"],
    depends_on: &["kms.baseline-key"],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::on(
            &["s3:GetBucketVersioning", "s3:GetBucketPublicAccessBlock", "s3:GetBucketPolicy", "s3:GetBucketLogging", "s3:GetLifecycleConfiguration", "s3:GetBucketObjectLockConfiguration"],
            &[arn::LOG_BUCKET, arn::ACCESS_LOG_BUCKET],
        ),
    ],
    shared: &[crate::inventory::buckets::READS, crate::inventory::bucket_encryption::READS],
    apply: &[
        Grant::on(
            &[
                "s3:CreateBucket", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock", "s3:PutBucketPolicy",
                "s3:PutBucketLogging", "s3:PutLifecycleConfiguration", "s3:GetEncryptionConfiguration",
            ],
            &[arn::LOG_BUCKET, arn::ACCESS_LOG_BUCKET],
        ),
        Grant::on(&["s3:PutBucketObjectLockConfiguration"], &[arn::LOG_BUCKET]).when(|baseline| baseline.log_bucket.as_ref().is_some_and(|b| b.object_lock.is_some())),
    ],
};

/// ID of the lifecycle rule mamori owns; other rules on the bucket are kept as they are.
const LIFECYCLE_RULE_ID: &str = "mamori-noncurrent-versions";

pub struct LogBucket;

/// Which of the two buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Audit,
    AccessLogs,
}

impl Role {
    /// The baseline key that names the bucket.
    fn setting(self) -> &'static str {
        match self {
            Role::Audit => "logs.bucket.name",
            Role::AccessLogs => "logs.bucket.access_log_bucket",
        }
    }
}

/// One bucket, as far as the baseline cares.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BucketState {
    pub exists: bool,
    pub versioning: bool,
    /// `aws:kms <key>`, `AES256` or `none`.
    pub default_encryption: String,
    pub bucket_key: bool,
    pub public_access_blocked: bool,
    /// The bucket policy contains every statement of the template (by meaning).
    pub policy_has_baseline_statements: bool,
    /// `target-bucket/prefix` of server access logging (audit bucket only).
    pub access_logging: Option<String>,
    /// Where mamori's lifecycle rule moves noncurrent versions (audit bucket only): `GLACIER after 90 days`.
    pub noncurrent_versions: Option<String>,
    /// Object Lock default retention: `COMPLIANCE 365 days`.
    pub object_lock: Option<String>,
    /// A statement with the lock's `Sid` is in the policy: the bucket is immutable to mamori.
    #[serde(skip)]
    pub locked: bool,
    #[serde(skip)]
    pub policy: Option<Value>,
    /// Lifecycle rules on the bucket; the foreign ones are kept whatever mamori writes.
    #[serde(skip)]
    pub lifecycle_rules: Vec<LifecycleRule>,
}

impl BucketState {
    fn absent() -> BucketState {
        BucketState {
            exists: false,
            versioning: false,
            default_encryption: "none".into(),
            bucket_key: false,
            public_access_blocked: false,
            policy_has_baseline_statements: false,
            access_logging: None,
            noncurrent_versions: None,
            object_lock: None,
            locked: false,
            policy: None,
            lifecycle_rules: Vec::new(),
        }
    }
}

fn settings<'a>(ctx: &Context<'a>) -> &'a Settings {
    ctx.baseline.log_bucket.as_ref().expect("the engine only runs enabled controls")
}

/// The two bucket names for this account, audit bucket first.
fn bucket_names(ctx: &Context<'_>, target: &Target) -> [(String, Role); 2] {
    let vars = ctx.vars(&target.region);
    let settings = settings(ctx);
    [(settings.name.render(&vars), Role::Audit), (settings.access_log_bucket.render(&vars), Role::AccessLogs)]
}

/// The audit bucket's name (for the trail).
pub fn audit_bucket_name(ctx: &Context<'_>, region: &crate::baseline::RegionName) -> Option<String> {
    ctx.baseline.log_bucket.as_ref().map(|s| s.name.render(&ctx.vars(region)))
}

fn policy_template(ctx: &Context<'_>, target: &Target, bucket: &str, role: Role) -> Value {
    let settings = settings(ctx);
    let name = match role {
        Role::Audit if ctx.is_organization_log_archive() => &settings.organization_policy_template,
        Role::Audit => &settings.policy_template,
        Role::AccessLogs => &settings.access_log_policy_template,
    };
    ctx.baseline.templates.render(name, &ctx.vars(&target.region).for_bucket(bucket))
}

/// The root user's MFA device, as the baseline names it or as AWS names a root virtual device.
pub fn root_mfa_serial(ctx: &Context<'_>) -> String {
    ctx.baseline
        .log_bucket_mfa_delete
        .as_ref()
        .and_then(|m| m.mfa_serial.clone())
        .unwrap_or_else(|| format!("arn:{}:iam::{}:mfa/root-account-mfa-device", ctx.caller.partition, ctx.caller.account_id))
}

/// A bucket's versioning status, as `GetBucketVersioning` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versioning {
    pub enabled: bool,
    pub mfa_delete: bool,
}

fn versioning_key(bucket: &str) -> String {
    format!("s3:GetBucketVersioning/{bucket}")
}

/// `GetBucketVersioning` of a bucket of this account, read once per run (`logs.bucket` and
/// `logs.bucket-mfa-delete` both need it).
pub async fn read_versioning(ctx: &Context<'_>, target: &Target, bucket: &str) -> Result<Versioning, AwsError> {
    let s3 = ctx.aws.s3(target.region.as_str());
    let (bucket, owner) = (bucket.to_string(), ctx.caller.account_id.clone());
    ctx.aws
        .memo()
        .get_or_read(&versioning_key(&bucket), move || async move {
            let out = s3.get_bucket_versioning().bucket(bucket).expected_bucket_owner(owner).send().await.named("s3:GetBucketVersioning")?;
            Ok(Versioning {
                enabled: out.status() == Some(&BucketVersioningStatus::Enabled),
                mfa_delete: out.mfa_delete() == Some(&MfaDeleteStatus::Enabled),
            })
        })
        .await
}

/// Forgets the run's versioning read of `bucket` after a write changed it.
pub fn forget_versioning(ctx: &Context<'_>, bucket: &str) {
    ctx.aws.memo().forget(&versioning_key(bucket));
}

/// Whether `bucket` exists here, in the home region and owned by this account (`setting` names the
/// baseline key to change otherwise). Another account's bucket, or one in another region, is an error:
/// mamori sends it nothing more.
pub async fn located_here(ctx: &Context<'_>, target: &Target, bucket: &str, setting: &str) -> Result<bool, AwsError> {
    let owner = &ctx.caller.account_id;
    match buckets::locate(ctx, bucket, Some(owner)).await? {
        Located::Missing => Ok(false),
        Located::OwnedByAnotherAccount => Err(buckets::owned_by_another_account(bucket, owner, setting)),
        Located::Found { region } if region != target.region.as_str() => Err(AwsError {
            operation: "s3:HeadBucket".into(),
            code: None,
            message: format!(
                "bucket {bucket} is in {region}, not in the home region {home}: logs.bucket keeps the audit and access-log buckets \
                 in the home region (S3 delivers server access logs only within one region) and sends this one nothing more. \
                 Make {region} the baseline's first region, or choose another name ({setting})",
                home = target.region
            ),
            request_id: None,
            status: Some(301),
        }),
        Located::Found { .. } => Ok(true),
    }
}

fn has_code<T, E: ProvideErrorMetadata, R>(result: &Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>, code: &str) -> bool {
    matches!(result, Err(e) if e.code() == Some(code))
}

async fn observe_bucket(ctx: &Context<'_>, target: &Target, bucket: &str, role: Role) -> Result<BucketState, AwsError> {
    if !located_here(ctx, target, bucket, role.setting()).await? {
        return Ok(BucketState::absent());
    }
    let s3 = ctx.aws.s3(target.region.as_str());
    let owner = ctx.caller.account_id.as_str();
    let audit = role == Role::Audit;
    let (versioning, encryption, public_access, policy_text, logging) = futures::join!(
        read_versioning(ctx, target, bucket),
        s3.get_bucket_encryption().bucket(bucket).expected_bucket_owner(owner).send(),
        s3.get_public_access_block().bucket(bucket).expected_bucket_owner(owner).send(),
        s3.get_bucket_policy().bucket(bucket).expected_bucket_owner(owner).send(),
        async { if audit { Some(s3.get_bucket_logging().bucket(bucket).expected_bucket_owner(owner).send().await) } else { None } },
    );
    let versioning = versioning?.enabled;

    let (default_encryption, bucket_key) = if has_code(&encryption, "ServerSideEncryptionConfigurationNotFoundError") {
        ("none".to_string(), false)
    } else {
        let out = encryption.named("s3:GetBucketEncryption")?;
        let rule = out.server_side_encryption_configuration().and_then(|c| c.rules().first());
        let by_default = rule.and_then(|r| r.apply_server_side_encryption_by_default());
        let algorithm = by_default.map(|d| d.sse_algorithm().as_str().to_string()).unwrap_or_else(|| "none".into());
        let described = match by_default.and_then(|d| d.kms_master_key_id()) {
            Some(key) => format!("{algorithm} {key}"),
            None => algorithm,
        };
        (described, rule.and_then(|r| r.bucket_key_enabled()).unwrap_or(false))
    };

    let public_access_blocked = if has_code(&public_access, "NoSuchPublicAccessBlockConfiguration") {
        false
    } else {
        let out = public_access.named("s3:GetPublicAccessBlock")?;
        out.public_access_block_configuration().is_some_and(|c| {
            [c.block_public_acls(), c.ignore_public_acls(), c.block_public_policy(), c.restrict_public_buckets()].iter().all(|v| *v == Some(true))
        })
    };

    let policy: Option<Value> = if has_code(&policy_text, "NoSuchBucketPolicy") {
        None
    } else {
        // S3 stores only valid JSON; a policy that does not parse is an error, never "no policy" (which
        // would let the merge replace it).
        let text = policy_text.named("s3:GetBucketPolicy")?.policy().map(str::to_string);
        match text {
            Some(text) => Some(
                serde_json::from_str(&text).map_err(|e| AwsError::malformed("s3:GetBucketPolicy", &format!("the bucket policy is not JSON: {e}")))?,
            ),
            None => None,
        }
    };
    let template = policy_template(ctx, target, bucket, role);
    let contains = |statement: &Value| policy.as_ref().is_some_and(|p| policy::contains_statement(p, statement));

    let access_logging = match logging {
        Some(result) => result
            .named("s3:GetBucketLogging")?
            .logging_enabled()
            .map(|l| format!("{}/{}", l.target_bucket(), l.target_prefix())),
        None => None,
    };

    let (noncurrent_versions, lifecycle_rules, object_lock) = if audit {
        let lifecycle = s3.get_bucket_lifecycle_configuration().bucket(bucket).expected_bucket_owner(owner).send().await;
        let rules = if has_code(&lifecycle, "NoSuchLifecycleConfiguration") {
            Vec::new()
        } else {
            lifecycle.named("s3:GetBucketLifecycleConfiguration")?.rules().to_vec()
        };
        let lock = s3.get_object_lock_configuration().bucket(bucket).expected_bucket_owner(owner).send().await;
        let object_lock = if has_code(&lock, "ObjectLockConfigurationNotFoundError") {
            None
        } else {
            lock.named("s3:GetObjectLockConfiguration")?
                .object_lock_configuration()
                .and_then(|c| c.rule())
                .and_then(|r| r.default_retention())
                .map(|d| format!("{} {} days", d.mode().map(|m| m.as_str()).unwrap_or("NONE"), d.days().unwrap_or(0)))
        };
        (describe_transition(&rules), rules, object_lock)
    } else {
        (None, Vec::new(), None)
    };

    Ok(BucketState {
        exists: true,
        versioning,
        default_encryption,
        bucket_key,
        public_access_blocked,
        policy_has_baseline_statements: policy::statements(&template).iter().all(contains),
        access_logging,
        noncurrent_versions,
        object_lock,
        locked: policy.as_ref().is_some_and(lock::is_locked),
        policy,
        lifecycle_rules,
    })
}

/// mamori's lifecycle rule, as `CLASS after N days`, when it is on the bucket and enabled.
fn describe_transition(rules: &[LifecycleRule]) -> Option<String> {
    let rule = rules.iter().find(|r| r.id() == Some(LIFECYCLE_RULE_ID) && r.status() == &ExpirationStatus::Enabled)?;
    let transition = rule.noncurrent_version_transitions().first()?;
    Some(format!("{} after {} days", transition.storage_class().map(|c| c.as_str()).unwrap_or("?"), transition.noncurrent_days().unwrap_or(0)))
}

/// Why the access-log bucket uses SSE-S3, on every finding about it.
const ACCESS_LOG_ENCRYPTION: &str = "SSE-S3 (AES256), not SSE-KMS, by design: S3 server access logging does not deliver into a \
    bucket whose default encryption is SSE-KMS (S3 User Guide, \"Enabling Amazon S3 server access logging\"). A scanner that asks \
    for KMS on every bucket (Prowler's s3_bucket_kms_encryption) fails this bucket for that reason; the audit bucket, which holds \
    the CloudTrail logs, is SSE-KMS with the baseline key.";

/// What the plan does to the lifecycle rule an earlier mamori left on the audit bucket.
const LIFECYCLE_RULE_GOES: &str = "mamori's lifecycle rule mamori-noncurrent-versions is removed (other rules are kept): S3 refuses \
    MFA Delete on a bucket with a lifecycle configuration (S3 User Guide, \"Lifecycle and other bucket configurations\"). Nothing \
    is expired or moved back: versions already moved stay in their storage class, readable after s3:RestoreObject, which the \
    lock allows.";

#[async_trait]
impl Control for LogBucket {
    type State = BTreeMap<String, BucketState>;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    /// The audit bucket lives in the log-archive account of the organization layout.
    fn placement(&self) -> Placement {
        Placement::LogArchiveAccount
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.log_bucket.is_some()
    }

    fn resource(&self, ctx: &Context<'_>, target: &Target) -> String {
        audit_bucket_name(ctx, &target.region).map_or_else(|| "bucket/(none)".into(), |name| format!("bucket/{name}"))
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<Self::State, AwsError> {
        // The two buckets are read at once: neither read depends on the other.
        let names = bucket_names(ctx, target);
        let states = futures::future::try_join_all(names.iter().map(|(bucket, role)| observe_bucket(ctx, target, bucket, *role))).await?;
        Ok(names.into_iter().map(|(bucket, _)| bucket).zip(states).collect())
    }

    fn desired(&self, ctx: &Context<'_>, target: &Target, observed: &Self::State, facts: &Facts) -> Self::State {
        let settings = settings(ctx);
        let [(audit, _), (access, _)] = bucket_names(ctx, target);
        let key = baseline_key::key_reference(ctx, facts, &target.region).unwrap_or_else(|| "(kms.baseline-key is not configured)".into());
        let absent = BucketState::absent();
        let current = |name: &str| observed.get(name).unwrap_or(&absent);
        let base = |name: &str| BucketState {
            exists: true,
            versioning: true,
            public_access_blocked: true,
            policy_has_baseline_statements: true,
            ..current(name).clone()
        };
        let audit_state = BucketState {
            default_encryption: format!("aws:kms {key}"),
            bucket_key: true,
            access_logging: Some(format!("{access}/{audit}/")),
            noncurrent_versions: match &settings.noncurrent_versions {
                Some(rule) => Some(format!("{} after {} days", rule.storage_class, rule.days)),
                None if ctx.baseline.log_bucket_mfa_delete.is_some() => None,
                None => current(&audit).noncurrent_versions.clone(),
            },
            object_lock: match &settings.object_lock {
                Some(lock) => Some(format!("{} {} days", lock.mode, lock.days)),
                None => current(&audit).object_lock.clone(),
            },
            ..base(&audit)
        };
        let access_state = BucketState { default_encryption: "AES256".into(), bucket_key: false, ..base(&access) };
        BTreeMap::from([(audit, audit_state), (access, access_state)])
    }

    /// Drift on a locked bucket is manual, except in the root user's step, which may lift the lock.
    fn parts(&self, ctx: &Context<'_>, _target: &Target, observed: &Self::State, desired: &Self::State) -> Vec<Part> {
        desired
            .iter()
            .map(|(name, wanted)| {
                let current = observed.get(name).cloned().unwrap_or_else(BucketState::absent);
                let part = Part {
                    resource: format!("bucket/{name}"),
                    observed: serde_json::to_value(&current).expect("states serialize"),
                    desired: serde_json::to_value(wanted).expect("states serialize"),
                    action: if current.exists { Action::Update } else { Action::Create },
                    fix: None,
                };
                if current.locked && &current != wanted && !lock::root_may_lift(ctx) {
                    part.with_fix(Fix::Manual)
                } else {
                    part
                }
            })
            .collect()
    }

    fn manual_steps(&self, ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        Some(lock::root_procedure(part.resource.trim_start_matches("bucket/"), &root_mfa_serial(ctx), "fixes the bucket"))
    }

    fn note(&self, ctx: &Context<'_>, target: &Target, part: &Part) -> Option<String> {
        let [_, (access, _)] = bucket_names(ctx, target);
        if part.resource == format!("bucket/{access}") {
            return Some(ACCESS_LOG_ENCRYPTION.into());
        }
        let rule_goes = part.observed["noncurrent_versions"].is_string() && part.desired["noncurrent_versions"].is_null();
        rule_goes.then(|| LIFECYCLE_RULE_GOES.into())
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &Self::State, desired: &Self::State) -> Result<(), ControlError> {
        // The access-log bucket first: the audit bucket's logging points at it.
        let mut buckets = bucket_names(ctx, target);
        buckets.reverse();
        let owner = ctx.caller.account_id.as_str();
        let s3 = ctx.aws.s3(target.region.as_str());
        for (bucket, role) in buckets {
            let absent = BucketState::absent();
            let current = observed.get(&bucket).unwrap_or(&absent);
            let wanted = &desired[&bucket];
            if current == wanted {
                continue;
            }
            let policy = current.policy.clone().unwrap_or(Value::Null);
            let with_template = policy::merge_statements(&policy, &policy_template(ctx, target, &bucket, role)).to_string();
            if current.locked {
                // Only in the root user's step (otherwise the finding is manual and nothing is sent): the
                // template's lock replaces whatever lock was there, by Sid.
                if lock::root_may_lift(ctx) {
                    let work = converge_settings(ctx, target, &bucket, role, current, wanted);
                    lock::lifted(&s3, &bucket, owner, &policy, with_template, work).await?;
                }
                continue;
            }
            match converge_settings(ctx, target, &bucket, role, current, wanted).await {
                // The lock is in force although the observation did not show it yet: an earlier run put
                // it after every setting, and the next observation reads what it locked (see lock).
                Err(ControlError::Aws(denied)) if denied.is_code("AccessDenied") && lock::put_since_observed(&s3, &bucket, owner).await? => {
                    tracing::info!(bucket, "the bucket's lock was put since it was observed: its settings are left to the next observation");
                    continue;
                }
                other => other?,
            }
            // Last: the policy, whose lock forbids every change above once it is in place.
            if !current.policy_has_baseline_statements {
                lock::put_policy(&s3, &bucket, owner, with_template).await?;
            }
        }
        Ok(())
    }
}

/// Brings one bucket's settings, all but its policy, to `wanted`, writing only what differs.
async fn converge_settings(
    ctx: &Context<'_>,
    target: &Target,
    bucket: &str,
    role: Role,
    current: &BucketState,
    wanted: &BucketState,
) -> Result<(), ControlError> {
    let s3 = ctx.aws.s3(target.region.as_str());
    let owner = ctx.caller.account_id.as_str();
    let settings = settings(ctx);
    let region = target.region.as_str();
    if !current.exists {
        let mut create = s3.create_bucket().bucket(bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(region)).build(),
            );
        }
        if role == Role::Audit && settings.object_lock.is_some() {
            create = create.object_lock_enabled_for_bucket(true);
        }
        match create.send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => {}
            // Another account took the name since it was observed (CreateBucket takes no expected owner).
            Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_exists()) => {
                return Err(buckets::owned_by_another_account(bucket, owner, role.setting()).into());
            }
            Err(e) => return Err(AwsError::from_sdk("s3:CreateBucket", e).into()),
        }
        buckets::forget(ctx, bucket, Some(owner));
    }
    if !current.public_access_blocked {
        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        s3.put_public_access_block()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .public_access_block_configuration(block)
            .send()
            .await
            .named("s3:PutPublicAccessBlock")?;
    }
    if !current.versioning {
        let enabled = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
        s3.put_bucket_versioning()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .versioning_configuration(enabled)
            .send()
            .await
            .named("s3:PutBucketVersioning")?;
        forget_versioning(ctx, bucket);
    }
    if (&current.default_encryption, current.bucket_key) != (&wanted.default_encryption, wanted.bucket_key) {
        let by_default = match role {
            Role::Audit => {
                let key = wanted.default_encryption.trim_start_matches("aws:kms ");
                if !baseline_key::is_key_arn(key) {
                    return Err(baseline_key::key_missing(&target.region));
                }
                ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::AwsKms).kms_master_key_id(key)
            }
            Role::AccessLogs => ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256),
        };
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(by_default.build().expect("algorithm set"))
            .bucket_key_enabled(wanted.bucket_key)
            .build();
        let configuration = ServerSideEncryptionConfiguration::builder().rules(rule).build().expect("one rule");
        s3.put_bucket_encryption()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .server_side_encryption_configuration(configuration)
            .send()
            .await
            .named("s3:PutBucketEncryption")?;
    }
    if current.access_logging != wanted.access_logging {
        if let Some((target_bucket, prefix)) = wanted.access_logging.as_deref().and_then(|l| l.split_once('/')) {
            let logging = LoggingEnabled::builder().target_bucket(target_bucket).target_prefix(prefix).build().expect("bucket and prefix set");
            let status = BucketLoggingStatus::builder().logging_enabled(logging).build();
            s3.put_bucket_logging()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .bucket_logging_status(status)
                .send()
                .await
                .named("s3:PutBucketLogging")?;
        }
    }
    if current.noncurrent_versions != wanted.noncurrent_versions && role == Role::Audit {
        converge_lifecycle(&s3, bucket, owner, current, settings.noncurrent_versions.as_ref()).await?;
    }
    if current.object_lock != wanted.object_lock {
        if let (Role::Audit, Some(lock)) = (role, &settings.object_lock) {
            let retention = DefaultRetention::builder().mode(ObjectLockRetentionMode::from(lock.mode)).days(lock.days).build();
            let configuration = ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(ObjectLockRule::builder().default_retention(retention).build())
                .build();
            s3.put_object_lock_configuration()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .object_lock_configuration(configuration)
                .send()
                .await
                .named("s3:PutObjectLockConfiguration")?;
        }
    }
    Ok(())
}

/// Writes mamori's lifecycle rule (`wanted`), or removes it (`None`), keeping every other rule. A
/// configuration left without a rule is removed with `s3:DeleteBucketLifecycle`, since S3 takes no
/// empty one: it deletes a configuration that expires nothing, never an object.
async fn converge_lifecycle(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    owner: &str,
    current: &BucketState,
    wanted: Option<&NoncurrentTransition>,
) -> Result<(), ControlError> {
    let mut rules: Vec<LifecycleRule> = current.lifecycle_rules.iter().filter(|r| r.id() != Some(LIFECYCLE_RULE_ID)).cloned().collect();
    if let Some(wanted) = wanted {
        let ours = LifecycleRule::builder()
            .id(LIFECYCLE_RULE_ID)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .noncurrent_version_transitions(
                NoncurrentVersionTransition::builder()
                    .noncurrent_days(wanted.days)
                    .storage_class(TransitionStorageClass::from(wanted.storage_class))
                    .build(),
            )
            .build()
            .expect("status set");
        rules.push(ours);
    }
    if rules.is_empty() {
        s3.delete_bucket_lifecycle().bucket(bucket).expected_bucket_owner(owner).send().await.named("s3:DeleteBucketLifecycle")?;
        return Ok(());
    }
    let configuration = BucketLifecycleConfiguration::builder().set_rules(Some(rules)).build().expect("rules set");
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .lifecycle_configuration(configuration)
        .send()
        .await
        .named("s3:PutBucketLifecycleConfiguration")?;
    Ok(())
}
