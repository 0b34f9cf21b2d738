"""mamori's emulator shims: one module per gap closed, AWS rule modelled or piece of test scaffolding.

Every module defines `install()`, called once at the emulator's start-up by `sitecustomize.py`; it
patches moto's or LocalStack's classes, and does nothing in an interpreter that has neither. Remove a
gap's module once the pinned emulator implements the call.
"""
