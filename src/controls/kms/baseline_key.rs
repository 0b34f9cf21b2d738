//! `kms.baseline-key`: the customer-managed key the rest of the baseline encrypts with, one per region.
//!
//! The key is found by its alias; when the alias is missing (an `apply` interrupted between `CreateKey`
//! and `CreateAlias`), by the tag `mamori:baseline-key = <alias>` that `CreateKey` sets atomically, so a
//! second run adopts that key instead of creating another ([`tagged`]). Tagged keys that are not the
//! baseline key (an earlier release's blind retry of `CreateKey` could leave two) are listed, one
//! `manual` finding each with the steps that remove them safely: mamori never deletes a key. `CreateKey` has no client token, so it is
//! never retried blindly: the SDK's retry is off for it, and after a failure that may have reached KMS
//! (a lost answer) the key is looked for by its tag before another `CreateKey` is sent. Rotation must be on, the key enabled, and
//! the key policy must contain the statements of the baseline's policy template (by meaning, whatever
//! their Sid); statements already there are kept, and the template keeps the account root as key
//! administrator, so mamori never locks the account out of its key. Nothing here schedules deletion:
//! a key pending deletion is cancelled back to life.
//!
//! # AWS services that must use the key
//! Containing the template's statements is not enough when another statement denies: the live key
//! policy is also judged, by the policy evaluator, on every request that AWS documents for the
//! services the baseline points at the key ([`crate::service_access::key_accesses`]: CloudTrail,
//! CloudWatch Logs, CloudWatch alarms publishing to the encrypted alarm topic, EBS and EC2 Auto
//! Scaling, the Session Manager instance role). A path the policy cuts is listed in
//! `service_access_denied`; when the template's statements are all there, only a human can tell
//! whether the statement that denies is wanted, so that finding is `manual`, with the statement named.
//! It costs no call: the policy is read anyway.

use async_trait::async_trait;
use aws_sdk_kms::types::{KeyMetadata, KeyState, Tag};
use serde::Serialize;
use serde_json::Value;

use crate::aws::{non_idempotent, propagation, AwsError, NameCall};
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::inventory::key_alias;
use crate::policy;
use crate::policy::evaluate::{evaluate, Decision, Policies};
use crate::report::Action;
use crate::service_access::{self, Names};
use crate::least_privilege::{arn, Access, Grant};

mod tagged;

use tagged::DuplicateKey;

/// Tag set on the key at creation; its value is the alias name.
pub const TAG_KEY: &str = "mamori:baseline-key";

static META: ControlMeta = ControlMeta {
    id: "kms.baseline-key",
    source: file!(),
    title: "Customer-managed baseline KMS key: rotation on, account root administers it",
    fix: Fix::Automatic,
    scope: Scope::Regional,
    cis_v5: &["3.6"],
    fsbp: &["KMS.4"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::any(&["kms:ListKeys", "kms:ListAliases"]),
        Grant::on(&["kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:GetKeyPolicy", "kms:ListResourceTags"], &[arn::KMS_KEY]),
    ],
    shared: &[crate::inventory::key_alias::READS],
    apply: &[
        Grant::any(&["kms:CreateKey"]),
        Grant::on(&["kms:TagResource", "kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:EnableKey", "kms:CancelKeyDeletion"], &[arn::KMS_KEY]),
        Grant::on(&["kms:CreateAlias"], &[arn::KMS_KEY, arn::KMS_ALIAS]),
    ],
};

pub struct BaselineKey;

/// The key as seen through its alias (or tag).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BaselineKeyState {
    /// ARN of the key found; identity, not compared (desired copies it).
    pub key_arn: Option<String>,
    /// The alias points at this key.
    pub alias: bool,
    pub enabled: bool,
    pub rotation_enabled: bool,
    /// The key policy contains every statement of the policy template.
    pub policy_has_baseline_statements: bool,
    /// The requests AWS services must be able to make with the key that the key policy denies, and
    /// why (see the module documentation).
    pub service_access_denied: Vec<String>,
    /// The current key policy, kept to merge into; not compared.
    #[serde(skip)]
    pub policy: Option<Value>,
    #[serde(skip)]
    pub pending_deletion: bool,
    /// Other keys carrying mamori's tag for the alias, each its own `manual` finding (see [`tagged`]).
    #[serde(skip)]
    pub duplicates: Vec<DuplicateKey>,
}

