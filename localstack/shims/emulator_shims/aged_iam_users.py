"""IAM key and user ages (test scaffolding, not a gap in an API; moto and LocalStack).

  moto stamps every user and access key with the current time and has no way to backdate one, so the
  rules "unused for N days" and "older than N days" could not be exercised end to end. Added here: a
  user created with a path `/mamori-test-aged-<N>-days/` gets its creation date, and each access key
  and console password created for it gets its creation date, moved N days into the past (moto's and
  LocalStack's IAM each store them their own way; both are covered). Users with any other path are
  untouched; AWS itself has no such path convention and mamori knows nothing of it.
"""

import re
from datetime import timedelta

AGED_PATH = re.compile(r"/mamori-test-aged-(\d+)-days/")


def _age(user):
    match = AGED_PATH.search(getattr(user, "path", None) or "")
    return timedelta(days=int(match.group(1))) if match else None


def _ageing_user_init(init):
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        age = _age(self)
        if age:
            self.create_date -= age

    return __init__


def _ageing_create_access_key(create):
    def create_access_key(self, *args, **kwargs):
        key = create(self, *args, **kwargs)
        age = _age(self)
        if age:
            key.create_date -= age
        return key

    return create_access_key


def _ageing_localstack(create, age_what):
    def wrapper(self, context, user_name=None, *args, **kwargs):
        response = create(self, context, user_name, *args, **kwargs)
        entity = self._get_store(context).USERS.get(user_name)
        match = entity is not None and AGED_PATH.search(entity.user.get("Path") or "")
        if match:
            age_what(entity, response, timedelta(days=int(match.group(1))))
        return response

    return wrapper


def _age_user(entity, _response, age):
    entity.user["CreateDate"] -= age


def _age_new_key(entity, response, age):
    entity.access_keys[response["AccessKey"]["AccessKeyId"]].access_key["CreateDate"] -= age


def _age_login_profile(entity, _response, age):
    entity.login_profile["CreateDate"] -= age


def install():
    try:
        from localstack.services.iam.provider import IamProvider
    except ImportError:  # not LocalStack's interpreter
        pass
    else:
        IamProvider.create_user = _ageing_localstack(IamProvider.create_user, _age_user)
        IamProvider.create_access_key = _ageing_localstack(IamProvider.create_access_key, _age_new_key)
        IamProvider.create_login_profile = _ageing_localstack(IamProvider.create_login_profile, _age_login_profile)
    try:
        from moto.iam.models import User
    except ImportError:  # not an emulator's interpreter
        return
    User.__init__ = _ageing_user_init(User.__init__)
    User.create_access_key = _ageing_create_access_key(User.create_access_key)
