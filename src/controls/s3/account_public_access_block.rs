//! `s3.account-public-access-block`: the four account-level S3 Block Public Access settings on.
//!
//! Account-wide: one S3 Control call pair in the home region. An account without a configuration reads
//! as all four off.

use async_trait::async_trait;
use aws_sdk_s3control::types::PublicAccessBlockConfiguration;
use serde::Serialize;

use crate::aws::{AwsError, NameCall};
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Scope, Target};
use crate::least_privilege::{Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "s3.account-public-access-block",
    source: file!(),
    title: "All four account-level S3 Block Public Access settings on",
    fix: Fix::Automatic,
    scope: Scope::Account,
    cis_v5: &["2.1.4"],
    fsbp: &["S3.1"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::any(&["s3:GetAccountPublicAccessBlock"]),
    ],
    shared: &[],
    apply: &[
        Grant::any(&["s3:PutAccountPublicAccessBlock"]),
    ],
};

pub struct AccountPublicAccessBlock;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PublicAccessBlockState {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

#[async_trait]
impl Control for AccountPublicAccessBlock {
    type State = PublicAccessBlockState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.s3_account_public_access_block
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "account-setting/s3-public-access-block".into()
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<PublicAccessBlockState, AwsError> {
        let client = ctx.aws.s3control(target.region.as_str());
        let configuration = match client.get_public_access_block().account_id(&ctx.caller.account_id).send().await {
            Ok(out) => out.public_access_block_configuration().cloned().unwrap_or_else(|| PublicAccessBlockConfiguration::builder().build()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_public_access_block_configuration()) => {
                PublicAccessBlockConfiguration::builder().build()
            }
            Err(e) => return Err(AwsError::from_sdk("s3control:GetPublicAccessBlock", e)),
        };
        Ok(PublicAccessBlockState {
            block_public_acls: configuration.block_public_acls().unwrap_or(false),
            ignore_public_acls: configuration.ignore_public_acls().unwrap_or(false),
            block_public_policy: configuration.block_public_policy().unwrap_or(false),
            restrict_public_buckets: configuration.restrict_public_buckets().unwrap_or(false),
        })
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, _observed: &PublicAccessBlockState, _facts: &Facts) -> PublicAccessBlockState {
        PublicAccessBlockState { block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true }
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, _observed: &PublicAccessBlockState, desired: &PublicAccessBlockState) -> Result<(), ControlError> {
        let configuration = PublicAccessBlockConfiguration::builder()
            .block_public_acls(desired.block_public_acls)
            .ignore_public_acls(desired.ignore_public_acls)
            .block_public_policy(desired.block_public_policy)
            .restrict_public_buckets(desired.restrict_public_buckets)
            .build();
        ctx.aws
            .s3control(target.region.as_str())
            .put_public_access_block()
            .account_id(&ctx.caller.account_id)
            .public_access_block_configuration(configuration)
            .send()
            .await
            .named("s3control:PutPublicAccessBlock")?;
        Ok(())
    }
}
