"""
Contracts for tests, from Vyper source (a file or the text itself), a foundry
or hardhat JSON artifact, or a contract of this project by name; deployed with
web3.py on any chain.
"""

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import vyper
from web3 import Web3

from contracts import UnknownContract, compile_contract


class ArtifactError(ValueError):
    """A contract that cannot be read or compiled, in words."""


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
        return document["abi"], bytes.fromhex(bytecode.removeprefix("0x"))
    except ValueError:
        raise ArtifactError(f"{path}: bytecode is not hex (unlinked libraries?)") from None


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
    text = str(contract)
    if "\n" in text or "def " in text:
        return text, "source"
    path = Path(text)
    if path.suffix == ".vy":
        if not path.is_file():
            raise ArtifactError(f"no contract file {path}")
        return path.read_text(), path.name
    return None


def abi_and_bytecode(contract: Union[str, Path]) -> Tuple[List[Dict[str, Any]], bytes]:
    """From a ``.vy`` or ``.json`` path, Vyper source text, or a name in ``contracts/``."""
    source = vyper_source(contract)
    if source is not None:
        return vyper_abi_and_bytecode(*source)
    text = str(contract)
    path = Path(text)
    if path.suffix == ".json":
        if not path.is_file():
            raise ArtifactError(f"no contract file {path}")
        return artifact_abi_and_bytecode(path)
    try:
        compiled = compile_contract(text)
    except UnknownContract as unknown:
        raise ArtifactError(f"{unknown} (or give a .vy or .json path, or Vyper source)") from None
    return compiled.abi, compiled.bytecode


def deploy_contract(w3: Web3, contract: Union[str, Path], *args: Any, sender: str):
    """Deploy on ``w3``'s chain from ``sender`` (an account the node signs for); the contract."""
    abi, bytecode = abi_and_bytecode(contract)
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor(*args).transact({"from": sender})
    )
    if receipt.status != 1 or receipt.contractAddress is None:
        raise ArtifactError(f"deploying {contract}: the constructor reverted")
    return w3.eth.contract(address=receipt.contractAddress, abi=abi)
