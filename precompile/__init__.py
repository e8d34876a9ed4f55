"""EXECUTE: SSZ types, witness host and stateless guest, fork rules and fixture conformance."""
