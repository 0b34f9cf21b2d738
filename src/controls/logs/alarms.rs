//! `logs.alarms`: the CIS 4.x metric filters on the trail's log group, one alarm on each, all to an SNS
//! topic encrypted with the baseline key, with the baseline's subscriptions.
//!
//! The patterns are [`cis_filters::FILTERS`] (each unit-tested against sample CloudTrail events).
//! Filters and alarms are named `mamori-cis-<slug>` and written with `PutMetricFilter`/`PutMetricAlarm`,
//! which create or replace; filters and alarms of other names are never touched, subscriptions are only
//! added. The log group belongs to `logs.trail`: until it exists there is nothing to filter, and `apply`
//! says so instead of creating it.

pub mod cis_filters;
pub mod filter_pattern;

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use aws_sdk_cloudwatchlogs::types::MetricTransformation;
use serde::Serialize;

use crate::aws::{AwsError, NameCall};
use crate::baseline::{Alarms as Settings, Baseline};
use cis_filters::{CisFilter, FILTERS};
use crate::controls::kms::baseline_key;
use crate::inventory::log_groups;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::report::Action;

static META: ControlMeta = ControlMeta {
    id: "logs.alarms",
    source: file!(),
    title: "CIS metric filters and alarms on the trail's log group, to an encrypted SNS topic",
    fix: Fix::Automatic,
    scope: Scope::Account,
    cis_v5: &["4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "4.8", "4.9", "4.10", "4.11", "4.12", "4.13", "4.14", "4.15"],
    fsbp: &["CloudWatch.1", "CloudWatch.2", "CloudWatch.3", "CloudWatch.4", "CloudWatch.5", "CloudWatch.6", "CloudWatch.7", "CloudWatch.8", "CloudWatch.9", "CloudWatch.10", "CloudWatch.11", "CloudWatch.12", "CloudWatch.13", "CloudWatch.14"],
    depends_on: &["kms.baseline-key", "logs.trail"],
};

/// Filters and alarms are named `NAME_PREFIX` + slug; the baseline key lets CloudWatch use it only for
/// alarms of this prefix (`crate::service_access`).
pub const NAME_PREFIX: &str = "mamori-cis-";
const NAMESPACE: &str = "mamori/CISBenchmark";
const PERIOD_SECONDS: i32 = 300;

pub struct LogAlarms;

/// The topic and where the filters go.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopicState {
    pub log_group_exists: bool,
    pub topic_exists: bool,
    pub topic_kms_key: Option<String>,
    /// `protocol:endpoint` of each subscription.
    pub subscriptions: Vec<String>,
}

/// One CIS activity: its metric filter and its alarm.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CisAlarmState {
    pub filter_pattern: Option<String>,
    /// `namespace/metric` the filter counts into.
    pub metric: Option<String>,
    /// The alarm, summarised: statistic, threshold, period and action.
    pub alarm: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlarmsState {
    pub topic: TopicState,
    pub alarms: BTreeMap<String, CisAlarmState>,
}

fn settings<'a>(ctx: &Context<'a>) -> &'a Settings {
    ctx.baseline.alarms.as_ref().expect("the engine only runs enabled controls")
}

fn topic_arn(ctx: &Context<'_>, target: &Target) -> String {
    format!("arn:{}:sns:{}:{}:{}", ctx.caller.partition, target.region, ctx.caller.account_id, settings(ctx).topic)
}

fn metric(filter: &CisFilter) -> String {
    format!("{NAMESPACE}/{}", filter.slug)
}

fn alarm_summary(statistic: &str, threshold: f64, period: i32, action: &str) -> String {
    format!("{statistic} >= {threshold} per {period}s, then notify {action}")
}

