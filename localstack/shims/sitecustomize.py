"""Loads mamori's emulator shims into the emulator's process. Test harness only.

`emulator.py` puts this directory on PYTHONPATH when it starts moto server or LocalStack, so Python
imports this module at start-up in the emulator's process (and only there). Every module of the
`emulator_shims` package is one shim: an emulator gap closed (an API the emulator lacks or gets wrong),
an AWS rule modelled (something AWS enforces that the emulator lets through), or test scaffolding. Each
module's docstring says which, what it changes and, for an AWS rule, the AWS page it implements;
`localstack/README.md` lists them all. mamori itself has no emulator special case for these calls.
"""

import importlib
import pkgutil

import emulator_shims

for _module in sorted(pkgutil.iter_modules(emulator_shims.__path__), key=lambda m: m.name):
    importlib.import_module(f"emulator_shims.{_module.name}").install()
