"""L2 node: chain config, sequencer, bridge, trust stages and synchronous composability."""
