"""
The parameters JSON-RPC methods declare: their types (how a JSON value is
read, and what is expected when it cannot be), and the ``method`` declaration
that names each parameter with its type and, if optional, its default.
"""

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from ..formatting import shown
from ..interface import TransactionRequest

# A block named by number or by tag.
BlockTag = Union[int, str]
BLOCK_TAGS = ("latest", "earliest", "pending", "safe", "finalized")


class WrongType(ValueError):
    """A value that is not of its parameter's type; ``field`` names the part that is not."""

    def __init__(self, expected: str, got: Any, field: str = "") -> None:
        super().__init__(f"{field} must be {expected}, got {shown(got)}")
        self.expected, self.got, self.field = expected, got, field


@dataclass(frozen=True)
class ParamType:
    """How a parameter is read: ``parse`` returns its value or raises WrongType."""

    expected: str
    parse: Callable[[Any], Any]

    def __call__(self, value: Any) -> Any:
        return self.parse(value)


# No quantity in Ethereum is wider than a word: 256 bits, 64 hex digits.
QUANTITY_LIMIT = 2**256


# Hex digits and nothing else: Python's int() and bytes.fromhex() also take
# underscores, spaces and other scripts' digits, which no other node does.
HEX_DIGITS = re.compile(r"[0-9a-fA-F]*")


def is_hex(value: Any) -> bool:
    """Whether ``value`` is "0x" then hex digits only."""
    return (
        isinstance(value, str) and value.startswith("0x")
        and HEX_DIGITS.fullmatch(value, 2) is not None
    )


def _quantity(value: Any) -> int:
    number = None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        number = value
    elif is_hex(value) and len(value) > 2:
        number = int(value, 16)
    if number is None:
        raise WrongType(QUANTITY.expected, value)
    if number >= QUANTITY_LIMIT:
        raise WrongType(f"{QUANTITY.expected} of at most 256 bits", value)
    return number


QUANTITY = ParamType("a hex quantity", _quantity)


def _data(value: Any) -> bytes:
    if is_hex(value) and len(value) % 2 == 0:
        return bytes.fromhex(value[2:])
    raise WrongType(DATA.expected, value)


DATA = ParamType("0x-prefixed hex bytes", _data)


def fixed_bytes(length: int) -> ParamType:
    """Hex bytes of exactly ``length`` bytes (an address, a hash)."""
    expected = f"{length} bytes of 0x-prefixed hex"

    def parse(value: Any) -> bytes:
        try:
            parsed = _data(value)
        except WrongType:
            parsed = None
        if parsed is None or len(parsed) != length:
            raise WrongType(expected, value)
        return parsed

    return ParamType(expected, parse)


ADDRESS = fixed_bytes(20)
BYTES32 = fixed_bytes(32)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise WrongType(BOOLEAN.expected, value)


BOOLEAN = ParamType("true or false", _boolean)


# The longest a duration parameter may be: about 136 years (NaN and infinity never are).
SECONDS_LIMIT = 2**32


