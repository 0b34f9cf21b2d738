//! `logs.bucket-mfa-delete`: MFA Delete on the audit-log bucket.
//!
//! Only the root user, with its MFA device, can turn MFA Delete on: the finding is `manual` and carries
//! the exact commands, unless the operator runs `apply --mfa "SERIAL CODE"` with root credentials, in
//! which case mamori sends `PutBucketVersioning` with the `x-amz-mfa` header itself. The setting is
//! read with the bucket's versioning status, which `logs.bucket` reads too: the read goes through the
//! run's memo, so one run sends it once. MFA Delete is never turned off.

use async_trait::async_trait;
use aws_sdk_s3::types::{BucketVersioningStatus, MfaDelete, VersioningConfiguration};
use serde::Serialize;

use crate::aws::{AwsError, NameCall};
use crate::baseline::Baseline;
use super::bucket;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};

static META: ControlMeta = ControlMeta {
    id: "logs.bucket-mfa-delete",
    source: file!(),
    title: "MFA Delete on the audit-log bucket (root only: manual, or apply --mfa with root credentials)",
    fix: Fix::Manual,
    scope: Scope::Account,
    cis_v5: &["2.1.2"],
    fsbp: &["S3.20"],
    depends_on: &["logs.bucket"],
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

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.log_bucket_mfa_delete.is_some() && baseline.log_bucket.is_some()
    }

    fn resource(&self, ctx: &Context<'_>, target: &Target) -> String {
        format!("bucket/{}", bucket(ctx, target))
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<MfaDeleteState, AwsError> {
        match bucket::read_versioning(ctx, target, &bucket(ctx, target)).await {
            Ok(versioning) => Ok(MfaDeleteState { mfa_delete: versioning.mfa_delete }),
            // No bucket yet (a plan on a fresh account): MFA Delete is not on.
            Err(e) if e.has_code("NoSuchBucket") => Ok(MfaDeleteState { mfa_delete: false }),
            Err(e) => Err(e),
        }
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
        let serial = ctx
            .baseline
            .log_bucket_mfa_delete
            .as_ref()
            .and_then(|m| m.mfa_serial.clone())
            .unwrap_or_else(|| format!("arn:{}:iam::{}:mfa/root-account-mfa-device", ctx.caller.partition, ctx.caller.account_id));
        Some(format!(
            "Only the root user can turn on MFA Delete, with its MFA device ({serial}). 1) Sign in as the root user and create a \
             temporary access key (or use CloudShell as root). 2) If the bucket policy carries the lock ({lock}), remove it first: \
             aws s3api delete-bucket-policy --bucket {bucket}. 3) aws s3api put-bucket-versioning --bucket {bucket} \
             --versioning-configuration Status=Enabled,MFADelete=Enabled --mfa \"{serial} CODE\" — or, with the root credentials: \
             mamori apply --only logs.bucket-mfa-delete --mfa \"{serial} CODE\". 4) mamori apply --only logs.bucket (restores the \
             lock). 5) Delete the root access key.",
            lock = bucket::LOCK_SID,
        ))
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, _observed: &MfaDeleteState, _desired: &MfaDeleteState) -> Result<(), ControlError> {
        let mfa = ctx.mfa.ok_or_else(|| ControlError::Precondition("MFA Delete needs `apply --mfa \"SERIAL CODE\"` with root credentials".into()))?;
        let configuration = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).mfa_delete(MfaDelete::Enabled).build();
        ctx.aws
            .s3(target.region.as_str())
            .put_bucket_versioning()
            .bucket(bucket(ctx, target))
            .mfa(mfa.header())
            .versioning_configuration(configuration)
            .send()
            .await
            .named("s3:PutBucketVersioning")?;
        bucket::forget_versioning(ctx, &bucket(ctx, target));
        Ok(())
    }
}
