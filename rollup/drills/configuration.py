"""
What ``nr compare`` compares: a named rollup configuration (a stage preset,
or a preset with some values changed) and the L1 prover setting its proofs
drill runs under. A configuration file names a preset to start from and the
values it changes; its stage is whatever the drills then show, so no stage
requirement is checked here, only that each value makes sense.
"""

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Union

from prover.constants import DEFAULT_PROOF_TYPES, MAX_EXECUTION_PROOFS_PER_PAYLOAD

from ..stages import STAGES, InvalidPreset, StageConfig, load_preset, stage_config

# The L1 prover setting of `nr up`: 3 proofs of 5 provers, one a re-execution.
DEFAULT_PROOF_THRESHOLD = 3
DEFAULT_PROVERS = len(DEFAULT_PROOF_TYPES)
# Configurations shipped with the package, by name (--config regulated).
BUNDLED = Path(__file__).parent / "configurations"
# A configuration file's own fields, besides the preset's.
OWN_FIELDS = ("name", "base", "proof_threshold", "provers", "proof_requires_reexecution")


class InvalidConfiguration(ValueError):
    """A configuration file or stage name ``nr compare`` cannot use, with the reason."""


@dataclass(frozen=True)
class Configuration:
    name: str
    stage: StageConfig
    # Proofs mode on L1 (the proofs drill): k of n provers, one a re-execution proof.
    proof_threshold: int = DEFAULT_PROOF_THRESHOLD
    provers: int = DEFAULT_PROVERS
    proof_requires_reexecution: bool = True
    # Where it came from: "preset stage 1", or the file and what it changed.
    source: str = ""

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "rollup": asdict(self.stage),
            "exit_window_s": self.stage.exit_window,
            "proofs": {
                "threshold": self.proof_threshold,
                "provers": self.provers,
                "requires_reexecution": self.proof_requires_reexecution,
            },
        }


def preset_configuration(stage: Union[int, str]) -> Configuration:
    """The demo preset of ``stage`` (0, 1 or 2), named ``stage<N>``."""
    if str(stage).strip() not in map(str, STAGES):
        raise InvalidConfiguration(
            f"unknown stage {str(stage)!r}: the stages are {', '.join(map(str, STAGES))}"
            " (or give --config FILE)"
        )
    number = int(stage)
    return Configuration(f"stage{number}", load_preset(number), source=f"preset stage {number}")


def load_configuration(path: Union[str, Path]) -> Configuration:
    """
    A configuration file: a JSON object with ``base`` (a stage number or a
    preset file; default: the file is a whole preset), any preset fields to
    change, and optionally ``name`` and the proofs-mode fields. A name of a
    bundled configuration (``regulated``, ``council-freeze``) works as a path.
    """
    path = Path(path)
    if not path.exists() and (BUNDLED / f"{path}.json").is_file():
        path = BUNDLED / f"{path}.json"
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        bundled = ", ".join(sorted(found.stem for found in BUNDLED.glob("*.json")))
        raise InvalidConfiguration(
            f"{path}: cannot read it ({error.strerror}); the bundled configurations are {bundled}"
        ) from error
    except ValueError as error:
        raise InvalidConfiguration(f"{path}: not JSON ({error})") from error
    if not isinstance(document, dict):
        raise InvalidConfiguration(f"{path}: a configuration is a JSON object")
    preset_fields = [field.name for field in fields(StageConfig)]
    unknown = sorted(set(document) - set(preset_fields) - set(OWN_FIELDS))
    if unknown:
        raise InvalidConfiguration(
            f"{path}: unknown field {', '.join(map(repr, unknown))}; the fields are"
            f" {', '.join(OWN_FIELDS + tuple(preset_fields))}"
        )
    changes = {key: value for key, value in document.items() if key in preset_fields}
    try:
        stage = stage_config({**_base(document, path), **changes}, path)
    except InvalidPreset as error:
        raise InvalidConfiguration(str(error)) from error
    name = document.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise InvalidConfiguration(f"{path}: name must be a non-empty string")
    proofs = {key: document[key] for key in OWN_FIELDS[2:] if key in document}
    configuration = Configuration(
        name.strip(), stage, source=_describe(document, path, changes), **proofs
    )
    _check_proofs(configuration, path)
    return configuration


def _base(document: dict, path: Path) -> dict:
    """The fields of the preset a file starts from: ``base`` (a stage or a preset file)."""
    if "base" not in document:
        return {}
    base = document["base"]
    if isinstance(base, bool) or not isinstance(base, (int, str)):
        raise InvalidConfiguration(f"{path}: base must be a stage number or a preset file")
    if str(base) in map(str, STAGES):
        return preset_fields(load_preset(int(base)))
    if isinstance(base, int):
        raise InvalidConfiguration(
            f"{path}: base: unknown stage {base}; the stages are {', '.join(map(str, STAGES))}"
        )
    return preset_fields(load_preset(path.parent / base))


def _describe(document: dict, path: Path, changes: dict) -> str:
    base = document.get("base")
    start = f"stage {base} preset" if base is not None else "a whole preset"
    changed = ", ".join(f"{key}={value}" for key, value in changes.items())
    return f"{path.name}: {start}" + (f", changed {changed}" if changed else "")


def _check_proofs(configuration: Configuration, path: Path) -> None:
    k, n = configuration.proof_threshold, configuration.provers
    if type(k) is not int or not 1 <= k <= MAX_EXECUTION_PROOFS_PER_PAYLOAD:
        raise InvalidConfiguration(
            f"{path}: proof_threshold must be 1..{MAX_EXECUTION_PROOFS_PER_PAYLOAD}, not {k!r}"
        )
    if type(n) is not int or not k <= n <= len(DEFAULT_PROOF_TYPES):
        raise InvalidConfiguration(
            f"{path}: provers must be {k}..{len(DEFAULT_PROOF_TYPES)} (at least"
            f" proof_threshold, one per proof type), not {n!r}"
        )
    if type(configuration.proof_requires_reexecution) is not bool:
        raise InvalidConfiguration(f"{path}: proof_requires_reexecution must be true or false")


def with_changes(configuration: Configuration, name: str, **changes) -> Configuration:
    """``configuration`` with preset values changed (for tests and what-ifs)."""
    stage = stage_config({**preset_fields(configuration.stage), **changes}, name)
    changed = ", ".join(f"{key}={value}" for key, value in changes.items())
    return replace(configuration, name=name, stage=stage,
                   source=f"{configuration.source}, changed {changed}")


def preset_fields(stage: StageConfig) -> dict:
    """A preset's fields as its JSON file holds them."""
    return json.loads(stage.to_json())
