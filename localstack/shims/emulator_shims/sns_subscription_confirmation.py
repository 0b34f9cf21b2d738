"""E-mail and HTTP(S) subscriptions wait for their recipient's confirmation (AWS rule, moto).

AWS (https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html,
https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html): a subscription of protocol email,
email-json, http or https is pending until its recipient confirms it through the link (the token)
SNS sends to the endpoint. Until then Subscribe answers "pending confirmation",
ListSubscriptionsByTopic and ListSubscriptions list it with the SubscriptionArn "PendingConfirmation",
and it receives nothing. moto confirms every subscription at once.

Here, as on AWS, such subscriptions stay pending (the other protocols, sqs and lambda for instance,
are confirmed at once, as on AWS for a same-account endpoint). Scaffolding (AWS has no such action;
mamori never sends it): the recipient's click on the link, `Action=MamoriEmulatorConfirmSubscription`
with `TopicArn` and `Endpoint`, sent by `emulator.py confirm-subscription`.
"""

from .emulator_actions import add_action

CONFIRMATION_PROTOCOLS = ("email", "email-json", "http", "https")
CONFIRM_ACTION = "MamoriEmulatorConfirmSubscription"


def _pending(subscription):
    return getattr(subscription, "mamori_pending", False)


def _pending_until_confirmed(subscribe):
    def pending_subscribe(self, topic_arn, endpoint, protocol):
        existing = self._find_subscription(topic_arn, endpoint, protocol)
        subscription = subscribe(self, topic_arn, endpoint, protocol)
        if existing is None and protocol in CONFIRMATION_PROTOCOLS:
            subscription.mamori_pending = True
            subscription.attributes["PendingConfirmation"] = "true"
        return subscription

    return pending_subscribe


def _listed(subscription):
    return {
        "SubscriptionArn": "PendingConfirmation" if _pending(subscription) else subscription.arn,
        "Owner": subscription.owner,
        "Protocol": subscription.protocol,
        "Endpoint": subscription.endpoint,
        "TopicArn": subscription.topic.arn,
    }


def _listing(name, backend_list):
    def listing(self):
        from moto.core.responses import ActionResult

        next_token = self._get_param("NextToken")
        if name == "list_subscriptions_by_topic":
            subscriptions, next_token = backend_list(self.backend, self._get_param("TopicArn"), next_token=next_token)
        else:
            subscriptions, next_token = backend_list(self.backend, next_token=next_token)
        return ActionResult({"Subscriptions": [_listed(s) for s in subscriptions], "NextToken": next_token})

    return listing


def _answering_pending(subscribe_response):
    def subscribe(self):
        from moto.core.responses import ActionResult

        result = subscribe_response(self)
        arn = result.result.get("SubscriptionArn")
        if arn in self.backend.subscriptions and _pending(self.backend.subscriptions[arn]):
            return ActionResult({"SubscriptionArn": "pending confirmation"})
        return result

    return subscribe


def _mamori_emulator_confirm_subscription(self):
    topic_arn, endpoint = self._get_param("TopicArn"), self._get_param("Endpoint")
    for subscription in self.backend.subscriptions.values():
        if subscription.topic.arn == topic_arn and subscription.endpoint == endpoint:
            subscription.mamori_pending = False
            subscription.attributes["PendingConfirmation"] = "false"
            return f"<{CONFIRM_ACTION}Response><SubscriptionArn>{subscription.arn}</SubscriptionArn></{CONFIRM_ACTION}Response>"
    return 404, {}, "<ErrorResponse><Error><Code>NotFound</Code><Message>No such subscription</Message></Error></ErrorResponse>"


def install():
    try:
        from moto.sns.models import SNSBackend
        from moto.sns.responses import SNSResponse
    except ImportError:  # not moto's interpreter
        return
    SNSBackend.subscribe = _pending_until_confirmed(SNSBackend.subscribe)
    SNSResponse.subscribe = _answering_pending(SNSResponse.subscribe)
    SNSResponse.list_subscriptions_by_topic = _listing("list_subscriptions_by_topic", SNSBackend.list_subscriptions_by_topic)
    SNSResponse.list_subscriptions = _listing("list_subscriptions", SNSBackend.list_subscriptions)
    add_action(SNSResponse, CONFIRM_ACTION, _mamori_emulator_confirm_subscription)
