"""CloudTrail delivery status on moto: CloudWatch Logs delivery, and delivery failures a test can set.

Gap: GetTrailStatus on AWS reports the CloudWatch Logs channel as it reports the S3 one
(LatestCloudWatchLogsDeliveryTime, LatestCloudWatchLogsDeliveryError:
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_GetTrailStatus.html). moto models
S3 delivery only (LatestDeliveryTime is "now" while the trail logs) and never reports a CloudWatch Logs
delivery. Added here: while a trail with a CloudWatch Logs group logs, it has delivered there "now",
as moto does for S3.

Scaffolding (AWS has no such action; mamori never sends it): an emulator cannot fail to write into a
bucket, so a test sets what CloudTrail would report for a trail whose bucket or key policy refuses it,
or that stopped delivering. `X-Amz-Target: CloudTrail_20131101.MamoriEmulatorTrailDelivery` with the
JSON body {"Name": trail name or ARN, "S3Error": "...", "CloudWatchLogsError": "...",
"DeliveredHoursAgo": N, "LoggingStartedHoursAgo": N} (every key but Name optional; an empty error
clears it). A channel with an error, or with DeliveredHoursAgo, stops delivering: its latest delivery
time stays where it was set. `emulator.py trail-delivery` sends it.
"""

import json
from datetime import timedelta

TRAIL_DELIVERY_ACTION = "MamoriEmulatorTrailDelivery"


def _epoch(at):
    return int(at.timestamp())


def _find_trail(backend, name):
    for trail in backend.describe_trails(include_shadow_trails=True):
        if name in (trail.trail_name, trail.arn):
            return trail
    return None


def _delivery(trail):
    """The trail's delivery as the scaffolding set it: errors and frozen times per channel."""
    delivery = getattr(trail, "mamori_delivery", None)
    if delivery is None:
        delivery = {"s3_error": None, "cloudwatch_logs_error": None, "s3_delivered": None, "cloudwatch_logs_delivered": None}
        trail.mamori_delivery = delivery
    return delivery


def _with_delivery(get_trail_status):
    def get_trail_status_with_delivery(self):
        body = json.loads(get_trail_status(self))
        trail = _find_trail(self.cloudtrail_backend, self._get_param("Name"))
        if trail is None:
            return json.dumps(body)
        delivery = _delivery(trail)
        logging = body.get("IsLogging")
        if trail.cw_log_group_arn and logging:
            body["LatestCloudWatchLogsDeliveryTime"] = body.get("LatestDeliveryTime")
        for channel, time_key, error_key in (
            ("s3", "LatestDeliveryTime", "LatestDeliveryError"),
            ("cloudwatch_logs", "LatestCloudWatchLogsDeliveryTime", "LatestCloudWatchLogsDeliveryError"),
        ):
            if delivery[f"{channel}_delivered"] is not None:
                body[time_key] = _epoch(delivery[f"{channel}_delivered"])
            if delivery[f"{channel}_error"]:
                body[error_key] = delivery[f"{channel}_error"]
        return json.dumps(body)

    return get_trail_status_with_delivery


def _mamori_emulator_trail_delivery(self):
    from moto.core.utils import utcnow

    trail = _find_trail(self.cloudtrail_backend, self._get_param("Name"))
    if trail is None:
        return 400, {}, json.dumps({"__type": "TrailNotFoundException", "message": f"Unknown trail: {self._get_param('Name')}"})
    delivery = _delivery(trail)
    now = utcnow()
    hours = self._get_param("DeliveredHoursAgo")
    for channel, param in (("s3", "S3Error"), ("cloudwatch_logs", "CloudWatchLogsError")):
        error = self._get_param(param)
        if error is not None:
            delivery[f"{channel}_error"] = error or None
            if error and delivery[f"{channel}_delivered"] is None:
                delivery[f"{channel}_delivered"] = now
        if hours is not None:
            delivery[f"{channel}_delivered"] = now - timedelta(hours=int(hours))
    started = self._get_param("LoggingStartedHoursAgo")
    if started is not None:
        trail.status.started = now - timedelta(hours=int(started))
    return json.dumps({})


def install():
    try:
        from moto.cloudtrail.responses import CloudTrailResponse
    except ImportError:  # not moto's interpreter
        return
    CloudTrailResponse.get_trail_status = _with_delivery(CloudTrailResponse.get_trail_status)
    CloudTrailResponse.mamori_emulator_trail_delivery = _mamori_emulator_trail_delivery
