//! `logs.alarms`: the CIS 4.x metric filters on the log group that receives the account's CloudTrail
//! events, one alarm on each, all to an SNS topic encrypted with the baseline key, and someone who
//! receives them.
//!
//! The patterns are [`cis_filters::FILTERS`] (each unit-tested against sample CloudTrail events).
//! Filters and alarms are named `mamori-cis-<slug>` and written with `PutMetricFilter`/`PutMetricAlarm`,
//! which create or replace; filters and alarms of other names are never touched. An alarm is checked
//! whole: its metric, statistic, comparison, threshold, period and evaluation periods, that it
//! notifies the topic (other actions are kept) and that its actions are enabled — one
//! `DisableAlarmActions` call silences an alarm without changing anything else (FSBP CloudWatch.17);
//! re-enabling them is one `EnableAlarmActions` for every alarm that needs it. The baseline's
//! subscriptions are only added, and a subscription that waits for its recipient's confirmation
//! counts as added (it is not sent again) but not as someone notified ([`subscribers`]): a topic
//! without a confirmed subscriber is `manual`, with the commands that add one.
//!
//! The filters go where the events land ([`home`]): the trail's log group, which belongs to
//! `logs.trail` (until it exists there is nothing to filter, and `apply` says so instead of creating
//! it). In a member account that its organization trail records, the events land in the management
//! account: nothing is demanded here, and the finding says where the alarms belong.

pub mod cis_filters;
pub mod filter_pattern;
pub mod home;
pub mod subscribers;

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm, Statistic};
use aws_sdk_cloudwatchlogs::types::{MetricFilter, MetricTransformation};
use serde::Serialize;
use serde_json::Value;

use crate::aws::{AwsError, NameCall};
use crate::baseline::{Alarms as Settings, Baseline};
use crate::controls::kms::baseline_key;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::fleet::Placement;
use crate::inventory::{log_groups, organization, trails};
use crate::report::Action;
use cis_filters::{CisFilter, FILTERS};
use home::Home;
use subscribers::{Subscribers, Subscription};
use crate::least_privilege::{arn, Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "logs.alarms",
    source: file!(),
    title: "CIS metric filters and alarms on the trail's log group, to an encrypted SNS topic with a confirmed subscriber",
    fix: Fix::Automatic,
    scope: Scope::Account,
    cis_v5: &["4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "4.8", "4.9", "4.10", "4.11", "4.12", "4.13", "4.14", "4.15"],
    fsbp: &["CloudWatch.1", "CloudWatch.2", "CloudWatch.3", "CloudWatch.4", "CloudWatch.5", "CloudWatch.6", "CloudWatch.7", "CloudWatch.8", "CloudWatch.9", "CloudWatch.10", "CloudWatch.11", "CloudWatch.12", "CloudWatch.13", "CloudWatch.14"],
    depends_on: &["kms.baseline-key", "logs.trail"],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::on(&["logs:DescribeMetricFilters"], &[arn::LOG_GROUP, arn::LOG_GROUP_STREAMS]),
        Grant::on(&["cloudwatch:DescribeAlarms"], &[arn::ALARMS]),
        Grant::on(&["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"], &[arn::TOPIC]),
    ],
    shared: &[crate::inventory::trails::READS, crate::inventory::organization::READS, crate::inventory::log_groups::READS],
    apply: &[
        Grant::on(&["logs:PutMetricFilter"], &[arn::LOG_GROUP, arn::LOG_GROUP_STREAMS]),
        Grant::on(&["cloudwatch:PutMetricAlarm", "cloudwatch:EnableAlarmActions"], &[arn::MAMORI_ALARMS]),
        Grant::on(&["sns:CreateTopic", "sns:SetTopicAttributes", "sns:Subscribe"], &[arn::TOPIC]),
    ],
};

/// Filters and alarms are named `NAME_PREFIX` + slug; the baseline key lets CloudWatch use it only for
/// alarms of this prefix (`crate::service_access`).
pub const NAME_PREFIX: &str = "mamori-cis-";
const NAMESPACE: &str = "mamori/CISBenchmark";
const PERIOD_SECONDS: i32 = 300;
const EVALUATION_PERIODS: i32 = 1;
const THRESHOLD: f64 = 1.0;
/// What each matching event adds to the metric.
const METRIC_VALUE: &str = "1";

pub struct LogAlarms;

/// The topic the alarms notify.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopicState {
    pub exists: bool,
    pub kms_key: Option<String>,
    /// `protocol:endpoint` of each subscription, confirmed or not.
    pub subscriptions: Vec<String>,
}

