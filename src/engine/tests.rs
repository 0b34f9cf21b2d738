//! Engine behaviour with in-memory controls: no AWS call is made (the fake controls never touch the
//! connection), so ordering, error isolation and convergence are tested on their own.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::aws::{Aws, AwsError, Caller};
use crate::baseline::{Baseline, RegionName};
use crate::report::{Action, Finding, Status, Verb};

/// A control over an in-memory value per region; `fails_observe` makes observation fail.
struct Fake {
    meta: &'static ControlMeta,
    value: Mutex<BTreeMap<String, u32>>,
    wanted: u32,
    fails_observe: bool,
    applies: Mutex<Vec<String>>,
    /// The fact this control saw when it applied (for the dependency test).
    seen_fact: Mutex<Option<String>>,
    /// After an apply, this many observations still return the value from before it (a read-back
    /// that lags behind the write, as S3 bucket configuration does).
    stale_reads_after_apply: u32,
    /// The stale reads still to answer, and the value they answer.
    stale: Mutex<Option<(u32, u32)>>,
    observations: Mutex<u32>,
}

impl Fake {
    fn new(meta: &'static ControlMeta, wanted: u32, fails_observe: bool) -> Fake {
        Fake {
            meta,
            value: Mutex::default(),
            wanted,
            fails_observe,
            applies: Mutex::default(),
            seen_fact: Mutex::default(),
            stale_reads_after_apply: 0,
            stale: Mutex::default(),
            observations: Mutex::default(),
        }
    }
}

#[async_trait]
impl Control for Fake {
    type State = u32;

    fn meta(&self) -> &'static ControlMeta {
        self.meta
    }

    fn enabled(&self, _baseline: &Baseline) -> bool {
        true
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "fake".into()
    }

    async fn observe(&self, _ctx: &Context<'_>, target: &Target) -> Result<u32, AwsError> {
        if self.fails_observe {
            return Err(AwsError::malformed("fake:Get", "broken on purpose"));
        }
        *self.observations.lock().unwrap() += 1;
        if let Some((left, old)) = self.stale.lock().unwrap().as_mut().filter(|(left, _)| *left > 0) {
            *left -= 1;
            return Ok(*old);
        }
        Ok(*self.value.lock().unwrap().get(target.region.as_str()).unwrap_or(&0))
    }

    fn desired(&self, _ctx: &Context<'_>, target: &Target, _observed: &u32, facts: &Facts) -> u32 {
        *self.seen_fact.lock().unwrap() = facts.baseline_key_arn.get(&target.region).cloned();
        self.wanted
    }

    async fn apply(&self, _ctx: &Context<'_>, target: &Target, _observed: &u32, desired: &u32) -> Result<(), ControlError> {
        self.applies.lock().unwrap().push(target.region.to_string());
        let old = self.value.lock().unwrap().insert(target.region.to_string(), *desired).unwrap_or(0);
        *self.stale.lock().unwrap() = Some((self.stale_reads_after_apply, old));
        Ok(())
    }

    fn action(&self, observed: &u32) -> Action {
        if *observed == 0 {
            Action::Create
        } else {
            Action::Update
        }
    }

    fn publish(&self, target: &Target, observed: &u32, facts: &mut Facts) {
        // Only the dependency publishes, as kms.baseline-key does for ebs.default-encryption.
        if self.meta.depends_on.is_empty() && *observed != 0 {
            facts.baseline_key_arn.insert(target.region.clone(), format!("key-{observed}"));
        }
    }
}

static FIRST: ControlMeta =
    ControlMeta { id: "a.first", source: file!(), title: "", fix: Fix::Automatic, scope: Scope::Regional, cis_v5: &[], fsbp: &[], depends_on: &[], access: &crate::least_privilege::Access::NONE };
static SECOND: ControlMeta = ControlMeta {
    id: "b.second",
    source: file!(),
    title: "",
    fix: Fix::Automatic,
    scope: Scope::Regional,
    cis_v5: &[],
    fsbp: &[],
    depends_on: &["a.first"], access: &crate::least_privilege::Access::NONE,
};
static BROKEN: ControlMeta =
    ControlMeta { id: "c.broken", source: file!(), title: "", fix: Fix::Automatic, scope: Scope::Account, cis_v5: &[], fsbp: &[], depends_on: &[], access: &crate::least_privilege::Access::NONE };

