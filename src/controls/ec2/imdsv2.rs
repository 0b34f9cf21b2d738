//! `ec2.imdsv2`: instances must use IMDSv2 (session tokens) for the instance metadata service.
//!
//! Two kinds of finding per region:
//!
//! - `account-setting/instance-metadata-defaults`: the account default for new instances
//!   (`ModifyInstanceMetadataDefaults`) is `HttpTokens=required` with the baseline's token hop limit.
//!   When the defaults are `ManagedBy: declarative-policy`, the account cannot change them (AWS
//!   Organizations, "Declarative policy syntax and examples": "Account administrators will not be able
//!   to modify the value of the service attribute at the individual account level"; EC2 API reference,
//!   `InstanceMetadataDefaultsResponse.managedBy`): the finding is `skipped` with the organization's
//!   message, and `apply` sends no write.
//! - `instance/i-…`: every running or stopped instance requires tokens (what CIS 5.7 and Security Hub
//!   EC2.8 look at). Changing an instance is opt-in (`running_instances: true`): software on it that
//!   still speaks IMDSv1 loses its metadata, and its role credentials, the moment tokens become
//!   required. Without the opt-in such an instance is `manual`, with the commands.
//!
//! The hop limit (`http_put_response_hop_limit`, default 2) goes with every `HttpTokens=required`
//! mamori sends. A token travels one hop per network boundary; with a hop limit of 1, a container on
//! the instance (its own network namespace) never receives the token's response, which is why AWS
//! recommends 2 where containers run ("Instance metadata options", Amazon EC2 User Guide). An
//! instance that already requires tokens keeps the hop limit its owners chose; the account default
//! takes the baseline's. Nothing else of the metadata options (endpoint, tags) is touched, and no
//! instance is stopped or replaced.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{HttpTokensState, ManagedBy, MetadataDefaultHttpTokensState};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::aws::{AwsError, NameCall};
use crate::baseline::{Baseline, Imdsv2 as Settings};
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::report::Action;

use crate::inventory::instances;
use crate::least_privilege::{arn, Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "ec2.imdsv2",
    source: file!(),
    title: "IMDSv2 required, with the baseline's token hop limit: account default and every instance (changing instances is opt-in)",
    fix: Fix::Automatic,
    scope: Scope::Regional,
    cis_v5: &["5.7"],
    fsbp: &["EC2.8"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::any(&["ec2:GetInstanceMetadataDefaults"]),
    ],
    shared: &[crate::inventory::instances::READS],
    apply: &[
        Grant::any(&["ec2:ModifyInstanceMetadataDefaults"]),
        Grant::on(&["ec2:ModifyInstanceMetadataOptions"], &[arn::INSTANCE]).when(|baseline| baseline.imdsv2.as_ref().is_some_and(|i| i.running_instances)),
    ],
};

/// The value AWS reports when a setting has no account default.
const NO_PREFERENCE: &str = "no-preference";
const REQUIRED: &str = "required";
/// The instance states whose metadata options can be changed (and that CIS counts).
const INSTANCE_STATES: &[&str] = &["running", "stopped"];
const ACCOUNT_RESOURCE: &str = "account-setting/instance-metadata-defaults";
const INSTANCE_PREFIX: &str = "instance/";

pub struct Imdsv2;

/// What the metadata service of an instance, or the account default, asks of its callers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MetadataOptions {
    /// `required`, `optional`, or (account default only) `no-preference`.
    pub http_tokens: String,
    /// `None`: no account default for it.
    pub hop_limit: Option<i32>,
}

/// The account default of one region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountDefault {
    #[serde(flatten)]
    pub options: MetadataOptions,
    /// Set when something other than the account manages the defaults (`declarative-policy`), with
    /// the message the organization gives. Copied into the desired state: mamori cannot change it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<ManagedElsewhere>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedElsewhere {
    pub by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImdsState {
    pub account_default: AccountDefault,
    /// Each running or stopped instance, by id.
    pub instances: BTreeMap<String, MetadataOptions>,
}

fn settings<'a>(ctx: &Context<'a>) -> &'a Settings {
    ctx.baseline.imdsv2.as_ref().expect("the engine only runs enabled controls")
}

/// What `observed` should be under `settings`. Pure.
pub fn desired_state(observed: &ImdsState, settings: &Settings) -> ImdsState {
    let account_default = AccountDefault {
        options: MetadataOptions { http_tokens: REQUIRED.into(), hop_limit: Some(settings.hop_limit) },
        managed_by: observed.account_default.managed_by.clone(),
    };
    let instances = observed
        .instances
        .iter()
        .map(|(id, options)| {
            // An instance that already requires tokens keeps its owners' hop limit; one mamori changes
            // gets the baseline's.
            let hop_limit = if options.http_tokens == REQUIRED { options.hop_limit } else { Some(settings.hop_limit) };
            (id.clone(), MetadataOptions { http_tokens: REQUIRED.into(), hop_limit })
        })
        .collect();
    ImdsState { account_default, instances }
}

