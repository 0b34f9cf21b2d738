//! `ec2.imdsv2`: instances must use IMDSv2 (session tokens) for the instance metadata service.
//!
//! The account default for new instances (`ModifyInstanceMetadataDefaults`, `HttpTokens=required`) is
//! always managed, in every baseline region. Running instances are changed only when the baseline says
//! so (`running_instances: true`), because software on an instance that still speaks IMDSv1 loses its
//! metadata (and its role credentials) the moment tokens become required; then each running instance
//! is one finding and gets `ModifyInstanceMetadataOptions HttpTokens=required`. Nothing else of the
//! metadata options (hop limit, endpoint, tags) is touched, and no instance is stopped or replaced.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{HttpTokensState, MetadataDefaultHttpTokensState};
use serde::Serialize;

use crate::aws::{AwsError, NameCall};
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::report::Action;

use crate::inventory::instances;

static META: ControlMeta = ControlMeta {
    id: "ec2.imdsv2",
    source: file!(),
    title: "IMDSv2 required: account default for new instances and, opt-in, every running instance",
    fix: Fix::Automatic,
    scope: Scope::Regional,
    cis_v5: &["5.7"],
    fsbp: &["EC2.8"],
    depends_on: &[],
};

/// The value AWS reports when a setting has no account default.
const NO_PREFERENCE: &str = "no-preference";
const REQUIRED: &str = "required";

pub struct Imdsv2;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImdsState {
    /// `HttpTokens` of the account default (`required`, `optional`, or `no-preference`).
    pub account_default_http_tokens: String,
    /// `HttpTokens` of each running instance, by instance id (empty unless the baseline manages them).
    pub instances: BTreeMap<String, String>,
}

#[async_trait]
impl Control for Imdsv2 {
    type State = ImdsState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.imdsv2.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "account-setting/instance-metadata-defaults".into()
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<ImdsState, AwsError> {
        let client = ctx.aws.ec2(target.region.as_str());
        let defaults = client.get_instance_metadata_defaults().send().await.named("ec2:GetInstanceMetadataDefaults")?;
        let account_default_http_tokens = defaults
            .account_level()
            .and_then(|level| level.http_tokens())
            .map_or(NO_PREFERENCE.to_string(), |tokens| tokens.as_str().to_string());
        let mut instances = BTreeMap::new();
        if ctx.baseline.imdsv2.as_ref().is_some_and(|settings| settings.running_instances) {
            for instance in instances::instances_in(ctx, &target.region, &["running"]).await? {
                let Some(id) = instance.instance_id() else { continue };
                let tokens = instance.metadata_options().and_then(|o| o.http_tokens()).map_or("optional", |t| t.as_str());
                instances.insert(id.to_string(), tokens.to_string());
            }
        }
        Ok(ImdsState { account_default_http_tokens, instances })
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, observed: &ImdsState, _facts: &Facts) -> ImdsState {
        ImdsState {
            account_default_http_tokens: REQUIRED.into(),
            instances: observed.instances.keys().map(|id| (id.clone(), REQUIRED.to_string())).collect(),
        }
    }

    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &ImdsState, desired: &ImdsState) -> Vec<Part> {
        let account = Part {
            resource: self.resource(ctx, target),
            observed: serde_json::json!({ "http_tokens": observed.account_default_http_tokens }),
            desired: serde_json::json!({ "http_tokens": desired.account_default_http_tokens }),
            action: Action::Update,
            fix: None,
        };
        let mut parts = vec![account];
        parts.extend(Part::by_key("instance/", &observed.instances, &desired.instances).into_iter().map(|mut part| {
            part.observed = serde_json::json!({ "http_tokens": part.observed });
            part.desired = serde_json::json!({ "http_tokens": part.desired });
            part
        }));
        parts
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &ImdsState, desired: &ImdsState) -> Result<(), ControlError> {
        let client = ctx.aws.ec2(target.region.as_str());
        if observed.account_default_http_tokens != desired.account_default_http_tokens {
            client
                .modify_instance_metadata_defaults()
                .http_tokens(MetadataDefaultHttpTokensState::Required)
                .send()
                .await
                .named("ec2:ModifyInstanceMetadataDefaults")?;
        }
        for (id, tokens) in &observed.instances {
            if tokens != REQUIRED {
                let modified = client
                    .modify_instance_metadata_options()
                    .instance_id(id)
                    .http_tokens(HttpTokensState::Required)
                    .send()
                    .await
                    .named("ec2:ModifyInstanceMetadataOptions");
                // An instance terminated since it was listed has nothing left to require tokens of.
                match modified {
                    Err(e) if !e.is_code("InvalidInstanceID.NotFound") => return Err(e.into()),
                    _ => instances::forget_instances(ctx, &target.region),
                }
            }
        }
        Ok(())
    }
}
