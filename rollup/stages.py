"""
Trust stages as data: one JSON preset per stage, which a user can copy and change.

A preset holds the rules the L1 ``NativeRollup`` contract enforces. Loading
one checks it against what its stage requires in the L2BEAT Stages
framework, so a file that calls itself Stage 1 cannot keep a Stage 0 power.
"""

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Union

PRESETS = Path(__file__).parent / "presets"
STAGES = (0, 1, 2)


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

    def contract_parameters(self) -> tuple:
        """The ``Parameters`` struct of ``NativeRollup.vy``, in field order."""
        return (
            self.stage,
            self.finality_delay,
            self.inclusion_delay,
            self.proposer_timeout,
            self.operator_can_replace_root,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def stage_requirements(config: StageConfig) -> list:
    """What ``config`` lacks for the stage it names (empty when it qualifies)."""
    problems = []
    if config.stage not in STAGES:
        problems.append(f"stage must be one of {STAGES}, not {config.stage}")
    if config.stage >= 1:
        if config.operator_can_replace_root:
            problems.append(f"stage {config.stage}: the state root moves only through EXECUTE")
        if config.inclusion_delay <= 0:
            problems.append(f"stage {config.stage}: forced inclusion needs an inclusion_delay")
    if config.stage == 2 and config.proposer_timeout <= 0:
        problems.append("stage 2: anyone may propose when the sequencer is silent")
    if config.l2_gas_limit <= 0 or config.l2_chain_id <= 0:
        problems.append("l2_chain_id and l2_gas_limit must be positive")
    return problems


def load_preset(name: Union[int, str, Path]) -> StageConfig:
    """A preset by stage number (0, 1, 2) or by path to a JSON file."""
    path = PRESETS / f"stage{name}.json" if str(name) in map(str, STAGES) else Path(str(name))
    if not path.exists() and str(name).isdigit():
        raise InvalidPreset(f"no stage {name}: the stages are {STAGES}, or give a preset file")
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise InvalidPreset(f"{path}: {error}") from error
    names = {field.name for field in fields(StageConfig)}
    unknown = set(document) - names
    missing = names - set(document)
    if unknown or missing:
        raise InvalidPreset(
            f"{path}: unknown fields {sorted(unknown)}, missing fields {sorted(missing)}"
        )
    for key, value in document.items():
        expected = bool if key == "operator_can_replace_root" else int
        if type(value) is not expected:
            raise InvalidPreset(f"{path}: {key} must be {expected.__name__}, not {value!r}")
    config = StageConfig(**document)
    problems = stage_requirements(config)
    if problems:
        raise InvalidPreset(f"{path}: " + "; ".join(problems))
    return config
