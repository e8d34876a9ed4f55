# pragma version ~=0.4.3
"""
@title Benchmark workloads
@notice Two ways to spend an L2 block's gas: arithmetic in memory, and
        writes to fresh storage slots. `nr bench execute` fills blocks with them.
"""

MAX_ITERATIONS: constant(uint256) = 10000000

event Filled:
    first: indexed(uint256)
    count: uint256

slots: public(HashMap[uint256, uint256])
last_result: public(uint256)


@external
def compute(iterations: uint256) -> uint256:
    """@notice A multiply-add chain: pure interpreter work, no state."""
    x: uint256 = 1
    for i: uint256 in range(iterations, bound=MAX_ITERATIONS):
        x = unsafe_add(unsafe_mul(x, 6364136223846793005), 1442695040888963407)
    self.last_result = x
    return x


@external
def fill(first: uint256, count: uint256):
    """@notice Write `count` fresh slots: state growth, trie work for the post-root."""
    for i: uint256 in range(count, bound=MAX_ITERATIONS):
        self.slots[first + i] = first + i + 1
    log Filled(first=first, count=count)