def _seconds(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 0 <= value <= SECONDS_LIMIT:  # false for NaN
            return float(value)
    raise WrongType(SECONDS.expected, value)


SECONDS = ParamType("a number of seconds from 0 to 2**32", _seconds)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise WrongType(TEXT.expected, value)


TEXT = ParamType("a string", _text)


def _object(value: Any) -> Dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise WrongType(OBJECT.expected, value)


OBJECT = ParamType("an object", _object)


# At most this many reward percentiles in one eth_feeHistory (each block answers each).
MAX_PERCENTILES = 100


def _percentiles(value: Any) -> List[float]:
    listed = isinstance(value, list) and len(value) <= MAX_PERCENTILES
    if listed and all(map(is_percentile, value)) and value == sorted(value):
        return value
    raise WrongType(PERCENTILES.expected, value)


def is_percentile(item: Any) -> bool:
    return isinstance(item, (int, float)) and not isinstance(item, bool) and 0 <= item <= 100


PERCENTILES = ParamType(
    f"an ascending list of at most {MAX_PERCENTILES} percentiles from 0 to 100", _percentiles
)


def _storage_key(value: Any) -> int:
    """A storage slot as geth reads one: 0x-prefixed hex of at most 32 bytes."""
    is_word = isinstance(value, str) and len(value) <= len("0x") + 2 * 32
    try:
        return _quantity(value if is_word else None)
    except WrongType:
        raise WrongType(STORAGE_KEY.expected, value) from None


STORAGE_KEY = ParamType("0x-prefixed hex of at most 32 bytes", _storage_key)


def list_of(kind: ParamType) -> ParamType:
    """A JSON array of ``kind``; a bad item is named by its index."""
    expected = f"an array of {kind.expected}"

    def parse(value: Any) -> List[Any]:
        if not isinstance(value, list):
            raise WrongType(expected, value)
        items = []
        for index, item in enumerate(value):
            try:
                items.append(kind(item))
            except WrongType as wrong:
                raise WrongType(wrong.expected, item, f"[{index}]") from None
        return items

    return ParamType(expected, parse)


STORAGE_KEYS = list_of(STORAGE_KEY)


def _block_number(value: Any) -> BlockTag:
    """
    A block by number or tag, for the methods named "ByNumber" and ranges
    (as anvil reads them: 32 bytes of hex are a number there); null is the
    latest block; EIP-1898's object by its blockNumber.
    """
    if value is None:
        return "latest"
    if isinstance(value, dict):
        if "blockHash" in value:
            raise WrongType(BLOCK.expected, value)
        value = value.get("blockNumber", "latest")
    if value in BLOCK_TAGS:
        return value
    try:
        return _quantity(value)
    except WrongType:
        raise WrongType(BLOCK.expected, value) from None


BLOCK = ParamType(f"a block number or one of {', '.join(BLOCK_TAGS)}", _block_number)


def _block_id(value: Any) -> Union[BlockTag, bytes]:
    """
    A block whose state a read or a call uses: by number, tag or hash (as
    geth reads it: 32 bytes of hex are a hash); EIP-1898's object by its
    blockHash or blockNumber.
    """
    named_by_hash = isinstance(value, dict) and "blockHash" in value
    if named_by_hash:
        value = value["blockHash"]
    if named_by_hash or (isinstance(value, str) and len(value) == 66):
        try:
            return BYTES32(value)
        except WrongType:
            raise WrongType(BLOCK_ID.expected, value) from None
    try:
        return _block_number(value)
    except WrongType:
        raise WrongType(BLOCK_ID.expected, value) from None


BLOCK_ID = ParamType(f"a block hash, a block number or one of {', '.join(BLOCK_TAGS)}", _block_id)


def object_field(
    document: Dict[str, Any], name: str, kind: ParamType, *aliases: str, default: Any = None
) -> Any:
    """Field ``name`` (or the first alias present) of an object, read as ``kind``."""
    for key in (name, *aliases):
        value = document.get(key)
        if value is not None:
            try:
                return kind(value)
            except WrongType as wrong:  # the field's own path, then the part inside it
                raise WrongType(wrong.expected, wrong.got, f".{key}{wrong.field}") from None
    return default


def _access_list(value: Any) -> Tuple[Tuple[bytes, Tuple[int, ...]], ...]:
    """EIP-2930: a list of {address, storageKeys} objects, as (address, keys) pairs."""
    if not isinstance(value, list):
        raise WrongType(ACCESS_LIST.expected, value)
    entries = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise WrongType("an object with address and storageKeys", entry, f"[{index}]")
        try:
            account = object_field(entry, "address", ADDRESS)
        except WrongType as wrong:
            raise WrongType(wrong.expected, wrong.got, f"[{index}]{wrong.field}") from None
        if account is None:
            raise WrongType(ADDRESS.expected, None, f"[{index}].address")
        keys = entry.get("storageKeys") or []
        if not isinstance(keys, list):
            raise WrongType("a list of 32-byte keys", keys, f"[{index}].storageKeys")
        try:
            slots = tuple(int.from_bytes(BYTES32(key), "big") for key in keys)
        except WrongType as wrong:
            raise WrongType(wrong.expected, wrong.got, f"[{index}].storageKeys") from None
        entries.append((account, slots))
    return tuple(entries)


ACCESS_LIST = ParamType("a list of {address, storageKeys} objects", _access_list)


def transaction_request(sender_required: bool) -> ParamType:
    """A call or transaction object (from, to, gas, fees, value, data or input, nonce)."""
    expected = "a transaction object" + (" with from" if sender_required else "")

    def parse(value: Any) -> TransactionRequest:
        if not isinstance(value, dict):
            raise WrongType(expected, value)
        sender = object_field(value, "from", ADDRESS)
        if sender is None and sender_required:
            raise WrongType(ADDRESS.expected, None, ".from")
        return TransactionRequest(
            sender=sender,
            to=object_field(value, "to", ADDRESS),
            gas=object_field(value, "gas", QUANTITY),
            gas_price=object_field(value, "gasPrice", QUANTITY),
            max_fee_per_gas=object_field(value, "maxFeePerGas", QUANTITY),
            max_priority_fee_per_gas=object_field(value, "maxPriorityFeePerGas", QUANTITY),
            value=object_field(value, "value", QUANTITY, default=0),
            data=object_field(value, "data", DATA, "input", default=b""),
            nonce=object_field(value, "nonce", QUANTITY),
            access_list=object_field(value, "accessList", ACCESS_LIST),
            chain_id=object_field(value, "chainId", QUANTITY),
        )

    return ParamType(expected, parse)


CALL = transaction_request(sender_required=False)
TRANSACTION = transaction_request(sender_required=True)


def _one_or_many(kind: ParamType, value: Any, name: str) -> None:
    for item in value if isinstance(value, list) else [value]:
        if item is not None:
            try:
                kind(item)
            except WrongType as wrong:
                raise WrongType(wrong.expected, item, f".{name}") from None


class LogFilter(NamedTuple):
    """The blocks a log filter covers, and what it matches (as ``log_matches`` reads it)."""

    from_block: BlockTag
    to_block: BlockTag
    block_hash: Optional[bytes]
    criteria: Dict[str, Any]


def _log_filter(value: Any) -> LogFilter:
    if not isinstance(value, dict):
        raise WrongType(LOG_FILTER.expected, value)
    _one_or_many(ADDRESS, value.get("address"), "address")
    topics = value.get("topics") or []
    if not isinstance(topics, list):
        raise WrongType("a list of topics", topics, ".topics")
    for topic in topics:
        _one_or_many(BYTES32, topic, "topics")
    return LogFilter(
        from_block=object_field(value, "fromBlock", BLOCK, default="latest"),
        to_block=object_field(value, "toBlock", BLOCK, default="latest"),
        block_hash=object_field(value, "blockHash", BYTES32),
        criteria={"address": value.get("address"), "topics": topics},
    )


LOG_FILTER = ParamType("a filter object", _log_filter)

REQUIRED = object()


@dataclass(frozen=True)
class Param:
    """One parameter of a method: its name, type and, unless REQUIRED, its default."""

    name: str
    kind: ParamType
    default: Any = REQUIRED

    @property
    def optional(self) -> bool:
        return self.default is not REQUIRED


def method(*params: Param) -> Callable[[Callable], Callable]:
    """Declare a JSON-RPC method (named as the function) and its parameters, in order."""

    def declare(function: Callable) -> Callable:
        function.rpc_params = params
        return function

    return declare


class InvalidParams(ValueError):
    """Parameters that do not match a method's declaration; the message names what is wrong."""


def describe(name: str, params: Sequence[Param]) -> str:
    """How many parameters ``name`` takes, as an error message says it."""
    if not params:
        return f"{name} takes no parameters"
    names = ", ".join(param.name for param in params)
    required = sum(not param.optional for param in params)
    plural = "" if len(params) == 1 else "s"
    bound = "" if required == len(params) else "at most "
    return f"{name} takes {bound}{len(params)} parameter{plural} ({names})"


def bind(name: str, params: Sequence[Param], values: List[Any]) -> Tuple[Any, ...]:
    """
    ``values`` read as method ``name``'s declared parameters, defaults filled
    in (null in an optional place is its default); InvalidParams if one is
    missing, of the wrong type or one too many.
    """
    if len(values) > len(params):
        raise InvalidParams(f"{describe(name, params)}, got {len(values)}")
    bound: List[Any] = []
    for position, param in enumerate(params):
        given = position < len(values)
        value: Optional[Any] = values[position] if given else None
        if value is None and param.optional:
            bound.append(param.default)
            continue
        if not given:
            raise InvalidParams(f"{name}: missing {param.name} ({param.kind.expected})")
        try:
            bound.append(param.kind(value))
        except WrongType as wrong:
            raise InvalidParams(
                f"{name}: {param.name}{wrong.field} must be {wrong.expected},"
                f" got {shown(wrong.got)}"
            ) from None
    return tuple(bound)
