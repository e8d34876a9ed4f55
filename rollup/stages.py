"""
Trust stages as data: one JSON preset per stage, which a user can copy and change.

A preset holds the rules the L1 ``NativeRollup`` contract enforces. Loading
one checks it against what its stage requires in the L2BEAT Stages
framework, so a file that calls itself Stage 1 cannot keep a Stage 0 power.
"""

import json
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Tuple, Union

from eth_utils import is_checksum_address

PRESETS = Path(__file__).parent / "presets"
STAGES = (0, 1, 2)
DAY = 86400
# L2BEAT: users have this long to exit before an unwanted upgrade takes effect.
MIN_EXIT_WINDOW = {1: 7 * DAY, 2: 30 * DAY}
# L2BEAT: a Security Council has at least 8 members and a threshold above 75%.
MIN_COUNCIL_MEMBERS = 8
FREEZERS = ("none", "operator", "council")
# Durations (seconds) and counts that are never negative.
NON_NEGATIVE = (
    "finality_delay", "inclusion_delay", "proposer_timeout", "upgrade_delay", "council_threshold",
)


class InvalidPreset(ValueError):
    """A stage preset that is unreadable or breaks its stage's requirements."""


@dataclass(frozen=True)
class StageConfig:
    stage: int
    l2_chain_id: int
    l2_gas_limit: int
    # Seconds after an L2 block settles before withdrawals from it can be claimed.
    finality_delay: int
    # Seconds within which the sequencer must take in a queued L1 message; 0: never forced.
    inclusion_delay: int
    # Seconds of sequencer silence after which anyone may propose blocks; 0: never.
    proposer_timeout: int
    # The operator key may set the L2 state root without EXECUTE.
    operator_can_replace_root: bool
    # Seconds the owner's (operator's) upgrades wait in the governance timelock.
    upgrade_delay: int
    # Security Council member addresses (none: no council) and how many must sign.
    security_council: Tuple[str, ...]
    council_threshold: int
    # The council may act only once the rollup holds a proof of a bug (Stage 2).
    council_needs_bug_proof: bool
    # Who may freeze an account's withdrawals on L2 (a regulated L2): "none",
    # "operator" (the operator key) or "council" (the Security Council's threshold).
    freezer: str = "none"

    @property
    def exit_window(self) -> int:
        """
        Seconds a user has to leave after an upgrade is announced, without the
        operators' help: the upgrade delay less the time to force a withdrawal
        into a settled block (the inclusion delay, or the proposer timeout if
        the sequencer goes silent) and its finality delay. None where
        inclusion is not forced.
        """
        if self.inclusion_delay <= 0:
            return 0
        forcing = max(self.inclusion_delay, self.proposer_timeout)
        return max(0, self.upgrade_delay - forcing - self.finality_delay)

    def contract_parameters(self) -> tuple:
        """The ``Parameters`` struct of ``NativeRollup.vy``, in field order."""
        return (
            self.stage,
            self.finality_delay,
            self.inclusion_delay,
            self.proposer_timeout,
            self.operator_can_replace_root,
        )

    def governance_arguments(self, owner: str, bug_record: str) -> tuple:
        """The constructor arguments of ``Governance.vy``; members go in ascending order."""
        council = sorted(self.security_council, key=lambda member: int(member, 16))
        return (
            owner, self.upgrade_delay, council, self.council_threshold,
            self.council_needs_bug_proof, bug_record,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def value_problems(config: StageConfig) -> list:
    """
    What is wrong with ``config``'s values whatever stage it claims: no
    negative delay, a threshold its council can reach, members listed once.
    """
    problems = []
    if config.stage not in STAGES:
        problems.append(f"stage must be one of {STAGES}, not {config.stage}")
    problems += [
        f"{name} must not be negative ({value})"
        for name, value in asdict(config).items()
        if name in NON_NEGATIVE and value < 0
    ]
    if config.l2_gas_limit <= 0 or config.l2_chain_id <= 0:
        problems.append("l2_chain_id and l2_gas_limit must be positive")
    members = config.security_council
    if not all(is_checksum_address(member) for member in members):
        problems.append("security_council: members must be checksummed addresses")
    if len({member.lower() for member in members}) != len(members):
        problems.append("security_council: a member is listed twice")
    threshold_ok = 0 < config.council_threshold <= len(members) if members else (
        config.council_threshold == 0
    )
    if not threshold_ok:
        problems.append(f"council_threshold must be 1..{len(members)} with a council, 0 without")
    if config.freezer not in FREEZERS:
        problems.append(f"freezer must be one of {', '.join(FREEZERS)}, not {config.freezer!r}")
    if config.freezer == "council" and not members:
        problems.append("freezer: a council freeze needs a security_council")
    return problems


def stage_requirements(config: StageConfig) -> list:
    """What ``config`` lacks for the stage it names (empty when it qualifies)."""
    problems = value_problems(config)
    if config.stage >= 1:
        if config.operator_can_replace_root:
            problems.append(f"stage {config.stage}: the state root moves only through EXECUTE")
        if config.inclusion_delay <= 0:
            problems.append(f"stage {config.stage}: forced inclusion needs an inclusion_delay")
        if config.freezer == "operator":
            problems.append(
                f"stage {config.stage}: only a Security Council may freeze withdrawals,"
                " not the operator"
            )
    if config.stage == 2 and config.proposer_timeout <= 0:
        problems.append("stage 2: anyone may propose when the sequencer is silent")
    minimum = MIN_EXIT_WINDOW.get(config.stage)
    if minimum is not None and config.exit_window < minimum:
        problems.append(
            f"stage {config.stage}: the exit window (upgrade_delay less forced inclusion and"
            f" finality: {config.exit_window} s) must be at least {minimum // DAY} days"
        )
    problems.extend(council_requirements(config))
    return problems


def council_requirements(config: StageConfig) -> list:
    """What the Security Council lacks for the stage ``config`` names."""
    members = config.security_council
    problems = []
    if config.stage >= 1 and members:
        if len(members) < MIN_COUNCIL_MEMBERS:
            problems.append(
                f"stage {config.stage}: a Security Council has at least"
                f" {MIN_COUNCIL_MEMBERS} members, not {len(members)}"
            )
        if 4 * config.council_threshold <= 3 * len(members):
            problems.append(
                f"stage {config.stage}: the council threshold must be above 75%"
                f" ({config.council_threshold} of {len(members)} is not)"
            )
    if config.stage == 2 and members and not config.council_needs_bug_proof:
        problems.append("stage 2: the Security Council acts only on a proven bug")
    return problems


def load_preset(name: Union[int, str, Path]) -> StageConfig:
    """A preset by stage number (0, 1, 2) or by path to a JSON file."""
    path = PRESETS / f"stage{name}.json" if str(name) in map(str, STAGES) else Path(str(name))
    if not path.exists() and str(name).lstrip("-").isdigit():
        raise InvalidPreset(f"no stage {name}: the stages are {STAGES}, or give a preset file")
    if not path.is_file():
        raise InvalidPreset(f"{path.absolute()}: no preset file there")
    try:
        document = json.loads(Path(path).read_text())
    except OSError as error:
        raise InvalidPreset(f"{path}: cannot be read ({error.strerror})") from error
    except ValueError as error:  # JSON's decoder, or text that is no UTF-8
        raise InvalidPreset(f"{path} is not a JSON preset: {error}") from error
    config = stage_config(document, path)
    problems = stage_requirements(config)
    if problems:
        raise InvalidPreset(f"{path}: " + "; ".join(problems))
    return config


def stage_config(document: object, source: Union[str, Path]) -> StageConfig:
    """
    A ``StageConfig`` from a preset's JSON document, whatever stage it
    claims: every field present, of its type, with sound values
    (``InvalidPreset`` naming ``source`` and the field otherwise).
    """
    if not isinstance(document, dict):
        raise InvalidPreset(f"{source}: a preset is a JSON object of its fields")
    names = {field.name for field in fields(StageConfig)}
    optional = {field.name for field in fields(StageConfig) if field.default is not MISSING}
    unknown = set(document) - names
    missing = names - set(document) - optional
    if unknown or missing:
        parts = [f"{label} fields {sorted(names)}" for label, names in
                 (("unknown", unknown), ("missing", missing)) if names]
        raise InvalidPreset(f"{source}: " + ", ".join(parts))
    types = {field.name: field.type for field in fields(StageConfig)}
    for key, value in document.items():
        expected = types[key] if types[key] in (bool, int, str) else list
        if type(value) is not expected:
            raise InvalidPreset(f"{source}: {key} must be {expected.__name__}, not {value!r}")
    config = StageConfig(**{**document, "security_council": tuple(document["security_council"])})
    problems = value_problems(config)
    if problems:
        raise InvalidPreset(f"{source}: " + "; ".join(problems))
    return config
