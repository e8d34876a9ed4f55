"""EXECUTE's rules: SSZ types, the precompile, the witness host, the guest and its engines."""