impl BaselineKeyState {
    const ABSENT: BaselineKeyState = BaselineKeyState {
        key_arn: None,
        alias: false,
        enabled: false,
        rotation_enabled: false,
        policy_has_baseline_statements: false,
        service_access_denied: Vec::new(),
        policy: None,
        pending_deletion: false,
        duplicates: Vec::new(),
    };
}

fn settings<'a>(ctx: &Context<'a>) -> &'a crate::baseline::BaselineKey {
    ctx.baseline.baseline_key.as_ref().expect("the engine only runs enabled controls")
}

/// The key policy: in the organization layout's log-archive account, the organization template (the
/// audit bucket's key also encrypts the organization's session logs through S3).
fn wanted_policy(ctx: &Context<'_>, target: &Target) -> Value {
    let settings = settings(ctx);
    let template = if ctx.is_organization_log_archive() { &settings.organization_policy_template } else { &settings.policy_template };
    ctx.baseline.templates.render(template, &ctx.vars(&target.region))
}

/// The service requests on the key `key_arn` that `policy` denies, each with the statement that denies
/// it or "no statement allows it".
pub fn denied_service_access(ctx: &Context<'_>, region: &crate::baseline::RegionName, key_arn: &str, policy: &Value) -> Vec<String> {
    let names = Names::new(ctx.baseline, ctx.caller);
    service_access::key_accesses(&names, region, key_arn)
        .into_iter()
        .filter(|access| access.allowed)
        .filter_map(|access| {
            let identity: Vec<&Value> = access.identity.iter().collect();
            let why = match evaluate(&Policies::key(policy, &ctx.caller.account_id).with_identity(&identity), &access.request) {
                Decision::Allowed => return None,
                Decision::ExplicitDeny(Some(sid)) => format!("denied by the statement {sid}"),
                Decision::ExplicitDeny(None) => "denied by a statement without Sid".to_string(),
                Decision::ImplicitDeny => "no statement allows it".to_string(),
            };
            Some(format!("{}: {why}", access.describe()))
        })
        .collect()
}

/// The baseline key of `alias`, found by the alias (the run's shared read) or failing that by its tag,
/// whether the alias names it, and the other tagged keys (see [`tagged`]).
async fn find_key(ctx: &Context<'_>, client: &aws_sdk_kms::Client, region: &str, alias: &str) -> Result<(Option<KeyMetadata>, bool, Vec<KeyMetadata>), AwsError> {
    let aliased = key_alias::described(ctx.aws, region, alias).await?;
    let mut tagged = tagged::unaliased_keys(client, alias).await?;
    Ok(match aliased {
        Some(key) => (Some(key), true, tagged),
        None if tagged.is_empty() => (None, false, tagged),
        None => (Some(tagged.remove(0)), false, tagged),
    })
}

/// `kms:CreateKey`, which AWS cannot make idempotent: sent with the SDK's retry off, and after a
/// failure that may have reached KMS (a lost answer, a 5xx, throttling) the key is looked for by its
/// tag before the create is sent again (see [`crate::aws::non_idempotent`]). Returns the key's ARN.
async fn create_key(client: &aws_sdk_kms::Client, settings: &crate::baseline::BaselineKey, policy: &Value) -> Result<String, AwsError> {
    const OP: &str = "kms:CreateKey";
    let alias = settings.alias.qualified();
    let tag = Tag::builder().tag_key(TAG_KEY).tag_value(alias.trim_start_matches("alias/")).build().expect("tag key and value are set");
    let send = || async {
        let created = client
            .create_key()
            .description(&settings.description)
            .policy(policy.to_string())
            .tags(tag.clone())
            .customize()
            .config_override(aws_sdk_kms::config::Builder::default().retry_config(non_idempotent::without_sdk_retry()))
            .send()
            .await
            .named(OP)?;
        created.key_metadata().and_then(|m| m.arn()).map(str::to_string).ok_or_else(|| AwsError::malformed(OP, "no key ARN"))
    };
    let find = || async { Ok(tagged::unaliased_keys(client, &alias).await?.first().and_then(|key| key.arn().map(str::to_string))) };
    non_idempotent::create(OP, send, find).await
}

