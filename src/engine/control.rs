//! The contract every control implements, and its type-erased form the engine drives.
//!
//! A control reads one slice of the account ([`Control::observe`]), says what that slice should be
//! given the baseline, what it observed and what the controls it depends on published
//! ([`Control::desired`], pure), and changes it ([`Control::apply`]). Observed and desired share one
//! `State` type, so drift is `!=` and the diff is the generic [`super::diff`].
//!
//! # Guarantees the engine gives a control
//! - `observe` runs on a connection that refuses mutating calls in `plan` and `verify`.
//! - `apply` is only called in `apply`, only when `observed != desired`, and only after every control
//!   in `depends_on` has been applied and re-observed in the same region.
//! - After `apply` the engine observes again: the finding always reflects the account, never intent.
//!
//! # What a control must guarantee
//! - `apply` is idempotent and create-or-update: run on any account, fresh, converged or half-done by
//!   an interrupted run, it converges without duplicates (things AWS cannot create idempotently are
//!   found again by alias or tag in `observe`).
//! - `apply` never deletes customer data or keys, and never writes a policy that locks the account out.
//! - `desired` never weakens a stricter observed setting; it may use `observed` for exactly that.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::aws::{Aws, AwsError, Caller, Mfa};
use crate::baseline::{Baseline, RegionName, Vars};
use crate::fleet::{Layout, Placement};
use crate::report::{Action, Change, Finding, Status};

use super::diff;

/// How a control's drift gets fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fix {
    /// `apply` fixes it.
    Automatic,
    /// Only a human can; drift is reported `manual` with the steps.
    Manual,
    /// `apply` fixes it only when the baseline opts in (deactivating a key, say); otherwise `manual`.
    /// A catalogue label: a control with this fix answers [`Control::fix`] from the baseline.
    Optional,
}

impl Fix {
    /// `yes`, `manual` or `optional`, as `mamori controls` shows it.
    pub fn label(self) -> &'static str {
        match self {
            Fix::Automatic => "yes",
            Fix::Manual => "manual",
            Fix::Optional => "optional",
        }
    }
}

/// Whether a control covers the account once or each baseline region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Account,
    Regional,
}

impl Scope {
    pub fn label(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Regional => "region",
        }
    }
}

/// The static description of a control: what `mamori controls` lists.
#[derive(Debug)]
pub struct ControlMeta {
    /// Stable dotted id (`ebs.default-encryption`).
    pub id: &'static str,
    /// The file that defines the control (`file!()`): `src/controls/<group>/<name>.rs`, the path its
    /// id names (a unit test holds every control to it).
    pub source: &'static str,
    pub title: &'static str,
    pub fix: Fix,
    pub scope: Scope,
    pub cis_v5: &'static [&'static str],
    pub fsbp: &'static [&'static str],
    /// Controls whose results this one needs (applied first, their facts published first).
    pub depends_on: &'static [&'static str],
    /// The IAM actions it may call, observing and applying (see [`crate::least_privilege`]).
    pub access: &'static crate::least_privilege::Access,
}

impl ControlMeta {
    /// The group: the part of the id before the dot (`ebs`).
    pub fn group(&self) -> &'static str {
        self.id.split('.').next().unwrap_or(self.id)
    }
}

/// Where one unit of work runs: a region, or the account (its calls go to the home region).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The region calls are sent to.
    pub region: RegionName,
    /// True for account-wide controls: findings say `global`.
    pub account_wide: bool,
}

impl Target {
    /// The region as findings show it.
    pub fn label(&self) -> &str {
        if self.account_wide {
            "global"
        } else {
            self.region.as_str()
        }
    }
}

/// What every control may read: the connection, the baseline, who the caller is (the account being
/// reconciled), the MFA device and code the operator passed for root-only changes (`apply --mfa`),
/// the baseline regions the account has not enabled (see [`super::regions`]), where the engine runs
/// nothing, and, in a multi-account run, the organization's layout.
pub struct Context<'a> {
    pub aws: &'a Aws,
    pub baseline: &'a Baseline,
    pub caller: &'a Caller,
    pub mfa: Option<&'a Mfa>,
    pub regions_not_enabled: &'a [RegionName],
    /// The organization layout of a multi-account run; `None` for a run over the caller's account.
    pub layout: Option<&'a Layout>,
}