/// One alarm, as findings show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlarmSettings {
    /// `namespace/metric` it watches (dimensions in brackets).
    pub metric: String,
    /// `Sum >= 1 per 300 s, 1 of 1 periods`.
    pub condition: String,
    /// What it notifies in alarm.
    pub actions: Vec<String>,
    pub actions_enabled: bool,
}

/// One CIS activity: its metric filter and its alarm.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CisAlarmState {
    pub filter_pattern: Option<String>,
    /// `namespace/metric += value`: what the filter counts into.
    pub metric: Option<String>,
    pub alarm: Option<AlarmSettings>,
}

/// The filters, alarms, topic and subscribers on a log group of this account.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LocalAlarms {
    #[serde(skip)]
    pub log_group: String,
    pub log_group_exists: bool,
    pub topic: TopicState,
    pub subscribers: Subscribers,
    pub alarms: BTreeMap<String, CisAlarmState>,
}

/// An organization trail delivers this account's events to another account's log group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordedElsewhere {
    pub recorded_by: String,
    /// The organization trail delivers to a CloudWatch Logs group (`log_group`).
    pub delivers_to_cloudwatch_logs: bool,
    pub log_group: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AlarmsState {
    Here(LocalAlarms),
    Elsewhere(RecordedElsewhere),
}

fn settings<'a>(ctx: &Context<'a>) -> &'a Settings {
    ctx.baseline.alarms.as_ref().expect("the engine only runs enabled controls")
}

fn topic_arn(ctx: &Context<'_>, target: &Target) -> String {
    format!("arn:{}:sns:{}:{}:{}", ctx.caller.partition, target.region, ctx.caller.account_id, settings(ctx).topic)
}

fn filter_metric(filter: &CisFilter) -> String {
    format!("{NAMESPACE}/{} += {METRIC_VALUE}", filter.slug)
}

fn comparison(operator: &ComparisonOperator) -> &str {
    match operator {
        ComparisonOperator::GreaterThanOrEqualToThreshold => ">=",
        ComparisonOperator::GreaterThanThreshold => ">",
        ComparisonOperator::LessThanOrEqualToThreshold => "<=",
        ComparisonOperator::LessThanThreshold => "<",
        other => other.as_str(),
    }
}

fn condition(statistic: &str, operator: &str, threshold: f64, period: i32, datapoints: i32, evaluation_periods: i32) -> String {
    format!("{statistic} {operator} {threshold} per {period} s, {datapoints} of {evaluation_periods} periods")
}

/// An alarm as [`AlarmSettings`] shows it.
fn alarm_settings(alarm: &MetricAlarm) -> AlarmSettings {
    let metric = match (alarm.namespace(), alarm.metric_name()) {
        (Some(namespace), Some(name)) => {
            let dimensions: Vec<String> = alarm.dimensions().iter().map(|d| format!("{}={}", d.name().unwrap_or_default(), d.value().unwrap_or_default())).collect();
            match dimensions.is_empty() {
                true => format!("{namespace}/{name}"),
                false => format!("{namespace}/{name} [{}]", dimensions.join(", ")),
            }
        }
        _ => "(metric math)".to_string(),
    };
    let statistic = alarm.statistic().map(|s| s.as_str().to_string()).or_else(|| alarm.extended_statistic().map(str::to_string)).unwrap_or_else(|| "?".into());
    let evaluation_periods = alarm.evaluation_periods().unwrap_or(0);
    let mut actions = alarm.alarm_actions().to_vec();
    actions.sort();
    AlarmSettings {
        metric,
        condition: condition(
            &statistic,
            alarm.comparison_operator().map_or("?", comparison),
            alarm.threshold().unwrap_or(f64::NAN),
            alarm.period().unwrap_or(0),
            alarm.datapoints_to_alarm().unwrap_or(evaluation_periods),
            evaluation_periods,
        ),
        actions,
        actions_enabled: alarm.actions_enabled().unwrap_or(true),
    }
}