static ACCOUNT_WIDE: ControlMeta =
    ControlMeta { id: "e.account-wide", source: file!(), title: "", fix: Fix::Automatic, scope: Scope::Account, cis_v5: &[], fsbp: &[], depends_on: &[], access: &crate::least_privilege::Access::NONE };

static ON_BROKEN: ControlMeta = ControlMeta {
    id: "d.on-broken",
    source: file!(),
    title: "",
    fix: Fix::Automatic,
    scope: Scope::Regional,
    cis_v5: &[],
    fsbp: &[],
    depends_on: &["c.broken"], access: &crate::least_privilege::Access::NONE,
};

async fn fixture() -> (Aws, Baseline, Caller) {
    super::testing::offline("version: 1\nname: t\nregions: [us-east-1, eu-west-1]\n").await
}

#[tokio::test]
async fn apply_orders_dependencies_and_converges() {
    let (aws, baseline, caller) = fixture().await;
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: None, regions_not_enabled: &[], layout: None };
    let first = Fake::new(&FIRST, 7, false);
    let second = Fake::new(&SECOND, 3, false);
    let controls: Vec<&dyn Reconciler> = vec![&first, &second];

    let plan = run(&ctx, Verb::Plan, &controls, &mut |_: &Report| true, &Silent).await.unwrap();
    assert_eq!(plan.exit_code(), 2);
    assert_eq!(plan.changes.as_ref().unwrap().len(), 4, "two controls in two regions");
    assert!(first.applies.lock().unwrap().is_empty(), "plan applies nothing");

    let apply = run(&ctx, Verb::Apply, &controls, &mut |_: &Report| true, &Silent).await.unwrap();
    assert_eq!(apply.exit_code(), 0, "{apply:?}");
    assert_eq!(apply.summary.pass, 4);
    assert_eq!(*second.seen_fact.lock().unwrap(), Some("key-7".into()), "the dependant saw the fact published after its dependency applied");

    let again = run(&ctx, Verb::Apply, &controls, &mut |_: &Report| panic!("nothing to confirm"), &Silent).await.unwrap();
    assert_eq!(again.exit_code(), 0);
    assert!(again.changes.unwrap().is_empty());
    assert_eq!(first.applies.lock().unwrap().len(), 2, "the second apply changed nothing");
}

#[tokio::test]
async fn a_stale_read_back_after_apply_is_read_again_not_reported_as_drift() {
    let (aws, baseline, caller) = fixture().await;
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: None, regions_not_enabled: &[], layout: None };
    let lagging = Fake { stale_reads_after_apply: 1, ..Fake::new(&BROKEN, 5, false) };
    let apply = run(&ctx, Verb::Apply, &[&lagging], &mut |_: &Report| true, &Silent).await.unwrap();
    assert_eq!(apply.exit_code(), 0, "the first read-back showed the old value; the second the new one: {apply:?}");
    assert_eq!(*lagging.observations.lock().unwrap(), 3, "observe, the stale read-back, one read again");
    assert_eq!(lagging.applies.lock().unwrap().len(), 1, "read again, not applied again");
}