impl Context<'_> {
    /// Template variables for `region`: in the organization layout, the audit bucket is the
    /// log-archive account's and the trail the management account's.
    pub fn vars<'b>(&'b self, region: &'b RegionName) -> Vars<'b> {
        let vars = self.baseline.vars(&self.caller.account_id, &self.caller.partition, region);
        match self.organization_layout() {
            Some((layout, archive)) => Vars {
                audit_account_id: archive,
                trail_account_id: &layout.management_account,
                organization_id: &layout.organization_id,
                ..vars
            },
            None => vars,
        }
    }

    /// Whether this account is the log-archive account of the organization layout: its audit bucket
    /// and key serve the whole organization (the `organization_policy` templates).
    pub fn is_organization_log_archive(&self) -> bool {
        self.organization_layout().is_some_and(|(_, archive)| archive == self.caller.account_id)
    }

    /// The organization layout and its log-archive account, when this run uses that layout.
    pub fn organization_layout(&self) -> Option<(&Layout, &str)> {
        let layout = self.layout?;
        Some((layout, layout.log_archive_account.as_deref()?))
    }
}

/// What controls publish for the controls that depend on them, per region.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// ARN of the baseline KMS key, by region, once it exists.
    pub baseline_key_arn: BTreeMap<RegionName, String>,
    /// Ids of the S3 gateway endpoints of the VPCs `vpc.endpoints` covers, by region; a region is
    /// present (possibly with no id) once it has been observed.
    pub s3_gateway_endpoints: BTreeMap<RegionName, Vec<String>>,
}

/// Why `apply` could not do its work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Something it needs is missing (a dependency that failed, say).
    #[error("{0}")]
    Precondition(String),
    /// An active exception accepts the drift of this resource, and the control cannot change the
    /// rest of its state without changing it too: the whole change is left undone.
    #[error("the change cannot be made without also changing {0}, which an exception of the baseline accepts as it is")]
    Inseparable(String),
}

/// One resource of a control's state, as findings and changes show it.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The resource name (`alias/mamori-baseline`, `user/alice`, `vpc-123/endpoint/ssm`).
    pub resource: String,
    pub observed: serde_json::Value,
    pub desired: serde_json::Value,
    /// `create` when the resource does not exist yet, `update` otherwise.
    pub action: Action,
    /// Overrides the control's [`Control::fix`] for this resource (a setting a lock forbids mamori
    /// to change is `Manual` even in a fixable control). `None`: the control's.
    pub fix: Option<Fix>,
}

impl Part {
    /// This part with its fix overridden.
    pub fn with_fix(mut self, fix: Fix) -> Part {
        self.fix = Some(fix);
        self
    }

    /// One part per key of two maps (union of keys; a key missing on one side is `null` there and,
    /// when missing from `observed`, a `create`). For controls whose state is a map of resources.
    pub fn by_key<V: Serialize>(
        prefix: &str,
        observed: &BTreeMap<String, V>,
        desired: &BTreeMap<String, V>,
    ) -> Vec<Part> {
        let mut keys: Vec<&String> = observed.keys().chain(desired.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .map(|key| Part {
                resource: format!("{prefix}{key}"),
                observed: serde_json::to_value(observed.get(key)).expect("states serialize"),
                desired: serde_json::to_value(desired.get(key)).expect("states serialize"),
                action: if observed.contains_key(key) { Action::Update } else { Action::Create },
                fix: None,
            })
            .collect()
    }
}

/// One control, typed. See the module documentation for the contract.
#[async_trait]
pub trait Control: Send + Sync + 'static {
    /// What is observed and what is desired: drift is `!=`.
    type State: Serialize + PartialEq + Clone + Debug + Send + Sync + 'static;

    fn meta(&self) -> &'static ControlMeta;

    /// False when the baseline leaves this control out or turns it off (finding: `skipped`).
    fn enabled(&self, baseline: &Baseline) -> bool;

    /// Which accounts of the organization layout run this control (see [`Placement`]). Default: every
    /// account.
    fn placement(&self) -> Placement {
        Placement::EveryAccount
    }

