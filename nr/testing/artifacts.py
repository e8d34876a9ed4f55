"""
Contracts for tests, from Vyper source (a file or the text itself), a foundry
or hardhat JSON artifact, or a contract of this project by name; deployed with
web3.py on any chain.
"""

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import vyper
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from contracts import UnknownContract, abi_type, compile_contract

from .arguments import (
    InvalidArgument,
    a_kind,
    an_address,
    as_address_if_one,
    described,
    hidden_when_refusing,
)
from .revert_sites import mined_revert, node_message, revert_of

# The kinds of ABI entries (an entry without a type is a function), and those with a name.
ABI_ENTRY_TYPES = ("function", "constructor", "event", "error", "fallback", "receive")
NAMED_ABI_ENTRIES = ("function", "event", "error")


class ArtifactError(ValueError):
    """A contract that cannot be read or compiled, in words."""


# A helper refusing what a test gave it points at the test's line, not its own.
__tracebackhide__ = hidden_when_refusing(InvalidArgument, ArtifactError)


class ConstructorReverted(ContractLogicError):
    """
    A deployment whose constructor reverted: the contract, and the revert's
    reason and data (a custom error's). A ``ContractLogicError``, as the
    revert of a call is; ``reverts`` reads the reason and data.
    """

    def __init__(self, contract: str, reason: str, data: Optional[bytes]) -> None:
        said = f": {reason}" if reason else " (no reason given)"
        super().__init__(f"deploying {contract}: the constructor reverted{said}")
        self.contract, self.reason, self.custom_error = contract, reason, data

    def __str__(self) -> str:
        return str(self.message)


def vyper_abi_and_bytecode(source: str, name: str) -> Tuple[List[Dict[str, Any]], bytes]:
    return _compiled(source, name)


@lru_cache(maxsize=None)
def _compiled(source: str, name: str) -> Tuple[List[Dict[str, Any]], bytes]:
    try:
        output = vyper.compile_code(source, contract_path=name, output_formats=["abi", "bytecode"])
    except Exception as error:  # vyper raises its own many kinds; all mean "does not compile"
        raise ArtifactError(f"{name} does not compile: {str(error).strip()}") from None
    return output["abi"], bytes.fromhex(output["bytecode"][2:])


def artifact_abi_and_bytecode(path: Path) -> Tuple[List[Dict[str, Any]], bytes]:
    """A foundry (``bytecode.object``) or hardhat (``bytecode``) JSON artifact."""
    try:
        document = json.loads(path.read_text())
    except ValueError as error:
        raise ArtifactError(f"{path} is not JSON: {error}") from None
    bytecode = document.get("bytecode") if isinstance(document, dict) else None
    if isinstance(bytecode, dict):
        bytecode = bytecode.get("object")
    if not isinstance(bytecode, str) or not isinstance(document.get("abi"), list):
        raise ArtifactError(
            f"{path} is not a contract artifact: it needs an abi list and bytecode "
            "(foundry's bytecode.object or hardhat's bytecode)"
        )
    try:
        code = bytes.fromhex(bytecode.removeprefix("0x"))
    except ValueError:
        raise ArtifactError(f"{path}: bytecode is not hex (unlinked libraries?)") from None
    if not code:
        raise ArtifactError(f"{path} has no bytecode: an interface or abstract contract?")
    problem = abi_problem(document["abi"])
    if problem is not None:
        raise ArtifactError(f"{path}: its abi {problem}")
    return document["abi"], code


def abi_problem(abi: List[Any]) -> Optional[str]:
    """What is wrong with a hand-made or damaged ABI (web3.py would fail on it later), or None."""
    for index, entry in enumerate(abi):
        if not isinstance(entry, dict):
            return f"entry {index} is not an object"
        kind = entry.get("type", "function")
        if kind not in ABI_ENTRY_TYPES:
            return f"entry {index} has type {kind!r}, not one of {', '.join(ABI_ENTRY_TYPES)}"
        if kind in NAMED_ABI_ENTRIES and not isinstance(entry.get("name"), str):
            return f"entry {index} ({kind}) has no name"
        for side in ("inputs", "outputs"):
            problem = parameters_problem(entry.get(side, []))
            if problem is not None:
                return f"entry {index} ({entry.get('name', kind)}): {side}: {problem}"
    return None


def parameters_problem(parameters: Any) -> Optional[str]:
    """What is wrong with a list of ABI parameters (a tuple's components among them), or None."""
    if not isinstance(parameters, list):
        return "not a list"
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, dict) or not isinstance(parameter.get("type"), str):
            return f"parameter {index} has no type"
        if parameter["type"].startswith("tuple"):
            components = parameter.get("components")
            if not isinstance(components, list):
                return f"parameter {index} is a tuple without components"
            problem = parameters_problem(components)
            if problem is not None:
                return f"parameter {index}: {problem}"
    return None


@lru_cache(maxsize=None)
def vyper_positions(source: str, name: str) -> Dict[int, Tuple[int, int, int, int]]:
    """The runtime code's source map: pc -> (line, column, end line, end column)."""
    try:
        output = vyper.compile_code(
            source, contract_path=name, output_formats=["source_map_runtime"]
        )
    except Exception as error:  # as in _compiled: does not compile
        raise ArtifactError(f"{name} does not compile: {str(error).strip()}") from None
    positions = output["source_map_runtime"]["pc_pos_map"]
    return {int(pc): tuple(position) for pc, position in positions.items()}


