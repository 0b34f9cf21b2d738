"""DescribeAlarms and DescribeMetricFilters in pages of 50, in name order (AWS rule, moto).

AWS (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html):
"MaxRecords: The maximum number of alarm descriptions to retrieve. Valid Range: Minimum value of 1.
Maximum value of 100." and, when more remain, a `NextToken`; the default page is 50. CloudWatch Logs
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeMetricFilters.html):
"limit: The maximum number of items returned. If you don't specify a value, the default is up to 50
items." and a `nextToken` while more remain. Both list in name order. moto answers every alarm and
every filter in one page (and echoes a request's `nextToken` back), so a reader that stops at the first
page looks complete on moto and misses the baseline's alarms on AWS as soon as someone else's, under the
same name prefix, fill the first page.

Here both lists come sorted by name, at most the request's limit (default 50) to a page, with an opaque
token while more remain.
"""

import json

from emulator_shims import pages

DEFAULT_PAGE = 50


def _paged_alarms(original):
    def describe_alarms(self):
        from moto.core.responses import ActionResult

        everything = original(self).result
        alarms = sorted(everything["MetricAlarms"] + everything["CompositeAlarms"], key=lambda alarm: alarm.name)
        page, next_token = pages.page(alarms, self._get_param("NextToken"), self._get_int_param("MaxRecords", DEFAULT_PAGE))
        result = {
            "MetricAlarms": [alarm for alarm in page if alarm.rule is None],
            "CompositeAlarms": [alarm for alarm in page if alarm.rule is not None],
        }
        if next_token:
            result["NextToken"] = next_token
        return ActionResult(result)

    return describe_alarms


def _paged_metric_filters(original):
    def describe_metric_filters(self):
        everything = json.loads(original(self))
        filters = sorted(everything["metricFilters"], key=lambda metric_filter: metric_filter["filterName"])
        page, next_token = pages.page(filters, self._get_param("nextToken"), self._get_int_param("limit", DEFAULT_PAGE))
        body = {"metricFilters": page}
        if next_token:
            body["nextToken"] = next_token
        return json.dumps(body)

    return describe_metric_filters


def install():
    try:
        from moto.cloudwatch.responses import CloudWatchResponse
        from moto.logs.responses import LogsResponse
    except ImportError:  # not moto's interpreter
        return
    CloudWatchResponse.describe_alarms = _paged_alarms(CloudWatchResponse.describe_alarms)
    LogsResponse.describe_metric_filters = _paged_metric_filters(LogsResponse.describe_metric_filters)
