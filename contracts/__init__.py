"""
Vyper sources of the L1 rollup contracts and L2 predeploys, compiled by the
package on first use. The sources are the truth: no bytecode is kept by hand.
A compiled contract is kept on disk (``NR_CONTRACT_CACHE``, by default
``~/.cache/native-rollups/contracts``) under a hash of the Vyper version and
every source, so a new process does not compile again (NativeRollup takes
about 10 s) and any edit compiles afresh.
"""

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import vyper
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from vyper.compiler.input_bundle import FilesystemInputBundle

SOURCES = Path(__file__).parent


class UnknownContract(ValueError):
    """No Vyper source of that name in ``contracts/``."""


@dataclass(frozen=True)
class CompiledContract:
    name: str
    abi: List[Dict[str, Any]]
    bytecode: bytes
    # The code a deployment leaves at its address; predeploys go into a genesis as this.
    runtime: bytes
    # Storage variable -> its first slot (a predeploy's state is written into a genesis there).
    slots: Dict[str, int] = field(default_factory=dict)

    def function(self, name: str) -> Dict[str, Any]:
        for entry in self.abi:
            if entry.get("type") == "function" and entry["name"] == name:
                return entry
        raise KeyError(f"{self.name} has no function {name!r}")

    def selector(self, name: str) -> bytes:
        """The first four bytes of a call of ``name``."""
        types = [abi_type(argument) for argument in self.function(name)["inputs"]]
        return keccak(f"{name}({','.join(types)})".encode())[:4]

    def encode_call(self, name: str, *args: Any) -> bytes:
        """Calldata for ``name(*args)``: selector || ABI-encoded arguments."""
        types = [abi_type(argument) for argument in self.function(name)["inputs"]]
        return self.selector(name) + abi_encode(types, list(args))

    def decode_result(self, name: str, data: bytes) -> Sequence[Any]:
        types = [output["type"] for output in self.function(name)["outputs"]]
        return abi_decode(types, data)

    def deployment(self, *constructor_args: Any) -> bytes:
        """Init code: bytecode followed by the ABI-encoded constructor arguments."""
        constructor = [entry for entry in self.abi if entry.get("type") == "constructor"]
        types = [argument["type"] for argument in constructor[0]["inputs"]] if constructor else []
        return self.bytecode + (abi_encode(types, list(constructor_args)) if types else b"")


def abi_type(argument: Dict[str, Any]) -> str:
    """The canonical type of an ABI argument; structs become tuples of their components."""
    kind = argument["type"]
    if not kind.startswith("tuple"):
        return kind
    components = ",".join(abi_type(component) for component in argument["components"])
    return f"({components}){kind[len('tuple'):]}"


def available() -> List[str]:
    """Deployable contracts; lower-case sources are modules other contracts import."""
    return sorted(path.stem for path in SOURCES.glob("*.vy") if path.stem[0].isupper())


@lru_cache(maxsize=None)
def compile_contract(name: str) -> CompiledContract:
    """``contracts/<name>.vy`` compiled with the installed Vyper (or as it was, from the cache)."""
    source = SOURCES / f"{name}.vy"
    if not source.is_file():
        raise UnknownContract(f"no contract {name!r}; available: {', '.join(available())}")
    cached = cache_path(name)
    compiled = read_cached(cached, name) if cached is not None else None
    if compiled is None:
        compiled = compile_source(name)
        if cached is not None:
            write_cached(cached, compiled)
    return compiled


def compile_source(name: str) -> CompiledContract:
    source = SOURCES / f"{name}.vy"
    output = vyper.compile_code(
        source.read_text(),
        contract_path=source.name,
        # Contracts import shared modules (e.g. merkle_patricia) from this directory.
        input_bundle=FilesystemInputBundle([SOURCES]),
        output_formats=["abi", "bytecode", "bytecode_runtime", "layout"],
    )
    layout = output["layout"].get("storage_layout", {})
    return CompiledContract(
        name,
        output["abi"],
        bytes.fromhex(output["bytecode"][2:]),
        bytes.fromhex(output["bytecode_runtime"][2:]),
        {variable: where["slot"] for variable, where in layout.items() if "slot" in where},
    )


# -- the compile cache --


def cache_directory() -> Optional[Path]:
    """Where compiled contracts are kept; None (no cache) if NR_CONTRACT_CACHE is set empty."""
    configured = os.environ.get("NR_CONTRACT_CACHE")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "native-rollups" / "contracts"


def sources_digest() -> str:
    """A hash of the compiler's version and every source a contract may import."""
    digest = hashlib.sha256(vyper.__version__.encode())
    for path in sorted(SOURCES.glob("*.vy")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_path(name: str) -> Optional[Path]:
    directory = cache_directory()
    return None if directory is None else directory / f"{name}-{sources_digest()[:32]}.json"


def read_cached(path: Path, name: str) -> Optional[CompiledContract]:
    """The contract kept at ``path``, or None if there is none or it is unreadable."""
    try:
        kept = json.loads(path.read_text())
        return CompiledContract(
            name, kept["abi"], bytes.fromhex(kept["bytecode"]), bytes.fromhex(kept["runtime"]),
            {variable: int(slot) for variable, slot in kept["slots"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write_cached(path: Path, compiled: CompiledContract) -> None:
    """Keep ``compiled`` at ``path``, written whole then renamed; an unwritable cache is skipped."""
    kept = asdict(compiled)
    kept.update(bytecode=compiled.bytecode.hex(), runtime=compiled.runtime.hex())
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w") as file:
            json.dump(kept, file)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