    /// The resource findings and changes name (`alias/mamori-baseline`, `account-setting/...`).
    fn resource(&self, ctx: &Context<'_>, target: &Target) -> String;

    /// Reads the live state. Read-only calls only.
    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<Self::State, AwsError>;

    /// What the state should be. Pure.
    fn desired(&self, ctx: &Context<'_>, target: &Target, observed: &Self::State, facts: &Facts) -> Self::State;

    /// Makes the account match `desired`. Idempotent, never destructive.
    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &Self::State, desired: &Self::State) -> Result<(), ControlError>;

    /// `create` when the resource does not exist yet, `update` otherwise.
    fn action(&self, _observed: &Self::State) -> Action {
        Action::Update
    }

    /// Publishes what dependants need from the observed state.
    fn publish(&self, _target: &Target, _observed: &Self::State, _facts: &mut Facts) {}

    /// The resources the state covers, one finding each. Default: the whole state as one resource
    /// named by [`Control::resource`], `create`/`update` from [`Control::action`]. Controls over many
    /// resources (users, instances, VPCs) return one [`Part`] per resource, e.g. with [`Part::by_key`].
    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &Self::State, desired: &Self::State) -> Vec<Part> {
        vec![Part {
            resource: self.resource(ctx, target),
            observed: serde_json::to_value(observed).expect("states serialize"),
            desired: serde_json::to_value(desired).expect("states serialize"),
            action: self.action(observed),
            fix: None,
        }]
    }

    /// Whether `apply` fixes drift. Default: the catalogue's [`ControlMeta::fix`]; controls whose fix
    /// is opt-in (deactivating keys, say) answer from the baseline.
    fn fix(&self, _baseline: &Baseline) -> Fix {
        self.meta().fix
    }

    /// For a `pass` finding on `part`: why it passes, when that is not plain equality with the
    /// baseline (a root user the organization manages centrally, say). Default: none.
    fn pass_reason(&self, _ctx: &Context<'_>, _target: &Target, _part: &Part) -> Option<String> {
        None
    }

    /// For a `manual` finding on `part`: the exact steps a human must take (its resource and observed
    /// state say what to name). Default: none.
    fn manual_steps(&self, _ctx: &Context<'_>, _target: &Target, _part: &Part) -> Option<String> {
        None
    }

    /// A sentence every finding on `part` carries after its message, whatever its status: why a
    /// setting is what it is (one a scanner may flag), or what a change does beyond its diff.
    /// Default: none.
    fn note(&self, _ctx: &Context<'_>, _target: &Target, _part: &Part) -> Option<String> {
        None
    }

    /// `desired` with `resource` left as `observed` has it: what `apply` writes when an active exception
    /// of the baseline accepts that resource's drift but not the rest. `None` (the default) when the
    /// control cannot change its other resources without changing that one; the engine then leaves
    /// the whole state alone and says so in the findings. A control whose state is one resource
    /// never needs it: an excepted resource there leaves nothing to apply.
    fn except(&self, _desired: Self::State, _observed: &Self::State, _resource: &str) -> Option<Self::State> {
        None
    }

    /// For a part this control covers but does not evaluate, why (a VPC another account owns, a
    /// setting the organization's policy manages): the finding is then `skipped` with this reason,
    /// whatever the part's observed and desired states say, and it carries no change. `apply` must
    /// leave such a resource alone even when other parts of the state drift. Default: none.
    fn skip_reason(&self, _ctx: &Context<'_>, _target: &Target, _part: &Part) -> Option<String> {
        None
    }
}

/// A state observed by some control, type-erased for the engine.
pub type Observed = Arc<dyn Any + Send + Sync>;

/// A control's verdict on one unit: one finding per resource, and the changes `apply` would make
/// (none for resources in sync or whose fix is manual).
#[derive(Clone, Debug, Default)]
pub struct Assessment {
    pub findings: Vec<Finding>,
    pub changes: Vec<Change>,
    /// Resources whose drift `apply` would fix, but that an active exception accepts: `apply` leaves
    /// them as they are (see [`Control::except`]).
    pub held: Vec<String>,
}

