"""Vyper sources of the L1 rollup contracts and L2 predeploys, compiled by the package."""