def vyper_source(contract: Union[str, Path]) -> Optional[Tuple[str, str]]:
    """The Vyper source text and its name, where ``contract`` is Vyper source or a ``.vy`` file."""
    if not isinstance(contract, (str, os.PathLike)) or not str(contract).strip():
        raise ArtifactError(
            f"no contract given ({described(contract)}): give Vyper source, a .vy or .json path,"
            " or a contract's name"
        )
    text = str(contract)
    path = Path(text)
    if path.suffix == ".vy":
        if not path.is_file():
            raise ArtifactError(f"no contract file {path.absolute()}")
        return path.read_text(), path.name
    if is_source_text(text):
        return text, "source"
    return None


def is_source_text(text: str) -> bool:
    """
    Whether ``text`` is Vyper source itself: a name or a path is one word
    without Vyper's punctuation, anything else (``"x: public(uint256)"``) is
    source; a ``.vy`` path is a file's.
    """
    return Path(text).suffix != ".vy" and re.search(r"[\s:()@#=]", text.strip()) is not None


def abi_and_bytecode(contract: Union[str, Path]) -> Tuple[List[Dict[str, Any]], bytes]:
    """From a ``.vy`` or ``.json`` path, Vyper source text, or a name in ``contracts/``."""
    source = vyper_source(contract)
    if source is not None:
        return vyper_abi_and_bytecode(*source)
    text = str(contract)
    path = Path(text)
    if path.suffix == ".sol":
        raise ArtifactError(
            f"{path}: Solidity is not compiled here; build it with foundry or hardhat and give"
            " its JSON artifact"
        )
    if path.is_dir():
        raise ArtifactError(f"{path.absolute()} is a folder: give a .vy or .json file in it")
    if path.suffix == ".json":
        if not path.is_file():
            raise ArtifactError(f"no contract file {path.absolute()}")
        return artifact_abi_and_bytecode(path)
    if "/" in text or "\\" in text:  # a path, to no .vy or .json
        raise ArtifactError(f"no contract file {path.absolute()} (give a .vy or .json path)")
    try:
        compiled = compile_contract(text)
    except UnknownContract as unknown:
        raise ArtifactError(f"{unknown} (or give a .vy or .json path, or Vyper source)") from None
    return compiled.abi, compiled.bytecode


def contract_label(contract: Union[str, Path]) -> str:
    """How a message names ``contract``: its path or name as given, or "Vyper source"."""
    text = str(contract)
    return "the Vyper source given" if is_source_text(text) else text


def deploy_contract(w3: Web3, contract: Union[str, Path], *args: Any, sender: Any, **named):
    """
    Deploy on ``w3``'s chain from ``sender`` (an account the node signs for,
    or its address); the contract. ``ConstructorReverted`` with the reason
    where the constructor reverts; ``InvalidArgument`` for arguments its
    constructor does not take (``named``: any, they go by position), or a
    sender the node does not sign for.
    """
    label = contract_label(contract)
    sender = an_address(sender, f"deploying {label}: sender")
    abi, bytecode = abi_and_bytecode(contract)
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    constructor = constructor_call(factory, label, args, named)
    try:
        sent = constructor.transact({"from": sender})
    except ContractLogicError as reverted:  # the gas estimate ran the constructor
        raise ConstructorReverted(label, *revert_of(reverted)) from None
    except Web3RPCError as refused:
        raise InvalidArgument(
            f"deploying {label}: the node refused to send from {sender}: {node_message(refused)}"
        ) from None
    receipt = w3.eth.wait_for_transaction_receipt(sent)
    if receipt.status != 1 or receipt.contractAddress is None:
        raise ConstructorReverted(label, *mined_revert(w3, receipt.transactionHash))
    return w3.eth.contract(address=receipt.contractAddress, abi=abi)


def constructor_call(factory, label: str, args: tuple, named: Dict[str, Any]):
    """``factory``'s constructor call with ``args``; InvalidArgument naming the constructor's
    parameters where they do not fit (their number, or one's type), or some came by name."""
    parameters = next(
        (entry.get("inputs", []) for entry in factory.abi if entry.get("type") == "constructor"),
        [],
    )
    signature = ", ".join(
        f"{parameter.get('name') or '_'}: {abi_type(parameter)}" for parameter in parameters
    )
    takes = f"its constructor takes ({signature})" if parameters else "its constructor takes none"
    if named:
        raise InvalidArgument(
            f"deploying {label}: {', '.join(named)} given by name; {takes}, by position after the"
            " contract (deploy(contract, first, ...); by name deploy takes only on= and sender=)"
        )
    if len(args) != len(parameters):
        raise InvalidArgument(f"deploying {label}: {takes}; {len(args)} argument(s) given")
    args = tuple(  # an address as web3.py takes it: checksummed, whatever case or account given
        as_address_if_one(argument) if abi_type(parameter) == "address" else argument
        for argument, parameter in zip(args, parameters)
    )
    try:
        return factory.constructor(*args)
    except TypeError:  # web3.py's: an argument its type cannot encode
        unfit = [
            f"{parameter.get('name') or f'argument {index + 1}'}={described(argument)} is not"
            f" {a_kind(abi_type(parameter))}"
            for index, (argument, parameter) in enumerate(zip(args, parameters))
            if not factory.w3.codec.is_encodable(abi_type(parameter), argument)
        ]
        raise InvalidArgument(
            f"deploying {label}: {takes}; " + ("; ".join(unfit) or "the arguments do not fit")
        ) from None