fn is_declarative_policy(managed_by: &ManagedElsewhere) -> bool {
    managed_by.by == ManagedBy::DeclarativePolicy.as_str()
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
        ACCOUNT_RESOURCE.into()
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<ImdsState, AwsError> {
        let client = ctx.aws.ec2(target.region.as_str());
        let defaults = client.get_instance_metadata_defaults().send().await.named("ec2:GetInstanceMetadataDefaults")?;
        let level = defaults.account_level();
        let account_default = AccountDefault {
            options: MetadataOptions {
                http_tokens: level.and_then(|l| l.http_tokens()).map_or(NO_PREFERENCE.to_string(), |t| t.as_str().to_string()),
                hop_limit: level.and_then(|l| l.http_put_response_hop_limit()),
            },
            managed_by: level.and_then(|l| l.managed_by()).filter(|by| **by != ManagedBy::Account).map(|by| ManagedElsewhere {
                by: by.as_str().to_string(),
                message: level.and_then(|l| l.managed_exception_message()).map(str::to_string),
            }),
        };
        let mut instances = BTreeMap::new();
        for instance in instances::instances_in(ctx, &target.region, INSTANCE_STATES).await? {
            let Some(id) = instance.instance_id() else { continue };
            let options = instance.metadata_options();
            instances.insert(
                id.to_string(),
                MetadataOptions {
                    http_tokens: options.and_then(|o| o.http_tokens()).map_or("optional", |t| t.as_str()).to_string(),
                    hop_limit: options.and_then(|o| o.http_put_response_hop_limit()),
                },
            );
        }
        Ok(ImdsState { account_default, instances })
    }

    fn desired(&self, ctx: &Context<'_>, _target: &Target, observed: &ImdsState, _facts: &Facts) -> ImdsState {
        desired_state(observed, settings(ctx))
    }

    fn parts(&self, ctx: &Context<'_>, _target: &Target, observed: &ImdsState, desired: &ImdsState) -> Vec<Part> {
        let account = Part {
            resource: ACCOUNT_RESOURCE.into(),
            observed: json!(observed.account_default),
            desired: json!(desired.account_default),
            action: Action::Update,
            fix: None,
        };
        let instance_fix = if settings(ctx).running_instances { Fix::Automatic } else { Fix::Manual };
        let mut parts = vec![account];
        parts.extend(
            Part::by_key(INSTANCE_PREFIX, &observed.instances, &desired.instances).into_iter().map(|part| part.with_fix(instance_fix)),
        );
        parts
    }

    /// Each instance and the account default are changed by calls of their own: an excepted one keeps
    /// its options while the others are fixed.
    fn except(&self, mut desired: ImdsState, observed: &ImdsState, resource: &str) -> Option<ImdsState> {
        match resource.strip_prefix(INSTANCE_PREFIX) {
            Some(id) => {
                let kept = observed.instances.get(id)?.clone();
                desired.instances.insert(id.to_string(), kept);
            }
            None if resource == ACCOUNT_RESOURCE => desired.account_default = observed.account_default.clone(),
            None => return None,
        }
        Some(desired)
    }

    fn skip_reason(&self, _ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        let managed_by: ManagedElsewhere = serde_json::from_value(part.observed.get("managed_by")?.clone()).ok()?;
        is_declarative_policy(&managed_by).then(|| {
            let tokens = part.observed.get("http_tokens").and_then(Value::as_str).unwrap_or(NO_PREFERENCE);
            let message = managed_by.message.map(|m| format!(" (\"{m}\")")).unwrap_or_default();
            format!("managed by the organization's declarative policy{message}: the account cannot change its instance metadata defaults (HttpTokens {tokens}); the policy's owner decides them")
        })
    }

    fn manual_steps(&self, ctx: &Context<'_>, target: &Target, part: &Part) -> Option<String> {
        let id = part.resource.strip_prefix(INSTANCE_PREFIX)?;
        let hop_limit = part.desired.get("hop_limit").and_then(Value::as_i64).unwrap_or(i64::from(settings(ctx).hop_limit));
        Some(format!(
            "check that the instance's software uses IMDSv2 (the CloudWatch metric MetadataNoToken of {id} stays at 0), then \
             aws ec2 modify-instance-metadata-options --region {region} --instance-id {id} --http-tokens required --http-put-response-hop-limit {hop_limit}; \
             or set ec2.imdsv2.running_instances: true and run mamori apply --only ec2.imdsv2",
            region = target.region
        ))
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &ImdsState, desired: &ImdsState) -> Result<(), ControlError> {
        let client = ctx.aws.ec2(target.region.as_str());
        let managed_elsewhere = observed.account_default.managed_by.as_ref().is_some_and(is_declarative_policy);
        if !managed_elsewhere && observed.account_default != desired.account_default {
            client
                .modify_instance_metadata_defaults()
                .http_tokens(MetadataDefaultHttpTokensState::Required)
                .set_http_put_response_hop_limit(desired.account_default.options.hop_limit)
                .send()
                .await
                .named("ec2:ModifyInstanceMetadataDefaults")?;
        }
        if !settings(ctx).running_instances {
            return Ok(());
        }
        for (id, options) in &observed.instances {
            let Some(wanted) = desired.instances.get(id).filter(|wanted| *wanted != options) else { continue };
            let modified = client
                .modify_instance_metadata_options()
                .instance_id(id)
                .http_tokens(HttpTokensState::Required)
                .set_http_put_response_hop_limit(wanted.hop_limit)
                .send()
                .await
                .named("ec2:ModifyInstanceMetadataOptions");
            // An instance terminated since it was listed has nothing left to require tokens of.
            match modified {
                Err(e) if !e.is_code("InvalidInstanceID.NotFound") => return Err(e.into()),
                _ => instances::forget_instances(ctx, &target.region),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(tokens: &str, hop_limit: Option<i32>) -> MetadataOptions {
        MetadataOptions { http_tokens: tokens.into(), hop_limit }
    }

    fn observed() -> ImdsState {
        ImdsState {
            account_default: AccountDefault { options: options(NO_PREFERENCE, None), managed_by: None },
            instances: BTreeMap::from([("i-optional".to_string(), options("optional", Some(1))), ("i-theirs".to_string(), options(REQUIRED, Some(3)))]),
        }
    }

    #[test]
    fn tokens_are_required_with_the_baselines_hop_limit_where_mamori_requires_them() {
        let settings = Settings { running_instances: true, hop_limit: 2 };
        let desired = desired_state(&observed(), &settings);
        assert_eq!(desired.account_default.options, options(REQUIRED, Some(2)));
        assert_eq!(desired.instances["i-optional"], options(REQUIRED, Some(2)), "the hop limit goes with the token requirement");
        assert_eq!(desired.instances["i-theirs"], options(REQUIRED, Some(3)), "an instance already on IMDSv2 keeps its hop limit");
        assert_eq!(desired_state(&desired, &settings), desired, "desired is a fixed point");
        let single_hop = Settings { running_instances: true, hop_limit: 1 };
        assert_eq!(desired_state(&observed(), &single_hop).instances["i-optional"].hop_limit, Some(1));
    }

    #[test]
    fn an_excepted_instance_or_default_keeps_its_options_while_the_rest_is_fixed() {
        let settings = Settings { running_instances: true, hop_limit: 2 };
        let desired = desired_state(&observed(), &settings);
        let kept = Imdsv2.except(desired.clone(), &observed(), "instance/i-optional").unwrap();
        assert_eq!(kept.instances["i-optional"], observed().instances["i-optional"]);
        assert_eq!((&kept.account_default, &kept.instances["i-theirs"]), (&desired.account_default, &desired.instances["i-theirs"]));
        let default_kept = Imdsv2.except(desired.clone(), &observed(), ACCOUNT_RESOURCE).unwrap();
        assert_eq!((&default_kept.account_default, &default_kept.instances), (&observed().account_default, &desired.instances));
        assert!(Imdsv2.except(desired, &observed(), "instance/i-gone").is_none(), "an instance it does not know");
    }

    #[test]
    fn a_default_managed_by_a_declarative_policy_is_left_as_the_policy_says() {
        let mut state = observed();
        let managed = ManagedElsewhere { by: "declarative-policy".into(), message: Some("Ask the platform team".into()) };
        state.account_default = AccountDefault { options: options("optional", Some(1)), managed_by: Some(managed.clone()) };
        let desired = desired_state(&state, &Settings { running_instances: false, hop_limit: 2 });
        assert_eq!(desired.account_default.managed_by, Some(managed.clone()), "mamori cannot take the defaults over");
        assert!(is_declarative_policy(&managed));
        let serialized = json!(state.account_default);
        assert_eq!(serialized["managed_by"]["by"], "declarative-policy");
        assert_eq!(serialized["http_tokens"], "optional", "the options stay flat in findings");
    }
}
