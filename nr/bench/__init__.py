"""The benchmarks behind `nr bench`: execute (engines), prove (proof types), rpc (devnets)."""
