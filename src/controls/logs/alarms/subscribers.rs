//! Who the alarm topic notifies: its subscriptions, confirmed or waiting for confirmation.
//!
//! An e-mail or HTTPS subscription receives nothing until its recipient confirms it through the link
//! SNS sends; until then `sns:ListSubscriptionsByTopic` lists it with the `SubscriptionArn`
//! `PendingConfirmation`, and SNS deletes it unconfirmed after 48 hours
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html>,
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-delete-subscription-topic.html>). An alarm topic
//! whose subscriptions are all pending notifies nobody, however many there are: CIS 4.x asks for at
//! least one active subscriber. A subscription counts as confirmed when AWS gave it an ARN. Pure.

use serde::Serialize;

/// One subscription as `ListSubscriptionsByTopic` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// `protocol:endpoint`: `email:security@example.com`.
    pub target: String,
    pub confirmed: bool,
}

impl Subscription {
    /// From the listing's protocol, endpoint and `SubscriptionArn` (`PendingConfirmation`, or
    /// `Deleted` for one removed while pending, until AWS forgets it).
    pub fn listed(protocol: &str, endpoint: &str, subscription_arn: Option<&str>) -> Subscription {
        Subscription { target: format!("{protocol}:{endpoint}"), confirmed: subscription_arn.is_some_and(|arn| arn.starts_with("arn:")) }
    }
}

/// Whether anyone receives the alarms, as findings show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Subscribers {
    /// At least one subscription is confirmed.
    pub someone_notified: bool,
    /// `protocol:endpoint` of each subscription its recipient has not confirmed yet.
    pub pending_confirmation: Vec<String>,
}

impl Subscribers {
    pub fn of(subscriptions: &[Subscription]) -> Subscribers {
        let mut pending: Vec<String> = subscriptions.iter().filter(|s| !s.confirmed).map(|s| s.target.clone()).collect();
        pending.sort();
        Subscribers { someone_notified: subscriptions.iter().any(|s| s.confirmed), pending_confirmation: pending }
    }

    /// Someone notified; the pending list is what it is.
    pub fn desired(&self) -> Subscribers {
        Subscribers { someone_notified: true, ..self.clone() }
    }
}

/// The steps that give the topic `topic_arn` a confirmed subscriber, for the `manual` finding.
pub fn steps(topic_arn: &str, pending: &[String]) -> String {
    let subscribe = format!(
        "`aws sns subscribe --topic-arn {topic_arn} --protocol email --notification-endpoint security@example.com` (or list \
         the address under logs.alarms.subscriptions in the baseline and run `mamori apply --only logs.alarms`)"
    );
    match pending {
        [] => format!(
            "Nobody receives the alarms: the topic has no confirmed subscription. Subscribe the team that answers them: \
             {subscribe}; the recipient then confirms through the link SNS sends."
        ),
        waiting => {
            let waiting = match waiting {
                [one] => format!("{one} waits for its recipient to confirm"),
                several => format!("{} wait for their recipients to confirm", several.join(", ")),
            };
            format!(
                "Nobody receives the alarms yet: {waiting} through the link SNS sent (SNS deletes an unconfirmed subscription \
                 after 48 hours; `mamori apply --only logs.alarms` then subscribes it again, which resends the link). Or \
                 subscribe another recipient: {subscribe}."
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:us-east-1:111111111111:mamori-security-alarms";

    #[test]
    fn pending_subscriptions_notify_nobody() {
        let pending = [Subscription::listed("email", "security@example.com", Some("PendingConfirmation")), Subscription::listed("https", "https://hooks.example.com/aws", Some("PendingConfirmation"))];
        let subscribers = Subscribers::of(&pending);
        assert!(!subscribers.someone_notified);
        assert_eq!(subscribers.pending_confirmation, ["email:security@example.com", "https:https://hooks.example.com/aws"]);
        assert_ne!(subscribers, subscribers.desired());
        let steps = steps(TOPIC, &subscribers.pending_confirmation);
        assert!(steps.contains("email:security@example.com, https:https://hooks.example.com/aws wait for their recipients to confirm"), "{steps}");
        assert!(super::steps(TOPIC, &subscribers.pending_confirmation[..1]).contains("email:security@example.com waits for its recipient"));
    }

    #[test]
    fn one_confirmed_subscription_is_enough() {
        let listed = [
            Subscription::listed("email", "security@example.com", Some("PendingConfirmation")),
            Subscription::listed("sqs", "arn:aws:sqs:us-east-1:111111111111:alarms", Some(&format!("{TOPIC}:0b1c2d3e"))),
        ];
        let subscribers = Subscribers::of(&listed);
        assert!(subscribers.someone_notified);
        assert_eq!(subscribers, subscribers.desired());
    }

    #[test]
    fn no_subscription_and_deleted_ones_notify_nobody() {
        assert!(!Subscribers::of(&[]).someone_notified);
        assert!(steps(TOPIC, &[]).contains(&format!("aws sns subscribe --topic-arn {TOPIC}")));
        assert!(!Subscribers::of(&[Subscription::listed("email", "a@example.com", Some("Deleted"))]).someone_notified);
        assert!(!Subscribers::of(&[Subscription::listed("email", "a@example.com", None)]).someone_notified);
    }
}