#[tokio::test]
async fn a_failing_control_is_an_error_finding_and_the_others_go_on() {
    let (aws, baseline, caller) = fixture().await;
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: None, regions_not_enabled: &[], layout: None };
    let first = Fake::new(&FIRST, 1, false);
    let broken = Fake::new(&BROKEN, 1, true);
    let controls: Vec<&dyn Reconciler> = vec![&first, &broken];
    let report = run(&ctx, Verb::Apply, &controls, &mut |_: &Report| true, &Silent).await.unwrap();
    assert_eq!(report.exit_code(), 1);
    let broken_finding = &report.finding("c.broken")[0];
    assert_eq!((broken_finding.status, broken_finding.region.as_str()), (Status::Error, "global"));
    assert!(broken_finding.message.contains("fake:Get"), "{}", broken_finding.message);
    assert!(report.finding("a.first").iter().all(|f| f.status == Status::Pass));
    assert_eq!(first.applies.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn what_depends_on_a_failed_control_is_not_applied() {
    let (aws, baseline, caller) = fixture().await;
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: None, regions_not_enabled: &[], layout: None };
    let broken = Fake::new(&BROKEN, 1, true);
    let dependant = Fake::new(&ON_BROKEN, 1, false);
    let controls: Vec<&dyn Reconciler> = vec![&broken, &dependant];
    let report = run(&ctx, Verb::Apply, &controls, &mut |_: &Report| true, &Silent).await.unwrap();
    assert!(dependant.applies.lock().unwrap().is_empty(), "held back");
    let held = report.finding("d.on-broken");
    assert_eq!(held.len(), 2);
    assert!(held.iter().all(|f| f.status == Status::Error && f.message.contains("c.broken")), "{held:?}");
    assert_eq!(report.exit_code(), 1);
}

#[tokio::test]
async fn a_region_the_account_has_not_enabled_is_skipped_with_the_steps_and_left_alone() {
    let (aws, baseline, caller) = fixture().await;
    let not_enabled = [RegionName::parse("eu-west-1").unwrap()];
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: None, regions_not_enabled: &not_enabled, layout: None };
    let regional = Fake::new(&FIRST, 1, false);
    let account_wide = Fake::new(&ACCOUNT_WIDE, 1, false);
    let controls: Vec<&dyn Reconciler> = vec![&regional, &account_wide];
    let report = run(&ctx, Verb::Apply, &controls, &mut |_: &Report| true, &Silent).await.unwrap();
    assert_eq!(*regional.applies.lock().unwrap(), ["us-east-1"], "nothing is applied in eu-west-1");
    let skipped = report.findings.iter().find(|f| f.region == "eu-west-1").expect("a finding for eu-west-1");
    assert_eq!(skipped.status, Status::Skipped);
    assert!(skipped.message.contains("opt-in region that this account has not enabled"), "{}", skipped.message);
    assert!(skipped.remediation.as_deref().is_some_and(|steps| steps.contains("enable-region --region-name eu-west-1")));
    assert_eq!(report.finding("e.account-wide")[0].status, Status::Pass, "account-wide controls run in the home region");
    assert_eq!(report.exit_code(), 0, "skipped is compliant");
}

#[tokio::test]
async fn a_declined_confirmation_changes_nothing() {
    let (aws, baseline, caller) = fixture().await;
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: None, regions_not_enabled: &[], layout: None };
    let first = Fake::new(&FIRST, 1, false);
    let controls: Vec<&dyn Reconciler> = vec![&first];
    let outcome = run(&ctx, Verb::Apply, &controls, &mut |_: &Report| false, &Silent).await;
    assert!(matches!(outcome, Err(EngineError::Cancelled)));
    assert!(first.applies.lock().unwrap().is_empty());
}

#[test]
fn parts_by_key_cover_both_sides_and_mark_creates() {
    let observed = BTreeMap::from([("alice".to_string(), 1u32), ("bob".to_string(), 2)]);
    let desired = BTreeMap::from([("bob".to_string(), 3u32), ("carol".to_string(), 4)]);
    let parts = Part::by_key("user/", &observed, &desired);
    let summary: Vec<(&str, Action)> = parts.iter().map(|p| (p.resource.as_str(), p.action)).collect();
    assert_eq!(summary, [("user/alice", Action::Update), ("user/bob", Action::Update), ("user/carol", Action::Create)]);
    assert_eq!(parts[0].desired, serde_json::Value::Null);
    assert_eq!(parts[2].observed, serde_json::Value::Null);
}

static SKIPPING: ControlMeta =
    ControlMeta { id: "e.skipping", source: file!(), title: "", fix: Fix::Automatic, scope: Scope::Regional, cis_v5: &[], fsbp: &[], depends_on: &[], access: &crate::least_privilege::Access::NONE };