async fn observe_topic(ctx: &Context<'_>, target: &Target) -> Result<(TopicState, Vec<Subscription>), AwsError> {
    let sns = ctx.aws.sns(target.region.as_str());
    let arn = topic_arn(ctx, target);
    let attributes = match sns.get_topic_attributes().topic_arn(&arn).send().await {
        Ok(out) => out.attributes().cloned().unwrap_or_default(),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found_exception()) => {
            return Ok((TopicState { exists: false, kms_key: None, subscriptions: Vec::new() }, Vec::new()))
        }
        Err(e) => return Err(AwsError::from_sdk("sns:GetTopicAttributes", e)),
    };
    let mut listed = Vec::new();
    let mut pages = sns.list_subscriptions_by_topic().topic_arn(&arn).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.named("sns:ListSubscriptionsByTopic")?;
        listed.extend(
            page.subscriptions().iter().map(|s| Subscription::listed(s.protocol().unwrap_or_default(), s.endpoint().unwrap_or_default(), s.subscription_arn())),
        );
    }
    let mut subscriptions: Vec<String> = listed.iter().map(|s| s.target.clone()).collect();
    subscriptions.sort();
    Ok((TopicState { exists: true, kms_key: attributes.get("KmsMasterKeyId").cloned(), subscriptions }, listed))
}

/// Where the account's events land, from the trails the run already read.
async fn read_home(ctx: &Context<'_>, target: &Target) -> Result<Home, AwsError> {
    let visible = trails::read(ctx, target).await?;
    let org = organization::read(ctx).await?;
    let recorder = trails::organization_trail(&visible, &org, &trails::own_arn(ctx, target));
    Ok(home::home(recorder, &ctx.caller.account_id, target.region.as_str(), &ctx.baseline.trail_log_group))
}

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("states serialize")
}

#[async_trait]
impl Control for LogAlarms {
    type State = AlarmsState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    /// The alarms watch the organization trail's log group, in the management account of the organization layout.
    fn placement(&self) -> Placement {
        Placement::ManagementAccount
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.alarms.is_some() && baseline.trail.is_some()
    }