#[async_trait]
impl Control for BaselineKey {
    type State = BaselineKeyState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.baseline_key.is_some()
    }

    fn resource(&self, ctx: &Context<'_>, _target: &Target) -> String {
        ctx.baseline.baseline_key.as_ref().map_or_else(|| "alias/(none)".to_string(), |k| k.alias.qualified())
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<BaselineKeyState, AwsError> {
        let client = ctx.aws.kms(target.region.as_str());
        let (metadata, alias, others) = find_key(ctx, &client, target.region.as_str(), &settings(ctx).alias.qualified()).await?;
        let Some(key) = metadata else { return Ok(BaselineKeyState::ABSENT) };
        let key_id = key.key_id();
        let rotation = client.get_key_rotation_status().key_id(key_id).send().await.named("kms:GetKeyRotationStatus")?;
        let policy_text = client.get_key_policy().key_id(key_id).policy_name("default").send().await.named("kms:GetKeyPolicy")?;
        // A policy that does not parse is an error: read as "no policy", the merge would replace it.
        let policy: Option<Value> = match policy_text.policy() {
            Some(text) => Some(serde_json::from_str(text).map_err(|_| AwsError::malformed("kms:GetKeyPolicy", "the key policy is not JSON"))?),
            None => None,
        };
        let wanted = wanted_policy(ctx, target);
        let has_statements = policy.as_ref().is_some_and(|current| {
            policy::statements(&wanted).iter().all(|statement| policy::contains_statement(current, statement))
        });
        let service_access_denied = match (key.arn(), &policy) {
            (Some(arn), Some(policy)) => denied_service_access(ctx, &target.region, arn, policy),
            _ => Vec::new(),
        };
        Ok(BaselineKeyState {
            key_arn: key.arn().map(str::to_string),
            alias,
            enabled: key.key_state() == Some(&KeyState::Enabled),
            rotation_enabled: rotation.key_rotation_enabled(),
            policy_has_baseline_statements: has_statements,
            service_access_denied,
            policy,
            pending_deletion: key.key_state() == Some(&KeyState::PendingDeletion),
            duplicates: tagged::duplicates(&others),
        })
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, observed: &BaselineKeyState, _facts: &Facts) -> BaselineKeyState {
        BaselineKeyState {
            key_arn: observed.key_arn.clone(),
            alias: true,
            enabled: true,
            rotation_enabled: true,
            policy_has_baseline_statements: true,
            service_access_denied: Vec::new(),
            policy: observed.policy.clone(),
            pending_deletion: false,
            duplicates: observed.duplicates.clone(),
        }
    }

    /// One part for the key, then one `manual` part per duplicate key. Apply merges the template's
    /// statements; when they are all there and a service path is still denied, only a human can
    /// decide about the statement that denies it, so that drift alone is `manual`.
    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &BaselineKeyState, desired: &BaselineKeyState) -> Vec<Part> {
        let part = Part {
            resource: self.resource(ctx, target),
            observed: serde_json::to_value(observed).expect("states serialize"),
            desired: serde_json::to_value(desired).expect("states serialize"),
            action: self.action(observed),
            fix: None,
        };
        let only_service_access = BaselineKeyState { service_access_denied: desired.service_access_denied.clone(), ..observed.clone() } == *desired;
        let key = if only_service_access && observed.service_access_denied != desired.service_access_denied { part.with_fix(Fix::Manual) } else { part };
        std::iter::once(key).chain(observed.duplicates.iter().map(|duplicate| duplicate_part(ctx, duplicate))).collect()
    }

    fn manual_steps(&self, ctx: &Context<'_>, target: &Target, part: &Part) -> Option<String> {
        if let Some(Ok(duplicate)) = part.observed.get("duplicate").map(|value| serde_json::from_value::<DuplicateKey>(value.clone())) {
            return Some(tagged::removal_steps(&settings(ctx).alias.qualified(), target.region.as_str(), &duplicate));
        }
        let denied: Vec<String> = serde_json::from_value(part.observed.get("service_access_denied")?.clone()).ok()?;
        let alias = settings(ctx).alias.qualified();
        let region = &target.region;
        Some(format!(
            "The key policy of {alias} in {region} contains the baseline's statements, yet AWS would deny these requests that AWS \
             services make with the key: {}. Read the policy (aws kms get-key-policy --region {region} --key-id {alias} \
             --policy-name default --output text > key-policy.json), remove or narrow the statement that denies (or restore the \
             template's statement that was changed), write it back (aws kms put-key-policy --region {region} --key-id KEY_ID \
             --policy-name default --policy file://key-policy.json), then: mamori verify --only kms.baseline-key",
            denied.join("; ")
        ))
    }

    fn action(&self, observed: &BaselineKeyState) -> Action {
        if observed.key_arn.is_none() {
            Action::Create
        } else {
            Action::Update
        }
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &BaselineKeyState, _desired: &BaselineKeyState) -> Result<(), ControlError> {
        let client = ctx.aws.kms(target.region.as_str());
        let settings = settings(ctx);
        let wanted = wanted_policy(ctx, target);
        let key_id = match &observed.key_arn {
            Some(arn) => arn.clone(),
            None => {
                let arn = create_key(&client, settings, &wanted).await?;
                tracing::info!(region = %target.region, "created the baseline key");
                arn
            }
        };
        if !observed.alias {
            // A key KMS has just created may not be visible to CreateAlias yet: retried (see aws::propagation).
            let alias = settings.alias.qualified();
            propagation::send("kms:CreateAlias", || client.create_alias().alias_name(&alias).target_key_id(&key_id).send()).await?;
        }
        if observed.pending_deletion {
            client.cancel_key_deletion().key_id(&key_id).send().await.named("kms:CancelKeyDeletion")?;
        }
        if observed.key_arn.is_some() && !observed.enabled {
            client.enable_key().key_id(&key_id).send().await.named("kms:EnableKey")?;
        }
        if !observed.rotation_enabled {
            propagation::send("kms:EnableKeyRotation", || client.enable_key_rotation().key_id(&key_id).send()).await?;
        }
        if observed.key_arn.is_some() && !observed.policy_has_baseline_statements {
            let merged = policy::merge_statements(observed.policy.as_ref().unwrap_or(&Value::Null), &wanted);
            let merged = merged.to_string();
            propagation::send("kms:PutKeyPolicy", || client.put_key_policy().key_id(&key_id).policy_name("default").policy(&merged).send()).await?;
        }
        // The key, its alias or its state changed: the next observation reads them again.
        key_alias::forget(ctx.aws, target.region.as_str(), &settings.alias.qualified());
        Ok(())
    }

    fn publish(&self, target: &Target, observed: &BaselineKeyState, facts: &mut Facts) {
        if let (Some(arn), true) = (&observed.key_arn, observed.enabled) {
            facts.baseline_key_arn.insert(target.region.clone(), arn.clone());
        }
    }
}

