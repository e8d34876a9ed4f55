"""Shared L1 prover: proof types, signing, gossip and k-of-n verification."""
