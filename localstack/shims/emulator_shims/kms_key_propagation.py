"""A new KMS key is not found at once (an AWS rule, moto).

  AWS KMS is eventually consistent: "you might get unexpected errors, such as a NotFoundException
  ... For example, AWS KMS might return a NotFoundException if you call GetParametersForImport
  immediately after calling CreateKey."
  https://docs.aws.amazon.com/kms/latest/developerguide/accessing-kms.html#programming-eventual-consistency

  Modelled here: the calls that change a key (CreateAlias and UpdateAlias on their target key,
  EnableKeyRotation, PutKeyPolicy, EnableKey, GetParametersForImport) answer `NotFoundException` while
  the key is younger than the propagation delay (see propagation_delay.py; off unless set). Reads of
  the key are left consistent.
"""

from emulator_shims import propagation_delay

_KEY_PARAMETER = {
    "create_alias": "TargetKeyId",
    "update_alias": "TargetKeyId",
    "enable_key_rotation": "KeyId",
    "put_key_policy": "KeyId",
    "enable_key": "KeyId",
    "get_parameters_for_import": "KeyId",
}


def _key(response, parameter):
    key_id = response._get_param(parameter) or ""
    return response.kms_backend.keys.get(response.kms_backend.get_key_id(key_id))


def _refusing_young_keys(handler, parameter):
    def young(response):
        key = _key(response, parameter)
        return key is not None and propagation_delay.is_young(key.creation_date, response.current_account)

    def not_found(response):
        from moto.kms.exceptions import NotFoundException

        return NotFoundException(f"Key '{_key(response, parameter).arn}' does not exist")

    return propagation_delay.refusing_when(handler, young, not_found)


def install():
    try:
        from moto.kms.responses import KmsResponse
    except ImportError:  # not moto's interpreter
        return
    for name, parameter in _KEY_PARAMETER.items():
        if hasattr(KmsResponse, name):
            setattr(KmsResponse, name, _refusing_young_keys(getattr(KmsResponse, name), parameter))