/// The finding part of a duplicate key: it should be scheduled for deletion, by a human.
fn duplicate_part(ctx: &Context<'_>, duplicate: &DuplicateKey) -> Part {
    let alias = settings(ctx).alias.qualified();
    let observed = serde_json::json!({ "duplicate_of": alias, "key_state": duplicate.key_state, "duplicate": duplicate });
    let desired = serde_json::json!({ "duplicate_of": alias, "key_state": "PendingDeletion", "duplicate": duplicate });
    Part { resource: format!("{alias}/duplicate/{}", duplicate.key_id), observed, desired, action: Action::Update, fix: Some(Fix::Manual) }
}

/// What dependants should encrypt with in `region`: the baseline key's ARN once it exists; before
/// that (a `plan` on a fresh account) a description naming the alias it will be created under, which
/// never equals an observed key and so shows as a change. `None` when the baseline has no key.
pub fn key_reference(ctx: &Context<'_>, facts: &Facts, region: &crate::baseline::RegionName) -> Option<String> {
    let settings = ctx.baseline.baseline_key.as_ref()?;
    Some(match facts.baseline_key_arn.get(region) {
        Some(arn) => arn.clone(),
        None => format!("{} (to be created by kms.baseline-key)", settings.alias.qualified()),
    })
}

/// True when `reference` (from [`key_reference`]) is a real key ARN, not the placeholder of a key
/// still to be created.
pub fn is_key_arn(reference: &str) -> bool {
    reference.starts_with("arn:")
}

/// The error `apply` returns when the key it needs does not exist (yet) in `region`.
pub fn key_missing(region: &crate::baseline::RegionName) -> ControlError {
    ControlError::Precondition(format!("the baseline key does not exist in {region}: kms.baseline-key must be configured and applied first"))
}