/// Two resources drifted: `theirs` belongs to someone else (skipped), `ours` may be fixed.
struct Skipping {
    applies: Mutex<usize>,
    ours_drifts: bool,
}

#[async_trait]
impl Control for Skipping {
    type State = BTreeMap<String, u32>;

    fn meta(&self) -> &'static ControlMeta {
        &SKIPPING
    }

    fn enabled(&self, _baseline: &Baseline) -> bool {
        true
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "things".into()
    }

    async fn observe(&self, _ctx: &Context<'_>, _target: &Target) -> Result<Self::State, AwsError> {
        Ok(BTreeMap::from([("ours".to_string(), u32::from(!self.ours_drifts)), ("theirs".to_string(), 0)]))
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, observed: &Self::State, _facts: &Facts) -> Self::State {
        observed.keys().map(|k| (k.clone(), 1)).collect()
    }

    async fn apply(&self, _ctx: &Context<'_>, _target: &Target, _observed: &Self::State, _desired: &Self::State) -> Result<(), ControlError> {
        *self.applies.lock().unwrap() += 1;
        Ok(())
    }

    fn parts(&self, _ctx: &Context<'_>, _target: &Target, observed: &Self::State, desired: &Self::State) -> Vec<Part> {
        Part::by_key("thing/", observed, desired)
    }

    fn skip_reason(&self, _ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        (part.resource == "thing/theirs").then(|| "owned by account 111122223333".to_string())
    }
}

#[tokio::test]
async fn a_skipped_part_is_reported_with_its_reason_and_never_applied() {
    let (aws, baseline, caller) = fixture().await;
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: None, regions_not_enabled: &[], layout: None };
    let only_theirs = Skipping { applies: Mutex::default(), ours_drifts: false };
    let controls: Vec<&dyn Reconciler> = vec![&only_theirs];
    let plan = run(&ctx, Verb::Plan, &controls, &mut |_: &Report| true, &Silent).await.unwrap();
    let theirs: Vec<&Finding> = plan.findings.iter().filter(|f| f.resource == "thing/theirs").collect();
    assert_eq!(theirs.len(), 2, "one per region");
    assert!(theirs.iter().all(|f| f.status == Status::Skipped && f.message == "owned by account 111122223333" && f.expected.is_none()), "{theirs:?}");
    assert_eq!(plan.changes.as_deref(), Some(&[][..]), "a skipped resource carries no change");
    assert_eq!(plan.exit_code(), 0, "skipped is not drift");
    run(&ctx, Verb::Apply, &controls, &mut |_: &Report| panic!("nothing to confirm"), &Silent).await.unwrap();
    assert_eq!(*only_theirs.applies.lock().unwrap(), 0, "apply is not called for a skipped resource");

    let both = Skipping { applies: Mutex::default(), ours_drifts: true };
    let controls: Vec<&dyn Reconciler> = vec![&both];
    let plan = run(&ctx, Verb::Plan, &controls, &mut |_: &Report| true, &Silent).await.unwrap();
    let changed: Vec<&str> = plan.changes.iter().flatten().map(|c| c.resource.as_str()).collect();
    assert_eq!(changed, ["thing/ours", "thing/ours"], "only the resource the control may change, in both regions");
}

/// A control over two resources, `left` and `right`, changed by one call (it cannot split its change).
struct Pair {
    value: Mutex<BTreeMap<String, u32>>,
    applies: Mutex<u32>,
}

static PAIR: ControlMeta =
    ControlMeta { id: "f.pair", source: file!(), title: "", fix: Fix::Automatic, scope: Scope::Account, cis_v5: &[], fsbp: &[], depends_on: &[], access: &crate::least_privilege::Access::NONE };

#[async_trait]
impl Control for Pair {
    type State = BTreeMap<String, u32>;

