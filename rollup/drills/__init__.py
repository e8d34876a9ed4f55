"""
Drills: attacks and faults run against a real deployment of a rollup
configuration (a fresh devnet each), whose outcomes decide its L2BEAT stage
and risk rosette (``verdict``), as ``nr compare`` reports them.
"""
