"""Account-level instance metadata defaults (an emulator gap: moto answers HTTP 500).

  ec2:GetInstanceMetadataDefaults / ec2:ModifyInstanceMetadataDefaults
      Added here: the account-level IMDS defaults (HttpTokens, HttpPutResponseHopLimit, HttpEndpoint,
      InstanceMetadataTags) are stored on the EC2 backend, which moto keeps per account and region, as
      AWS does. `no-preference` clears a setting, and GetInstanceMetadataDefaults returns only the
      settings that are set (AWS omits the others). Only the defaults are stored: like moto's other
      settings, they do not change how RunInstances launches instances.
"""

IMDS_DEFAULT_SETTINGS = ("HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "InstanceMetadataTags")


def _imds_defaults(backend):
    if not hasattr(backend, "mamori_imds_defaults"):
        backend.mamori_imds_defaults = {}
    return backend.mamori_imds_defaults


def _get_instance_metadata_defaults(self):
    from moto.core.responses import ActionResult

    self.error_on_dryrun()
    return ActionResult({"AccountLevel": dict(_imds_defaults(self.ec2_backend))})


def _modify_instance_metadata_defaults(self):
    from moto.core.responses import ActionResult

    self.error_on_dryrun()
    defaults = _imds_defaults(self.ec2_backend)
    for name in IMDS_DEFAULT_SETTINGS:
        value = self._get_param(name)
        if value is None:
            continue
        if str(value) in ("no-preference", "-1"):
            defaults.pop(name, None)
        elif name == "HttpPutResponseHopLimit":
            defaults[name] = int(value)
        else:
            defaults[name] = value
    return ActionResult({"Return": True})


def install():
    try:
        from moto.ec2.responses.settings import Settings
    except ImportError:  # not an emulator's interpreter
        return
    if not hasattr(Settings, "get_instance_metadata_defaults"):
        Settings.get_instance_metadata_defaults = _get_instance_metadata_defaults
    if not hasattr(Settings, "modify_instance_metadata_defaults"):
        Settings.modify_instance_metadata_defaults = _modify_instance_metadata_defaults