    fn meta(&self) -> &'static ControlMeta {
        &PAIR
    }

    fn enabled(&self, _baseline: &Baseline) -> bool {
        true
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "pair".into()
    }

    async fn observe(&self, _ctx: &Context<'_>, _target: &Target) -> Result<Self::State, AwsError> {
        Ok(self.value.lock().unwrap().clone())
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, _observed: &Self::State, _facts: &Facts) -> Self::State {
        BTreeMap::from([("left".to_string(), 1), ("right".to_string(), 1)])
    }

    async fn apply(&self, _ctx: &Context<'_>, _target: &Target, _observed: &Self::State, desired: &Self::State) -> Result<(), ControlError> {
        *self.applies.lock().unwrap() += 1;
        *self.value.lock().unwrap() = desired.clone();
        Ok(())
    }

    fn parts(&self, _ctx: &Context<'_>, _target: &Target, observed: &Self::State, desired: &Self::State) -> Vec<Part> {
        Part::by_key("", observed, desired)
    }
}

#[tokio::test]
async fn a_change_that_cannot_be_split_from_an_excepted_resource_is_not_made_and_says_why() {
    let (aws, mut baseline, caller) = fixture().await;
    let today = baseline.exceptions.today;
    baseline.exceptions.entries.push(crate::baseline::Exception {
        index: 0,
        control: "f".into(),
        accounts: vec![],
        regions: vec![],
        resources: vec!["left".into()],
        reason: "vendor".into(),
        owner: "team".into(),
        expires: today,
        ticket: None,
    });
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: None, regions_not_enabled: &[], layout: None };
    let pair = Pair { value: Mutex::new(BTreeMap::from([("left".to_string(), 0), ("right".to_string(), 0)])), applies: Mutex::default() };

    let plan = run(&ctx, Verb::Plan, &[&pair], &mut |_: &Report| true, &Silent).await.unwrap();
    let planned: Vec<&str> = plan.changes.iter().flatten().map(|c| c.resource.as_str()).collect();
    assert_eq!(planned, ["right"], "the excepted resource's change is not planned");

    let apply = run(&ctx, Verb::Apply, &[&pair], &mut |_: &Report| true, &Silent).await.unwrap();
    assert_eq!(*pair.applies.lock().unwrap(), 0, "one call would change both: none is made");
    assert_eq!(apply.exit_code(), 2, "the rest still drifts: {apply:?}");
    let status = |resource: &str| apply.findings.iter().find(|f| f.resource == resource).map(|f| (f.status, f.message.clone())).unwrap();
    assert_eq!(status("left").0, Status::Excepted);
    let (right, message) = status("right");
    assert_eq!(right, Status::Fail);
    assert!(message.ends_with("not applied: the change cannot be made without also changing left, which an exception of the baseline accepts as it is"), "{message}");
    assert_eq!(apply.changes.as_deref(), Some(&[][..]));
}

#[tokio::test]
async fn after_an_interrupt_no_apply_starts_and_each_unit_not_applied_says_so() {
    let interrupt = crate::aws::Interrupt::default();
    let options = crate::aws::ConnectOptions { endpoint_url: Some("http://127.0.0.1:9".into()), interrupt: interrupt.clone(), ..Default::default() };
    let aws = Aws::connect(&options, crate::aws::AccessMode::ReadWrite, "us-east-1").await;
    let (_, baseline, caller) = fixture().await;
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: None, regions_not_enabled: &[], layout: None };
    let first = Fake::new(&FIRST, 1, false);
    let second = Fake::new(&SECOND, 1, false);
    let controls: Vec<&dyn Reconciler> = vec![&first, &second];
    // Ctrl-C while the plan is shown: the run goes on to report, starting nothing.
    let report = run(&ctx, Verb::Apply, &controls, &mut |_: &Report| { interrupt.request(); true }, &Silent).await.unwrap();
    assert!(first.applies.lock().unwrap().is_empty() && second.applies.lock().unwrap().is_empty(), "no apply started");
    let findings: Vec<_> = report.findings.iter().collect();
    assert_eq!(findings.len(), 4);
    assert!(findings.iter().all(|f| f.status == Status::Error && f.message.contains(super::NOT_STARTED_AFTER_INTERRUPT)), "{findings:?}");
    assert!(report.changes.as_ref().unwrap().is_empty(), "nothing was changed");
    assert_eq!(report.exit_code(), 1);
}
