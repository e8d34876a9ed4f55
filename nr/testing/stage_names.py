"""
How a test names a rollup's stage: a number, or the same number written as
text ("1" is stage 1), as the ``stage`` marker and the ``rollups`` fixture's
keys take it. Imported by the plugin when pytest loads it, so it imports
nothing.
"""

from typing import Any, Optional


def stage_number(stage: Any) -> Optional[int]:
    """The stage number ``stage`` names (an int, or digits as text); None for anything else."""
    if isinstance(stage, int) and not isinstance(stage, bool):
        return stage
    if isinstance(stage, str) and stage.strip().isascii() and stage.strip().isdigit():
        return int(stage)
    return None