async fn observe_topic(ctx: &Context<'_>, target: &Target) -> Result<(bool, Option<String>, Vec<String>), AwsError> {
    let sns = ctx.aws.sns(target.region.as_str());
    let arn = topic_arn(ctx, target);
    let attributes = match sns.get_topic_attributes().topic_arn(&arn).send().await {
        Ok(out) => out.attributes().cloned().unwrap_or_default(),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found_exception()) => return Ok((false, None, Vec::new())),
        Err(e) => return Err(AwsError::from_sdk("sns:GetTopicAttributes", e)),
    };
    let subscriptions = sns.list_subscriptions_by_topic().topic_arn(&arn).send().await.named("sns:ListSubscriptionsByTopic")?;
    let mut subscribed: Vec<String> = subscriptions
        .subscriptions()
        .iter()
        .map(|s| format!("{}:{}", s.protocol().unwrap_or_default(), s.endpoint().unwrap_or_default()))
        .collect();
    subscribed.sort();
    Ok((true, attributes.get("KmsMasterKeyId").cloned(), subscribed))
}

#[async_trait]
impl Control for LogAlarms {
    type State = AlarmsState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.alarms.is_some() && baseline.trail.is_some()
    }

    fn resource(&self, ctx: &Context<'_>, _target: &Target) -> String {
        format!("log-group/{}", ctx.baseline.trail_log_group)
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<AlarmsState, AwsError> {
        let region = target.region.as_str();
        let filters = ctx
            .aws
            .logs(region)
            .describe_metric_filters()
            .log_group_name(&ctx.baseline.trail_log_group)
            .filter_name_prefix(NAME_PREFIX)
            .send()
            .await;
        let log_group_exists = log_groups::read_trail_log_group(ctx, target).await?.is_some();
        let filters = match filters {
            Ok(out) => out.metric_filters().to_vec(),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Vec::new(),
            Err(e) => return Err(AwsError::from_sdk("logs:DescribeMetricFilters", e)),
        };
        let described = ctx.aws.cloudwatch(region).describe_alarms().alarm_name_prefix(NAME_PREFIX).send().await.named("cloudwatch:DescribeAlarms")?;
        let (topic_exists, topic_kms_key, subscriptions) = observe_topic(ctx, target).await?;

        let mut alarms = BTreeMap::new();
        for filter in FILTERS {
            let name = format!("{NAME_PREFIX}{}", filter.slug);
            let metric_filter = filters.iter().find(|f| f.filter_name() == Some(name.as_str()));
            let alarm = described.metric_alarms().iter().find(|a| a.alarm_name() == Some(name.as_str()));
            alarms.insert(
                filter.slug.to_string(),
                CisAlarmState {
                    filter_pattern: metric_filter.and_then(|f| f.filter_pattern()).map(str::to_string),
                    metric: metric_filter
                        .and_then(|f| f.metric_transformations().first())
                        .map(|t| format!("{}/{}", t.metric_namespace(), t.metric_name())),
                    alarm: alarm.map(|a| {
                        alarm_summary(
                            a.statistic().map_or("?", |s| s.as_str()),
                            a.threshold().unwrap_or(0.0),
                            a.period().unwrap_or(0),
                            &a.alarm_actions().join(","),
                        )
                    }),
                },
            );
        }
        Ok(AlarmsState { topic: TopicState { log_group_exists, topic_exists, topic_kms_key, subscriptions }, alarms })
    }

    fn desired(&self, ctx: &Context<'_>, target: &Target, observed: &AlarmsState, facts: &Facts) -> AlarmsState {
        let arn = topic_arn(ctx, target);
        let mut subscriptions = observed.topic.subscriptions.clone();
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
                let state = CisAlarmState {
                    filter_pattern: Some(filter.pattern.to_string()),
                    metric: Some(metric(filter)),
                    alarm: Some(alarm_summary("Sum", 1.0, PERIOD_SECONDS, &arn)),
                };
                (filter.slug.to_string(), state)
            })
            .collect();
        AlarmsState {
            topic: TopicState {
                log_group_exists: true,
                topic_exists: true,
                topic_kms_key: baseline_key::key_reference(ctx, facts, &target.region).or_else(|| observed.topic.topic_kms_key.clone()),
                subscriptions,
            },
            alarms,
        }
    }

    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &AlarmsState, desired: &AlarmsState) -> Vec<Part> {
        let topic = Part {
            resource: format!("topic/{}", settings(ctx).topic),
            observed: serde_json::to_value(&observed.topic).expect("states serialize"),
            desired: serde_json::to_value(&desired.topic).expect("states serialize"),
            action: if observed.topic.topic_exists { Action::Update } else { Action::Create },
            fix: None,
        };
        let _ = target;
        let mut parts = vec![topic];
        parts.extend(Part::by_key("alarm/mamori-cis-", &observed.alarms, &desired.alarms).into_iter().map(|mut part| {
            let created = part.observed.get("alarm").is_none_or(serde_json::Value::is_null);
            part.action = if created { Action::Create } else { Action::Update };
            part
        }));
        parts
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &AlarmsState, desired: &AlarmsState) -> Result<(), ControlError> {
        // Read again (through the memo): `logs.trail` may have created the group earlier in this run.
        if log_groups::read_trail_log_group(ctx, target).await?.is_none() {
            return Err(ControlError::Precondition(format!(
                "the trail's log group {} does not exist: logs.trail must deliver to it first",
                ctx.baseline.trail_log_group
            )));
        }
        let region = target.region.as_str();
        let sns = ctx.aws.sns(region);
        let arn = topic_arn(ctx, target);
        let key = desired.topic.topic_kms_key.clone().filter(|k| baseline_key::is_key_arn(k));
        if !observed.topic.topic_exists {
            let key = key.clone().ok_or_else(|| baseline_key::key_missing(&target.region))?;
            sns.create_topic().name(&settings(ctx).topic).attributes("KmsMasterKeyId", key).send().await.named("sns:CreateTopic")?;
        } else if observed.topic.topic_kms_key != desired.topic.topic_kms_key {
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
            if !observed.topic.subscriptions.contains(&format!("{protocol}:{endpoint}")) {
                sns.subscribe().topic_arn(&arn).protocol(protocol).endpoint(endpoint).send().await.named("sns:Subscribe")?;
            }
        }
        let logs = ctx.aws.logs(region);
        let cloudwatch = ctx.aws.cloudwatch(region);
        for filter in FILTERS {
            let name = format!("{NAME_PREFIX}{}", filter.slug);
            let (current, wanted) = (&observed.alarms[filter.slug], &desired.alarms[filter.slug]);
            if (&current.filter_pattern, &current.metric) != (&wanted.filter_pattern, &wanted.metric) {
                let transformation = MetricTransformation::builder()
                    .metric_name(filter.slug)
                    .metric_namespace(NAMESPACE)
                    .metric_value("1")
                    .build()
                    .expect("name, namespace and value set");
                logs.put_metric_filter()
                    .log_group_name(&ctx.baseline.trail_log_group)
                    .filter_name(&name)
                    .filter_pattern(filter.pattern)
                    .metric_transformations(transformation)
                    .send()
                    .await
                    .named("logs:PutMetricFilter")?;
            }
            if current.alarm != wanted.alarm {
                cloudwatch
                    .put_metric_alarm()
                    .alarm_name(&name)
                    .alarm_description(format!("CIS {}: {}", filter.cis, filter.slug))
                    .metric_name(filter.slug)
                    .namespace(NAMESPACE)
                    .statistic(Statistic::Sum)
                    .period(PERIOD_SECONDS)
                    .evaluation_periods(1)
                    .threshold(1.0)
                    .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
                    .treat_missing_data("notBreaching")
                    .alarm_actions(&arn)
                    .send()
                    .await
                    .named("cloudwatch:PutMetricAlarm")?;
            }
        }
        Ok(())
    }
}
