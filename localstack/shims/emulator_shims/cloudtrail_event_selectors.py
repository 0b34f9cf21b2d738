"""CloudTrail event selectors on moto: AWS's default selector, and PutEventSelectors replacing the set.

Gap: a trail created without event selectors logs every read and write management event, and
GetEventSelectors says so with one basic selector (ReadWriteType All, IncludeManagementEvents true);
moto answers with no selector at all. Added here: that default, until PutEventSelectors replaces it.

AWS rule (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html):
a trail uses basic event selectors (one to five) or advanced event selectors, never both, and
PutEventSelectors replaces the whole set. moto keeps the advanced selectors when basic ones are put,
so a trail could show both, and accepts any number of basic selectors. Here, as on AWS: the selectors
put replace every selector of the other kind, a request with both kinds or with no basic selector
or more than five is refused with InvalidEventSelectorsException.
"""

from .moto_responses import aws_error

DEFAULT_SELECTOR = {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [], "ExcludeManagementEventSources": []}
MAX_BASIC_SELECTORS = 5


def _with_default(get_selectors):
    def get_event_selectors(self):
        basic, advanced = get_selectors(self)
        if not basic and not advanced and not getattr(self, "mamori_selectors_put", False):
            return [dict(DEFAULT_SELECTOR)], []
        return basic, advanced

    return get_event_selectors


def _refused(message):
    return aws_error("InvalidEventSelectorsException", message)


def _replacing_the_set():
    def put_event_selectors(self, event_selectors, advanced_event_selectors):
        if event_selectors is not None and advanced_event_selectors:
            raise _refused("You can use either AdvancedEventSelectors or EventSelectors, but not both.")
        if event_selectors is not None:
            if not 1 <= len(event_selectors) <= MAX_BASIC_SELECTORS:
                raise _refused(f"A trail can have 1 to {MAX_BASIC_SELECTORS} event selectors; {len(event_selectors)} were given.")
            self.event_selectors, self.advanced_event_selectors = event_selectors, []
        elif advanced_event_selectors:
            self.event_selectors, self.advanced_event_selectors = [], advanced_event_selectors
        else:
            raise _refused("Specify EventSelectors or AdvancedEventSelectors.")
        self.mamori_selectors_put = True

    return put_event_selectors


def install():
    try:
        from moto.cloudtrail.models import Trail
    except ImportError:  # not moto's interpreter
        return
    Trail.get_event_selectors = _with_default(Trail.get_event_selectors)
    Trail.put_event_selectors = _replacing_the_set()
