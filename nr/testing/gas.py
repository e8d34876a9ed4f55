"""The ``--gas`` report: gas per contract and function on each chain, from the tests' blocks."""

from collections import defaultdict
from statistics import median
from typing import Dict, List, Optional, Tuple

from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from contracts import abi_type, compile_contract
from rollup.l2 import L2_BRIDGE, L2_MESSAGE_PASSER


def selectors(abi: list) -> Dict[bytes, str]:
    """Each function's 4-byte selector -> its name."""
    functions = [entry for entry in abi if entry.get("type") == "function"]
    return {selector(function): function["name"] for function in functions}


def selector(function: dict) -> bytes:
    """A function's selector; one without arguments may leave its inputs out of the ABI."""
    types = ",".join(abi_type(argument) for argument in function.get("inputs", []))
    return keccak(f"{function['name']}({types})".encode())[:4]


class GasTable:
    """Gas used by each transaction the tests sent, by chain, contract and function."""

    def __init__(self) -> None:
        # address -> (contract name, selector -> function name, the hash of its code or None:
        # an address a snapshot's restore freed may hold another contract in a later test)
        self.known: Dict[str, Tuple[str, Dict[bytes, str], Optional[bytes]]] = {}
        self.used: Dict[Tuple[str, str, str], List[int]] = defaultdict(list)
        # Counting windows open (a fixture set up inside a test's): only the outermost counts.
        self.counting = 0

    def name(self, address: str, contract: str, abi: list, code: Optional[bytes] = None) -> None:
        """``address`` holds ``contract``; with its runtime ``code``, only while it holds that."""
        code_hash = None if code is None else keccak(bytes(code))
        self.known[to_checksum_address(address)] = (contract, selectors(abi), code_hash)

    def name_rollup(self, rollup) -> None:
        """A demo rollup's contracts: on L1 and its L2 predeploys."""
        for contract in (rollup.contract, rollup.governance.contract, rollup.bug_record):
            self.name(contract.address, contract.name, contract.compiled.abi)
        for name, address in (("L2Bridge", L2_BRIDGE), ("L2MessagePasser", L2_MESSAGE_PASSER)):
            self.name(to_checksum_address(address), name, compile_contract(name).abi)

    def record_blocks(self, chain: str, web3, first: int, last: int) -> None:
        """Every transaction in blocks ``first``..``last`` of ``chain``."""
        for number in range(first, last + 1):
            block = web3.eth.get_block(number, full_transactions=True)
            for transaction in block.transactions:
                receipt = web3.eth.get_transaction_receipt(transaction.hash)
                contract, function = self.called(transaction, receipt, web3, number)
                self.used[(chain, contract, function)].append(receipt.gasUsed)

    def holder(self, web3, address, number: int) -> Tuple[Optional[str], Dict[bytes, str]]:
        """The contract named at ``address`` (and its functions) if it held it at block
        ``number``; (None, {}) otherwise."""
        known = self.known.get(to_checksum_address(address)) if address else None
        if known is None:
            return None, {}
        contract, functions, code_hash = known
        if code_hash is not None:
            code = web3.eth.get_code(to_checksum_address(address), block_identifier=number)
            if keccak(bytes(code)) != code_hash:
                return None, {}
        return contract, functions

    def called(self, transaction, receipt, web3, number: int) -> Tuple[str, str]:
        if transaction.to is None:  # a deployment: by its contract's name once it has one
            contract, _ = self.holder(web3, receipt.contractAddress, number)
            return contract or "(contract creation)", "constructor"
        contract, functions = self.holder(web3, transaction.to, number)
        data = bytes(transaction.input)
        if contract is None:
            return transaction.to, "0x" + data[:4].hex() if data else "(transfer)"
        return contract, functions.get(data[:4], "0x" + data[:4].hex() if data else "(transfer)")

    def lines(self) -> List[str]:
        if not self.used:
            return ["no transactions"]
        header = f"{'chain':<18} {'contract':<44} {'function':<24} {'calls':>5} " \
                 f"{'min':>9} {'median':>9} {'max':>9}"
        rows = [
            f"{chain:<18} {contract:<44} {function:<24} {len(gas):>5} "
            f"{min(gas):>9} {int(median(gas)):>9} {max(gas):>9}"
            for (chain, contract, function), gas in sorted(self.used.items())
        ]
        return [header, *rows]
