"""
The devnet's opt-in speed-ups, off until ``enable()`` is called.

Two kinds, both the same semantics as what they speed up:

- library stand-ins (``stand_ins``): faster functions put in place of py-trie's,
  pyrlp's and eth-hash's own, for the whole process;
- fork classes (``forks.accelerate``): py-evm VM classes with a faster
  interpreter loop, warm and batched account state and remembered system
  calls, which a devnet uses when the speed-ups are on; with the
  ``bls12-381`` part, EIP-2537's precompiles run over arkworks, not py_ecc.

Each kind was checked against exact versions of the libraries it reaches
into (``VERIFIED_WITH``). ``enable`` turns on only the parts whose libraries
are installed at those versions and says in one warning line which stay off.
``nr devnet``, ``nr up`` and ``nr bench`` enable them; a plain ``import``
changes nothing.
"""

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Dict, FrozenSet, Tuple

from . import stand_ins
from .forks import accelerate, accelerated_rules, receipts_of

logger = logging.getLogger(__name__)

# The versions each part was verified against (its tests compare it with the
# library's own code at these versions; other versions may rename what it replaces).
VERIFIED_WITH: Dict[str, Dict[str, str]] = {
    "trie": {"trie": "4.0.0"},
    "rlp": {"rlp": "5.0.0"},
    "eth-hash": {"eth-hash": "0.8.0"},
    "forks": {"py-evm": "0.12.1b1", "trie": "4.0.0"},
    "bls12-381": {"py-evm": "0.12.1b1", "py-arkworks-bls12381": "0.5.0"},
}
PARTS: Tuple[str, ...] = tuple(VERIFIED_WITH)

# The parts switched on in this process.
_enabled: FrozenSet[str] = frozenset()


def installed_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def mismatches(part: str) -> Dict[str, Tuple[str, str]]:
    """``distribution -> (installed, verified)`` for each library ``part`` was not verified at."""
    found = {}
    for distribution, verified in VERIFIED_WITH[part].items():
        installed = installed_version(distribution)
        if installed != verified:
            found[distribution] = (installed, verified)
    return found


def describe(wrong: Dict[str, Tuple[str, str]]) -> str:
    return ", ".join(f"{name} {have}, verified with {want}" for name, (have, want) in wrong.items())


def enable() -> FrozenSet[str]:
    """
    Switch the speed-ups on for this process, each part only where its
    libraries are at the verified versions; the parts that are on.
    """
    global _enabled
    skipped = {}
    for part in PARTS:
        if part in _enabled:
            continue
        wrong = mismatches(part)
        if wrong:
            skipped[part] = wrong
            continue
        if part in stand_ins.INSTALLERS:
            stand_ins.INSTALLERS[part]()
        _enabled = _enabled | {part}
    if skipped:
        reasons = "; ".join(f"{part} ({describe(wrong)})" for part, wrong in skipped.items())
        logger.warning("speed-ups left off for other library versions: %s", reasons)
    return _enabled


def disable() -> None:
    """Switch every speed-up off: library functions back, new devnets unaccelerated."""
    global _enabled
    stand_ins.uninstall()
    _enabled = frozenset()


def enabled(part: str = "forks") -> bool:
    """Whether ``part`` of the speed-ups is on in this process."""
    return part in _enabled


__all__ = [
    "PARTS",
    "VERIFIED_WITH",
    "accelerate",
    "accelerated_rules",
    "disable",
    "enable",
    "enabled",
    "receipts_of",
]
