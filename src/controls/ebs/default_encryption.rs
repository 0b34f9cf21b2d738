//! `ebs.default-encryption`: EBS encryption by default, with the baseline key as the default key, in
//! every baseline region.
//!
//! The desired default key is the ARN `kms.baseline-key` published for the region. When that key does
//! not exist yet (a `plan` on a fresh account) the desired value names the alias it will be created
//! under, so the plan shows the change; `apply` runs after the key exists and uses its real ARN.
//! Turning encryption by default on affects only volumes created afterwards; nothing existing changes.

use async_trait::async_trait;
use serde::Serialize;

use crate::aws::{AwsError, NameCall};
use crate::baseline::Baseline;
use crate::controls::kms::baseline_key;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Scope, Target};
use crate::least_privilege::{Access, Grant};


static META: ControlMeta = ControlMeta {
    id: "ebs.default-encryption",
    source: file!(),
    title: "EBS encryption by default, with the baseline key, in every region",
    fix: Fix::Automatic,
    scope: Scope::Regional,
    cis_v5: &["5.1.1"],
    fsbp: &["EC2.7"],
    depends_on: &["kms.baseline-key"],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::any(&["ec2:GetEbsEncryptionByDefault", "ec2:GetEbsDefaultKmsKeyId"]),
    ],
    shared: &[],
    apply: &[
        Grant::any(&["ec2:EnableEbsEncryptionByDefault", "ec2:ModifyEbsDefaultKmsKeyId"]),
    ],
};

pub struct EbsDefaultEncryption;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EbsEncryptionState {
    pub encryption_by_default: bool,
    /// The default KMS key for new volumes, as EC2 reports it (an ARN, or `alias/aws/ebs`).
    pub default_kms_key: String,
}

#[async_trait]
impl Control for EbsDefaultEncryption {
    type State = EbsEncryptionState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.ebs_default_encryption
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "account-setting/ebs-default-encryption".into()
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<EbsEncryptionState, AwsError> {
        let client = ctx.aws.ec2(target.region.as_str());
        let enabled = client.get_ebs_encryption_by_default().send().await.named("ec2:GetEbsEncryptionByDefault")?;
        let key = client.get_ebs_default_kms_key_id().send().await.named("ec2:GetEbsDefaultKmsKeyId")?;
        Ok(EbsEncryptionState {
            encryption_by_default: enabled.ebs_encryption_by_default().unwrap_or(false),
            default_kms_key: key.kms_key_id().unwrap_or("alias/aws/ebs").to_string(),
        })
    }

    fn desired(&self, ctx: &Context<'_>, target: &Target, observed: &EbsEncryptionState, facts: &Facts) -> EbsEncryptionState {
        // Without a baseline key the default key is left as it is.
        let default_kms_key = baseline_key::key_reference(ctx, facts, &target.region).unwrap_or_else(|| observed.default_kms_key.clone());
        EbsEncryptionState { encryption_by_default: true, default_kms_key }
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &EbsEncryptionState, desired: &EbsEncryptionState) -> Result<(), ControlError> {
        let client = ctx.aws.ec2(target.region.as_str());
        if observed.default_kms_key != desired.default_kms_key {
            if !baseline_key::is_key_arn(&desired.default_kms_key) {
                return Err(baseline_key::key_missing(&target.region));
            }
            client.modify_ebs_default_kms_key_id().kms_key_id(&desired.default_kms_key).send().await.named("ec2:ModifyEbsDefaultKmsKeyId")?;
        }
        if !observed.encryption_by_default {
            client.enable_ebs_encryption_by_default().send().await.named("ec2:EnableEbsEncryptionByDefault")?;
        }
        Ok(())
    }
}
