"""EXECUTE: SSZ types, witness host and stateless guest, fork rules and fixture conformance."""

from . import fast_paths

fast_paths.install()
