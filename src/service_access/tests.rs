//! The service-path table test: every key and bucket policy mamori writes, rendered from its template
//! for the shipped baselines with realistic names, judged row by row by the policy evaluator.

use serde_json::Value;

use super::*;
use crate::baseline::Baseline;
use crate::policy::evaluate::{evaluate, Decision, Policies};

const ACCOUNT: &str = "111122223333";

fn caller() -> Caller {
    Caller { account_id: ACCOUNT.into(), partition: "aws".into(), arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice") }
}

/// The shipped baselines, as loaded from the repository, in two regions each.
fn shipped() -> Vec<(String, Baseline)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    ["standard", "strict"]
        .iter()
        .map(|name| {
            let baseline = Baseline::load(&root.join(format!("baselines/{name}.yaml"))).unwrap_or_else(|e| panic!("{e}"));
            let regions = ["us-east-1", "eu-west-1"].iter().map(|r| RegionName::parse(r).unwrap()).collect();
            (name.to_string(), baseline.with_regions(regions).unwrap())
        })
        .collect()
}

fn key_arn(region: &RegionName) -> String {
    format!("arn:aws:kms:{region}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab")
}

/// A resource policy with the accesses that concern it.
struct Judged {
    label: String,
    policy: Value,
    key: bool,
    accesses: Vec<Access>,
}

/// Every policy mamori writes for `baseline`, with its rows.
fn judged(baseline: &Baseline, caller: &Caller) -> Vec<Judged> {
    let names = Names::new(baseline, caller);
    let mut out = Vec::new();
    let key_template = &baseline.baseline_key.as_ref().expect("the shipped baselines have a key").policy_template;
    for region in &baseline.regions {
        out.push(Judged {
            label: format!("key policy in {region}"),
            policy: baseline.templates.render(key_template, &names.vars(region)),
            key: true,
            accesses: key_accesses(&names, region, &key_arn(region)),
        });
    }
    let settings = baseline.log_bucket.as_ref().expect("the shipped baselines have an audit bucket");
    let home = baseline.home_region();
    let (audit, access_log) = (names.audit_bucket().unwrap(), names.access_log_bucket().unwrap());
    out.push(Judged {
        label: format!("audit bucket {audit}"),
        policy: baseline.templates.render(&settings.policy_template, &names.vars(home).for_bucket(&audit)),
        key: false,
        accesses: audit_bucket_accesses(&names),
    });
    out.push(Judged {
        label: format!("access-log bucket {access_log}"),
        policy: baseline.templates.render(&settings.access_log_policy_template, &names.vars(home).for_bucket(&access_log)),
        key: false,
        accesses: access_log_bucket_accesses(&names),
    });
    out
}

fn decide(judged: &Judged, policy: &Value, access: &Access) -> Decision {
    let identity: Vec<&Value> = access.identity.iter().collect();
    let policies = if judged.key { Policies::key(policy, ACCOUNT) } else { Policies::resource(policy, ACCOUNT) };
    evaluate(&policies.with_identity(&identity), &access.request)
}

#[test]
fn every_documented_service_path_is_open_and_every_confused_deputy_path_closed() {
    let caller = caller();
    for (name, baseline) in shipped() {
        let mut sources = std::collections::BTreeSet::new();
        for judged in judged(&baseline, &caller) {
            assert!(!judged.accesses.is_empty(), "{name}: no row for the {}", judged.label);
            for access in &judged.accesses {
                let decision = decide(&judged, &judged.policy, access);
                assert_eq!(
                    decision.is_allowed(),
                    access.allowed,
                    "{name}, {}: {} must be {} (per {}), the evaluator says {decision:?}",
                    judged.label,
                    access.describe(),
                    if access.allowed { "allowed" } else { "denied" },
                    access.source
                );
                sources.insert(access.source);
            }
        }
        let documented = [CLOUDTRAIL_KEY, CLOUDTRAIL_BUCKET, LOGS_KEY, SNS_KEY, EBS_KEY, AUTO_SCALING_KEY, SESSION_KEY, SESSION_PROFILE, S3_LOG_DELIVERY];
        assert_eq!(sources, documented.into_iter().collect(), "{name}: every documented path has rows");
    }
}

/// In the home region, where the trail, its log group and the alarm topic live (the other regions'
/// keys carry the same template, and serve EBS and Session Manager).
#[test]
fn every_allow_statement_of_the_templates_serves_a_documented_path() {
    let caller = caller();
    let (_, baseline) = shipped().remove(0);
    let home_only = baseline.clone().with_regions(vec![baseline.home_region().clone()]).unwrap();
    for judged in judged(&home_only, &caller) {
        for (index, statement) in crate::policy::statements(&judged.policy).iter().enumerate() {
            if statement["Effect"] != "Allow" {
                continue;
            }
            let mut cut = judged.policy.clone();
            cut["Statement"].as_array_mut().unwrap().remove(index);
            let broken: Vec<String> =
                judged.accesses.iter().filter(|a| a.allowed && !decide(&judged, &cut, a).is_allowed()).map(Access::describe).collect();
            assert!(!broken.is_empty(), "{}: without {} no documented path breaks: the statement serves nothing", judged.label, statement["Sid"]);
        }
    }
}

#[test]
fn the_alarm_topic_key_is_scoped_to_the_baselines_alarms() {
    let caller = caller();
    let (_, baseline) = shipped().remove(0);
    let names = Names::new(&baseline, &caller);
    let home = baseline.home_region();
    let policy = baseline.templates.render(&baseline.baseline_key.as_ref().unwrap().policy_template, &names.vars(home));
    let alarm_rows: Vec<Access> = key_accesses(&names, home, &key_arn(home)).into_iter().filter(|a| a.source == SNS_KEY).collect();
    assert_eq!(alarm_rows.len(), 6, "two actions for the baseline's alarm, another account's, and a foreign alarm");
    let key = Judged { label: "key".into(), policy: policy.clone(), key: true, accesses: Vec::new() };
    // Without its conditions the statement would let CloudWatch use the key for any account's alarm.
    let mut unscoped = policy.clone();
    for statement in unscoped["Statement"].as_array_mut().unwrap() {
        if statement["Sid"] == "MamoriCloudWatchAlarmsPublishToEncryptedTopic" {
            statement.as_object_mut().unwrap().remove("Condition");
        }
    }
    let opened: Vec<String> = alarm_rows.iter().filter(|a| !a.allowed && decide(&key, &unscoped, a).is_allowed()).map(Access::describe).collect();
    assert_eq!(opened.len(), 4, "the confused-deputy rows catch an unscoped grant: {opened:?}");
}
