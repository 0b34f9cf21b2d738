"""Patching a module of the emulator that is imported after start-up (not a shim of its own).

LocalStack imports some providers lazily, when the first request for the service arrives, so a patch
cannot be applied when this package loads. `patch_after_import(name, patch)` registers `patch(module)`
to run right after the module `name` has been executed; several shims may patch one module, and their
patches run in the order they were registered (the shims' load order).
"""

class _PatchAfterImport:
    """A meta-path finder that runs a patch right after one module has been executed."""

    patches = {}

    def find_spec(self, fullname, path, target=None):
        import sys

        patches = self.patches.get(fullname)
        if not patches:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                original = spec.loader.exec_module

                def exec_module(module):
                    original(module)
                    for patch in patches:
                        patch(module)

                spec.loader.exec_module = exec_module
                return spec
        return None


_FINDER = None


def patch_after_import(fullname, patch):
    """Runs `patch(module)` right after the module `fullname` is first executed."""
    import sys

    global _FINDER
    if _FINDER is None:
        _FINDER = _PatchAfterImport()
        sys.meta_path.insert(0, _FINDER)
    _FINDER.patches.setdefault(fullname, []).append(patch)


def install():
    """Nothing to install: other shims register their patches through `patch_after_import`."""
