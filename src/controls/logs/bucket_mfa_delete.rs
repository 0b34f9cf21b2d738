//! `logs.bucket-mfa-delete`: MFA Delete on the audit-log bucket.
//!
//! Only the root user, with its MFA device, can turn MFA Delete on: the finding is `manual` and carries
//! the exact steps, unless the operator runs the root user's step, `apply --mfa "SERIAL CODE"` with the
//! root user's credentials, in which case mamori sends `PutBucketVersioning` with the `x-amz-mfa`
//! header itself. On a locked bucket that call is denied to everyone, the root user included (the lock
//! denies `s3:PutBucketVersioning`), so the step lifts the lock first, as only the root user can, and
//! writes the policy back as it was right after, in the same run, whether the call succeeded or not
//! ([`super::bucket::lock`]). S3 refuses MFA Delete on a bucket with a lifecycle configuration: in the
//! same step `logs.bucket`, applied first, removes mamori's old lifecycle rule.
//!
//! The setting is read with the bucket's versioning status, which `logs.bucket` reads too: the read
//! goes through the run's memo, so one run sends it once. MFA Delete is never turned off.

use async_trait::async_trait;
use aws_sdk_s3::types::{BucketVersioningStatus, MfaDelete, VersioningConfiguration};
use serde::Serialize;

use super::bucket::{self, lock};
use crate::aws::{AwsError, NameCall};
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::fleet::Placement;
use crate::least_privilege::{arn, Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "logs.bucket-mfa-delete",
    source: file!(),
    title: "MFA Delete on the audit-log bucket (root only: manual, or apply --mfa with root credentials)",
    fix: Fix::Manual,
    scope: Scope::Account,
    cis_v5: &["2.1.2"],
    fsbp: &["S3.20"],
    depends_on: &["logs.bucket"],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::on(&["s3:GetBucketVersioning"], &[arn::LOG_BUCKET]),
    ],
    shared: &[crate::inventory::buckets::READS],
    apply: &[
        Grant::on(&["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketVersioning"], &[arn::LOG_BUCKET]),
    ],
};

pub struct BucketMfaDelete;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MfaDeleteState {
    pub mfa_delete: bool,
}

fn bucket(ctx: &Context<'_>, target: &Target) -> String {
    bucket::audit_bucket_name(ctx, &target.region).unwrap_or_else(|| "(logs.bucket is not configured)".into())
}

#[async_trait]
impl Control for BucketMfaDelete {
    type State = MfaDeleteState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    /// MFA Delete belongs with the audit bucket, in the log-archive account of the organization layout.
    fn placement(&self) -> Placement {
        Placement::LogArchiveAccount
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.log_bucket_mfa_delete.is_some() && baseline.log_bucket.is_some()
    }

    fn resource(&self, ctx: &Context<'_>, target: &Target) -> String {
        format!("bucket/{}", bucket(ctx, target))
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<MfaDeleteState, AwsError> {
        let name = bucket(ctx, target);
        // No bucket yet (a plan on a fresh account): MFA Delete is not on.
        if !bucket::located_here(ctx, target, &name, "logs.bucket.name").await? {
            return Ok(MfaDeleteState { mfa_delete: false });
        }
        Ok(MfaDeleteState { mfa_delete: bucket::read_versioning(ctx, target, &name).await?.mfa_delete })
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, _observed: &MfaDeleteState, _facts: &Facts) -> MfaDeleteState {
        MfaDeleteState { mfa_delete: true }
    }

    /// With `--mfa` the operator (as root) lets mamori make the change; otherwise it stays manual.
    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &MfaDeleteState, desired: &MfaDeleteState) -> Vec<Part> {
        let part = Part {
            resource: self.resource(ctx, target),
            observed: serde_json::to_value(observed).expect("states serialize"),
            desired: serde_json::to_value(desired).expect("states serialize"),
            action: crate::report::Action::Update,
            fix: None,
        };
        vec![if ctx.mfa.is_some() { part.with_fix(Fix::Automatic) } else { part }]
    }

    fn manual_steps(&self, ctx: &Context<'_>, target: &Target, _part: &Part) -> Option<String> {
        let bucket = bucket(ctx, target);
        let serial = bucket::root_mfa_serial(ctx);
        Some(format!(
            "Only the root user can turn on MFA Delete, with its MFA device ({serial}). 1) Sign in as the root user and create a \
             temporary access key (or use CloudShell as root). 2) With the root user's credentials: mamori apply --only \
             logs.bucket-mfa-delete --mfa \"{serial} CODE\" — mamori replaces the bucket policy with the same policy without the \
             lock ({lock}; AWS lets only the bucket owner's root user replace a policy that denies it), removes its own lifecycle \
             rule mamori-noncurrent-versions if an earlier version left it (S3 refuses MFA Delete on a bucket with a lifecycle \
             configuration; remove any other rule yourself first), turns MFA Delete on and writes the lock again, in the same \
             run. By hand instead: lift the lock as in the logs.bucket steps, aws s3api put-bucket-versioning --bucket {bucket} \
             --versioning-configuration Status=Enabled,MFADelete=Enabled --mfa \"{serial} CODE\", then mamori apply --only \
             logs.bucket (restores the lock). 3) Delete the root access key.",
            lock = lock::LOCK_SID,
        ))
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, _observed: &MfaDeleteState, _desired: &MfaDeleteState) -> Result<(), ControlError> {
        let mfa = ctx.mfa.ok_or_else(|| ControlError::Precondition("MFA Delete needs `apply --mfa \"SERIAL CODE\"` with root credentials".into()))?;
        let name = bucket(ctx, target);
        let owner = ctx.caller.account_id.as_str();
        let s3 = ctx.aws.s3(target.region.as_str());
        let configuration = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).mfa_delete(MfaDelete::Enabled).build();
        let enable = async {
            s3.put_bucket_versioning()
                .bucket(&name)
                .expected_bucket_owner(owner)
                .mfa(mfa.header())
                .versioning_configuration(configuration)
                .send()
                .await
                .named("s3:PutBucketVersioning")?;
            Ok(())
        };
        match lock::policy(&s3, &name, owner).await?.filter(lock::is_locked) {
            Some(_) if !lock::root_may_lift(ctx) => {
                return Err(ControlError::Precondition(format!(
                    "the bucket policy of {name} carries the lock ({}), which denies s3:PutBucketVersioning to everyone: run this step \
                     with the root user's credentials (only the root user can lift the lock; the caller is {})",
                    lock::LOCK_SID,
                    ctx.caller.arn
                )));
            }
            // The policy goes back exactly as it was.
            Some(locked) => lock::lifted(&s3, &name, owner, &locked, locked.to_string(), enable).await?,
            None => enable.await?,
        }
        bucket::forget_versioning(ctx, &name);
        Ok(())
    }
}