/// The object-safe form of [`Control`], implemented for every control.
#[async_trait]
pub trait Reconciler: Send + Sync {
    fn meta(&self) -> &'static ControlMeta;
    fn enabled(&self, baseline: &Baseline) -> bool;
    fn placement(&self) -> Placement;
    fn resource(&self, ctx: &Context<'_>, target: &Target) -> String;
    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<Observed, AwsError>;
    fn assess(&self, ctx: &Context<'_>, target: &Target, observed: &Observed, facts: &Facts) -> Assessment;
    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &Observed, facts: &Facts) -> Result<(), ControlError>;
    fn publish(&self, target: &Target, observed: &Observed, facts: &mut Facts);
}

fn typed<S: 'static>(observed: &Observed) -> &S {
    observed.downcast_ref::<S>().expect("a control only receives states it observed")
}

#[async_trait]
impl<C: Control> Reconciler for C {
    fn meta(&self) -> &'static ControlMeta {
        Control::meta(self)
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        Control::enabled(self, baseline)
    }

    fn placement(&self) -> Placement {
        Control::placement(self)
    }

    fn resource(&self, ctx: &Context<'_>, target: &Target) -> String {
        Control::resource(self, ctx, target)
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<Observed, AwsError> {
        Ok(Arc::new(Control::observe(self, ctx, target).await?))
    }

    fn assess(&self, ctx: &Context<'_>, target: &Target, observed: &Observed, facts: &Facts) -> Assessment {
        let observed: &C::State = typed(observed);
        let desired = self.desired(ctx, target, observed, facts);
        let meta = Control::meta(self);
        let fix = Control::fix(self, ctx.baseline);
        let references = crate::controls::benchmarks::cited(meta, ctx.baseline);
        let mut assessment = Assessment::default();
        for part in self.parts(ctx, target, observed, &desired) {
            if let Some(reason) = self.skip_reason(ctx, target, &part) {
                assessment.findings.push(Finding {
                    account: ctx.caller.account_id.clone(),
                    control: meta.id.into(),
                    region: target.label().into(),
                    resource: part.resource,
                    status: Status::Skipped,
                    message: reason,
                    expected: None,
                    actual: Some(part.observed),
                    remediation: None,
                    references: references.clone(),
                    exception: None,
                });
                continue;
            }
            let diffs = diff::diff_values(&part.observed, &part.desired);
            let (status, message, remediation) = match (diffs.is_empty(), part.fix.unwrap_or(fix)) {
                (true, _) => {
                    let message = match self.pass_reason(ctx, target, &part) {
                        Some(reason) => format!("matches the baseline: {reason}"),
                        None => "matches the baseline".to_string(),
                    };
                    (Status::Pass, message, None)
                }
                (false, Fix::Automatic) => (Status::Fail, diff::describe(&diffs), Some(format!("mamori apply --only {}", meta.id))),
                (false, Fix::Manual | Fix::Optional) => (Status::Manual, diff::describe(&diffs), self.manual_steps(ctx, target, &part)),
            };
            let message = match self.note(ctx, target, &part) {
                Some(note) => format!("{message}\n{note}"),
                None => message,
            };
            let drifted = status != Status::Pass;
            let mut finding = Finding {
                account: ctx.caller.account_id.clone(),
                control: meta.id.into(),
                region: target.label().into(),
                resource: part.resource.clone(),
                status,
                message,
                expected: drifted.then(|| part.desired.clone()),
                actual: drifted.then(|| part.observed.clone()),
                remediation,
                references: references.clone(),
                exception: None,
            };
            if super::exceptions::decide(&mut finding, &ctx.baseline.exceptions) && status == Status::Fail {
                assessment.held.push(part.resource.clone());
            }
            if finding.status == Status::Fail {
                let (before, after) = diff::before_after(&diffs);
                assessment.changes.push(Change {
                    account: ctx.caller.account_id.clone(),
                    control: meta.id.into(),
                    region: target.label().into(),
                    resource: part.resource,
                    action: part.action,
                    before,
                    after,
                });
            }
            assessment.findings.push(finding);
        }
        assessment
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &Observed, facts: &Facts) -> Result<(), ControlError> {
        let held = Reconciler::assess(self, ctx, target, observed, facts).held;
        let observed: &C::State = typed(observed);
        let mut desired = self.desired(ctx, target, observed, facts);
        for resource in held {
            desired = self.except(desired, observed, &resource).ok_or_else(|| ControlError::Inseparable(resource))?;
        }
        Control::apply(self, ctx, target, observed, &desired).await
    }

    fn publish(&self, target: &Target, observed: &Observed, facts: &mut Facts) {
        Control::publish(self, target, typed(observed), facts)
    }
}
