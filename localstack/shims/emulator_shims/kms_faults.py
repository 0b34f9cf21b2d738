"""KMS failures on demand (test scaffolding, moto; AWS has no such switch).

  kms:ListResourceTags on a key whose description starts with `mamori-test-fault: CODE`
      fails with the error CODE (HTTP 500 for `KMSInternalException`, 400 otherwise), as AWS answers
      when its internals fail or the caller is throttled past the SDK's retries. This is what lets a
      test prove that mamori's key search treats such an answer as an error, never as "not our key":
      an interrupted run followed by one failed call must not create a second baseline key. Keys with
      any other description are untouched, and mamori knows nothing of the convention.
"""

FAULT_PREFIX = "mamori-test-fault:"


def _failing_on_demand(list_resource_tags):
    def list_resource_tags_or_fail(self):
        from moto.core.exceptions import JsonRESTError

        key_id = self._get_param("KeyId")
        key = self.kms_backend.keys.get(self.kms_backend.get_key_id(key_id))
        description = getattr(key, "description", None) or ""
        if description.startswith(FAULT_PREFIX):
            code = description[len(FAULT_PREFIX):].strip()
            error = JsonRESTError(code, f"{code} (injected by the emulator shim)")
            error.code = 500 if code == "KMSInternalException" else 400
            raise error
        return list_resource_tags(self)

    return list_resource_tags_or_fail


def install():
    try:
        from moto.kms.responses import KmsResponse
    except ImportError:  # not moto's interpreter
        return
    KmsResponse.list_resource_tags = _failing_on_demand(KmsResponse.list_resource_tags)