    fn resource(&self, ctx: &Context<'_>, _target: &Target) -> String {
        format!("log-group/{}", ctx.baseline.trail_log_group)
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<AlarmsState, AwsError> {
        let log_group = match read_home(ctx, target).await? {
            Home::Here(group) => group,
            Home::Elsewhere { trail, log_group } => {
                return Ok(AlarmsState::Elsewhere(RecordedElsewhere { recorded_by: trail, delivers_to_cloudwatch_logs: log_group.is_some(), log_group }))
            }
        };
        let region = target.region.as_str();
        // Every page of both lists (AWS pages them at 50): alarms or filters of someone else's under
        // mamori's prefix must not push the baseline's off the first page.
        let filters: Result<Vec<MetricFilter>, _> =
            ctx.aws.logs(region).describe_metric_filters().log_group_name(&log_group).filter_name_prefix(NAME_PREFIX).into_paginator().items().send().try_collect().await;
        let log_group_exists = log_groups::read(ctx, target, &log_group).await?.is_some();
        let filters: Vec<MetricFilter> = match filters {
            Ok(filters) => filters,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Vec::new(),
            Err(e) => return Err(AwsError::from_sdk("logs:DescribeMetricFilters", e)),
        };
        let pages: Vec<_> = ctx.aws.cloudwatch(region).describe_alarms().alarm_name_prefix(NAME_PREFIX).into_paginator().send().try_collect().await.named("cloudwatch:DescribeAlarms")?;
        let metric_alarms: Vec<_> = pages.iter().flat_map(|page| page.metric_alarms()).collect();
        let (topic, listed) = observe_topic(ctx, target).await?;

        let alarms = FILTERS
            .iter()
            .map(|filter| {
                let name = format!("{NAME_PREFIX}{}", filter.slug);
                let metric_filter = filters.iter().find(|f| f.filter_name() == Some(name.as_str()));
                let alarm = metric_alarms.iter().copied().find(|a| a.alarm_name() == Some(name.as_str()));
                let state = CisAlarmState {
                    filter_pattern: metric_filter.and_then(|f| f.filter_pattern()).map(str::to_string),
                    metric: metric_filter
                        .and_then(|f| f.metric_transformations().first())
                        .map(|t| format!("{}/{} += {}", t.metric_namespace(), t.metric_name(), t.metric_value())),
                    alarm: alarm.map(alarm_settings),
                };
                (filter.slug.to_string(), state)
            })
            .collect();
        Ok(AlarmsState::Here(LocalAlarms { log_group, log_group_exists, topic, subscribers: Subscribers::of(&listed), alarms }))
    }

    fn desired(&self, ctx: &Context<'_>, target: &Target, observed: &AlarmsState, facts: &Facts) -> AlarmsState {
        let current = match observed {
            AlarmsState::Here(current) => current,
            AlarmsState::Elsewhere(elsewhere) => return AlarmsState::Elsewhere(RecordedElsewhere { delivers_to_cloudwatch_logs: true, ..elsewhere.clone() }),
        };
        let arn = topic_arn(ctx, target);
        let mut subscriptions = current.topic.subscriptions.clone();
        for (protocol, endpoint) in &settings(ctx).subscriptions {
            let wanted = format!("{protocol}:{endpoint}");
            if !subscriptions.contains(&wanted) {
                subscriptions.push(wanted);
            }
        }
        subscriptions.sort();
        let alarms = FILTERS
            .iter()
            .map(|filter| {
                let mut actions = current.alarms.get(filter.slug).and_then(|a| a.alarm.as_ref()).map(|a| a.actions.clone()).unwrap_or_default();
                if !actions.contains(&arn) {
                    actions.push(arn.clone());
                    actions.sort();
                }
                let state = CisAlarmState {
                    filter_pattern: Some(filter.pattern.to_string()),
                    metric: Some(filter_metric(filter)),
                    alarm: Some(AlarmSettings {
                        metric: format!("{NAMESPACE}/{}", filter.slug),
                        condition: condition("Sum", ">=", THRESHOLD, PERIOD_SECONDS, EVALUATION_PERIODS, EVALUATION_PERIODS),
                        actions,
                        actions_enabled: true,
                    }),
                };
                (filter.slug.to_string(), state)
            })
            .collect();
        AlarmsState::Here(LocalAlarms {
            log_group: current.log_group.clone(),
            log_group_exists: true,
            topic: TopicState {
                exists: true,
                kms_key: baseline_key::key_reference(ctx, facts, &target.region).or_else(|| current.topic.kms_key.clone()),
                subscriptions,
            },
            subscribers: current.subscribers.desired(),
            alarms,
        })
    }

    fn parts(&self, ctx: &Context<'_>, _target: &Target, observed: &AlarmsState, desired: &AlarmsState) -> Vec<Part> {
        let (current, wanted) = match (observed, desired) {
            (AlarmsState::Here(current), AlarmsState::Here(wanted)) => (current, wanted),
            (elsewhere, wanted) => {
                let group = match elsewhere {
                    AlarmsState::Elsewhere(RecordedElsewhere { log_group: Some(group), .. }) => group.clone(),
                    _ => "(none)".into(),
                };
                return vec![Part { resource: format!("log-group/{group}"), observed: json(elsewhere), desired: json(wanted), action: Action::Update, fix: Some(Fix::Manual) }];
            }
        };
        let topic = &settings(ctx).topic;
        let topic_json = |alarms: &LocalAlarms| {
            let mut value = json(&alarms.topic);
            value["log_group_exists"] = Value::Bool(alarms.log_group_exists);
            value
        };
        let mut parts = vec![
            Part {
                resource: format!("topic/{topic}"),
                observed: topic_json(current),
                desired: topic_json(wanted),
                action: if current.topic.exists { Action::Update } else { Action::Create },
                fix: None,
            },
            Part {
                resource: format!("topic/{topic}/subscribers"),
                observed: json(&current.subscribers),
                desired: json(&wanted.subscribers),
                action: Action::Update,
                fix: Some(Fix::Manual),
            },
        ];
        parts.extend(Part::by_key(&format!("alarm/{NAME_PREFIX}"), &current.alarms, &wanted.alarms).into_iter().map(|mut part| {
            let created = part.observed.get("alarm").is_none_or(Value::is_null);
            part.action = if created { Action::Create } else { Action::Update };
            part
        }));
        parts
    }

    fn pass_reason(&self, _ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        let trail = part.observed.get("recorded_by")?.as_str()?;
        let group = part.observed.get("log_group")?.as_str()?;
        let owner = trails::arn_account(group).unwrap_or("another account");
        Some(format!(
            "the organization trail {trail} delivers this account's events to {group}, in account {owner}: the alarms belong \
             there (`mamori apply --only logs.alarms` in that account), not in this one"
        ))
    }

    fn manual_steps(&self, ctx: &Context<'_>, target: &Target, part: &Part) -> Option<String> {
        if let Some(trail) = part.observed.get("recorded_by").and_then(Value::as_str) {
            let owner = trails::arn_account(trail).unwrap_or("the management account");
            return Some(format!(
                "The organization trail {trail} records this account but delivers to no CloudWatch Logs group, so no alarm can \
                 see its events. In account {owner}: configure CloudWatch Logs delivery on the trail (`mamori apply --only \
                 logs.trail` there, when mamori manages it), then set the alarms there (`mamori apply --only logs.alarms`)."
            ));
        }
        let pending: Vec<String> = part
            .observed
            .get("pending_confirmation")?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        Some(subscribers::steps(&topic_arn(ctx, target), &pending))
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &AlarmsState, desired: &AlarmsState) -> Result<(), ControlError> {
        let (AlarmsState::Here(current), AlarmsState::Here(wanted)) = (observed, desired) else {
            // The events land in another account: nothing of this account is changed.
            return Ok(());
        };
        // Read again (through the memo): `logs.trail` may have created the group earlier in this run.
        if log_groups::read(ctx, target, &current.log_group).await?.is_none() {
            return Err(ControlError::Precondition(format!(
                "the trail's log group {} does not exist: logs.trail must deliver to it first",
                current.log_group
            )));
        }
        let region = target.region.as_str();
        let sns = ctx.aws.sns(region);
        let arn = topic_arn(ctx, target);
        let key = wanted.topic.kms_key.clone().filter(|k| baseline_key::is_key_arn(k));
        if !current.topic.exists {
            let key = key.clone().ok_or_else(|| baseline_key::key_missing(&target.region))?;
            sns.create_topic().name(&settings(ctx).topic).attributes("KmsMasterKeyId", key).send().await.named("sns:CreateTopic")?;
        } else if current.topic.kms_key != wanted.topic.kms_key {
            let key = key.ok_or_else(|| baseline_key::key_missing(&target.region))?;
            sns.set_topic_attributes()
                .topic_arn(&arn)
                .attribute_name("KmsMasterKeyId")
                .attribute_value(key)
                .send()
                .await
                .named("sns:SetTopicAttributes")?;
        }
        for (protocol, endpoint) in &settings(ctx).subscriptions {
            if !current.topic.subscriptions.contains(&format!("{protocol}:{endpoint}")) {
                sns.subscribe().topic_arn(&arn).protocol(protocol).endpoint(endpoint).send().await.named("sns:Subscribe")?;
            }
        }
        let logs = ctx.aws.logs(region);
        let cloudwatch = ctx.aws.cloudwatch(region);
        let mut silenced = Vec::new();
        for filter in FILTERS {
            let name = format!("{NAME_PREFIX}{}", filter.slug);
            let (now, then) = (&current.alarms[filter.slug], &wanted.alarms[filter.slug]);
            if (&now.filter_pattern, &now.metric) != (&then.filter_pattern, &then.metric) {
                let transformation = MetricTransformation::builder()
                    .metric_name(filter.slug)
                    .metric_namespace(NAMESPACE)
                    .metric_value(METRIC_VALUE)
                    .build()
                    .expect("name, namespace and value set");
                logs.put_metric_filter()
                    .log_group_name(&current.log_group)
                    .filter_name(&name)
                    .filter_pattern(filter.pattern)
                    .metric_transformations(transformation)
                    .send()
                    .await
                    .named("logs:PutMetricFilter")?;
            }
            let (Some(alarm), Some(wanted_alarm)) = (&now.alarm, &then.alarm) else {
                put_alarm(&cloudwatch, filter, then.alarm.as_ref().expect("desired alarms are set")).await?;
                continue;
            };
            if (AlarmSettings { actions_enabled: true, ..alarm.clone() }) != *wanted_alarm {
                put_alarm(&cloudwatch, filter, wanted_alarm).await?;
            } else if !alarm.actions_enabled {
                silenced.push(name);
            }
        }
        if !silenced.is_empty() {
            cloudwatch.enable_alarm_actions().set_alarm_names(Some(silenced)).send().await.named("cloudwatch:EnableAlarmActions")?;
        }
        Ok(())
    }
}

/// `PutMetricAlarm` for `filter`'s alarm, as `wanted` says (actions enabled).
async fn put_alarm(cloudwatch: &aws_sdk_cloudwatch::Client, filter: &CisFilter, wanted: &AlarmSettings) -> Result<(), ControlError> {
    cloudwatch
        .put_metric_alarm()
        .alarm_name(format!("{NAME_PREFIX}{}", filter.slug))
        .alarm_description(match filter.fsbp {
            Some(control) => format!("CIS {} (Security Hub {control}): {}", filter.cis, filter.slug),
            None => format!("CIS {}: {}", filter.cis, filter.slug),
        })
        .metric_name(filter.slug)
        .namespace(NAMESPACE)
        .statistic(Statistic::Sum)
        .period(PERIOD_SECONDS)
        .evaluation_periods(EVALUATION_PERIODS)
        .datapoints_to_alarm(EVALUATION_PERIODS)
        .threshold(THRESHOLD)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .treat_missing_data("notBreaching")
        .actions_enabled(true)
        .set_alarm_actions(Some(wanted.actions.clone()))
        .send()
        .await
        .named("cloudwatch:PutMetricAlarm")?;
    Ok(())
}
