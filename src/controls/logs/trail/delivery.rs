//! Whether a trail delivers what it logs: log files to its S3 bucket, events to its CloudWatch Logs
//! group.
//!
//! `IsLogging` only says that the trail is switched on. A trail whose bucket policy or key policy
//! refuses CloudTrail says `IsLogging: true` and delivers nothing; `cloudtrail:GetTrailStatus` reports
//! it in `LatestDeliveryError` and `LatestCloudWatchLogsDeliveryError`, and in the times of the last
//! deliveries (<https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_GetTrailStatus.html>).
//! CIS asks for events delivered to CloudWatch Logs within the last day (the AWS Foundations
//! Benchmark's CloudWatch Logs integration check reads `LatestCloudWatchLogsDeliveryTime`); mamori asks
//! the same of both channels, so a channel is
//! - failing when AWS reports an error (the finding quotes it),
//! - stale when it delivered nothing for [`RECENT_HOURS`] hours, or never in the
//!   [`RECENT_HOURS`] hours since logging started,
//! - fine otherwise: delivering, or a fresh trail that has not delivered yet.
//!
//! A channel the trail does not use, or a trail that does not log, has no delivery to judge: its
//! settings say what is wrong. Pure: the caller passes the status and the time.

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::{Serialize, Serializer};

/// Delivery older than this many hours is stale.
pub const RECENT_HOURS: i64 = 24;

/// How one delivery channel of a trail is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Delivered within the last [`RECENT_HOURS`] hours.
    Delivering,
    /// Logging started less than [`RECENT_HOURS`] hours ago and nothing was delivered yet.
    NotDeliveredYet,
    /// Nothing to judge: the channel is not configured, or the trail does not log.
    NotApplicable(&'static str),
    /// Nothing delivered for over [`RECENT_HOURS`] hours; the last delivery, if any.
    Stale(Option<String>),
    /// AWS reports this delivery error.
    Failing(String),
}

impl Health {
    /// What the channel should be: delivering, unless it is fine as it is.
    pub fn desired(&self) -> Health {
        match self {
            Health::Stale(_) | Health::Failing(_) => Health::Delivering,
            fine => fine.clone(),
        }
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Health::Delivering => write!(f, "delivering"),
            Health::NotDeliveredYet => write!(f, "nothing delivered yet: logging started less than {RECENT_HOURS} hours ago"),
            Health::NotApplicable(why) => write!(f, "{why}"),
            Health::Stale(Some(last)) => write!(f, "stale: nothing delivered for over {RECENT_HOURS} hours (last delivery {last})"),
            Health::Stale(None) => write!(f, "stale: nothing delivered in the {RECENT_HOURS} hours since logging started"),
            Health::Failing(error) => write!(f, "failing: {error}"),
        }
    }
}

impl Serialize for Health {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// What `GetTrailStatus` says about one channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Channel<'a> {
    /// The trail uses this channel (a CloudWatch Logs group is set; S3 always is).
    pub configured: bool,
    /// Time of the latest delivery.
    pub delivered: Option<&'a DateTime>,
    /// The latest delivery error, as AWS words it.
    pub error: Option<&'a str>,
}

/// The health of `channel` of a trail that is `logging` since `started`, at `now`.
pub fn health(channel: &Channel<'_>, logging: bool, started: Option<&DateTime>, now: &DateTime) -> Health {
    let recent = |at: &DateTime| now.secs() - at.secs() < RECENT_HOURS * 3600;
    if !channel.configured {
        return Health::NotApplicable("not configured");
    }
    if let Some(error) = channel.error.filter(|e| !e.trim().is_empty()) {
        return Health::Failing(error.to_string());
    }
    if !logging {
        return Health::NotApplicable("not logging");
    }
    match (channel.delivered, started) {
        (Some(delivered), _) if recent(delivered) => Health::Delivering,
        (delivered, Some(started)) if recent(started) && delivered.is_none_or(|d| d.secs() < started.secs()) => Health::NotDeliveredYet,
        (delivered, _) => Health::Stale(delivered.map(|d| d.fmt(Format::DateTime).unwrap_or_else(|_| d.secs().to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn hours_ago(hours: i64) -> DateTime {
        DateTime::from_secs(NOW - hours * 3600)
    }

    fn delivered(at: &DateTime) -> Channel<'_> {
        Channel { configured: true, delivered: Some(at), error: None }
    }

    fn check(channel: &Channel<'_>, logging: bool, started: Option<&DateTime>) -> Health {
        health(channel, logging, started, &DateTime::from_secs(NOW))
    }

    #[test]
    fn a_recent_delivery_is_fine() {
        let (started, last) = (hours_ago(300), hours_ago(1));
        assert_eq!(check(&delivered(&last), true, Some(&started)), Health::Delivering);
        assert_eq!(Health::Delivering.desired(), Health::Delivering);
    }

    #[test]
    fn a_delivery_error_fails_with_the_error_aws_gives() {
        let last = hours_ago(1);
        let refused = Channel { error: Some("AccessDenied"), ..delivered(&last) };
        let health = check(&refused, true, Some(&last));
        assert_eq!(health, Health::Failing("AccessDenied".into()));
        assert_eq!(health.to_string(), "failing: AccessDenied");
        assert_eq!(health.desired(), Health::Delivering);
        let blank = Channel { error: Some(""), ..delivered(&last) };
        assert_eq!(check(&blank, true, Some(&last)), Health::Delivering, "an empty error is no error");
    }

    #[test]
    fn nothing_delivered_for_a_day_is_stale() {
        let (started, last) = (hours_ago(300), hours_ago(30));
        let stale = check(&delivered(&last), true, Some(&started));
        assert!(matches!(&stale, Health::Stale(Some(at)) if at.starts_with("2027-01-")), "{stale:?}");
        assert_eq!(stale.desired(), Health::Delivering);
        assert_eq!(check(&Channel { configured: true, ..Channel::default() }, true, Some(&started)), Health::Stale(None), "never delivered");
    }

    #[test]
    fn a_fresh_trail_that_has_not_delivered_yet_is_not_a_failure() {
        let started = hours_ago(2);
        let fresh = check(&Channel { configured: true, ..Channel::default() }, true, Some(&started));
        assert_eq!(fresh, Health::NotDeliveredYet);
        assert_eq!(fresh.desired(), fresh);
        let before_restart = hours_ago(40);
        assert_eq!(check(&delivered(&before_restart), true, Some(&started)), Health::NotDeliveredYet, "logging restarted two hours ago");
    }

    #[test]
    fn nothing_to_judge_without_the_channel_or_logging() {
        let last = hours_ago(100);
        assert_eq!(check(&Channel::default(), true, Some(&last)), Health::NotApplicable("not configured"));
        let stopped = check(&delivered(&last), false, Some(&last));
        assert_eq!(stopped, Health::NotApplicable("not logging"));
        assert_eq!(stopped.desired(), stopped, "the trail's `logging` setting reports it");
    }
}
