"""Requests no client may break a node with, and words its answers must not hold."""

# Words of the libraries under the node, which no error a client gets may quote.
LIBRARY_WORDS = (
    "sedes", "Rlp", "PayloadInfo", "Deserializ", "Invariant", "Error", "NotImpl", "__",
    "Message.gas", "ssize_t", "int_max_str_digits",
)


def malformed_params(account) -> list:
    """Wrong counts, kinds, sizes and values of parameters, for any method."""
    address = account.checksum_address
    call = {"from": address, "to": address}
    return [
        [], [None], ["0xzz"], [{}], [1], [-1], [1e300], ["latest"], [[]], ["", ""],
        ["0x" + "ff" * 40], [address, "0xzz"], [address, [], "latest"], [address, ["0x1"]],
        [{"to": "0x12"}], [{**call, "gas": "0x1"}], [{**call, "value": "0x" + "f" * 70}],
        ["0x1", True], ["0x" + "f" * 70, False], [address, "0x" + "f" * 70],
        [{"fromBlock": "0x5", "toBlock": "0x1"}], [{"address": ["0xzz"]}], [{"topics": [["0x1"]]}],
        [call, "latest", {address: {"balance": "0xzz"}}], [call, "latest", {"0x12": {}}],
        ["0x" + "00" * 32, {"tracer": "nope"}], ["0x" + "00" * 32, {"timeout": "soon"}],
        [{"from": address, "data": "0x" + "60" * 10}], ["0x1"] * 5, [{"a": [{"b": 1}]}],
        ["0x1234"], ["0x02c0"], [["0x01"]],
        # Numbers too long for any quantity (a decimal string of them is refused by Python).
        ["0x" + "f" * 4000], [10**100], [address, "0x" + "f" * 4000],
        [{**call, "value": "0x" + "f" * 4000}, "latest"],
        # Below a call's intrinsic gas; a block number past what a C index holds.
        [{**call, "gas": "0x3a98"}, "latest"],
        [call, "latest", {"blockOverrides": {"number": "0x8000000000000001"}}],
    ]


def assert_every_method_answers_malformed_params(dispatcher, account) -> None:
    """Every method ``dispatcher`` serves answers each malformed request in the node's words."""
    for method in sorted(dispatcher.methods):
        for params in malformed_params(account):
            request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
            error = dispatcher.handle(request).get("error")
            if error:
                assert error["code"] != -32603, (method, params, error)
                assert not any(word in error["message"] for word in LIBRARY_WORDS), (
                    method, params, error,
                )
