"""The layering holds: data flows one way, no package's modules import each other in a circle."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def lint_imports(config: Path, cwd: Path) -> subprocess.CompletedProcess:
    """import-linter's check of ``config``'s contracts, run from ``cwd``."""
    environment = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), str(config), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )


def test_the_project_keeps_its_import_contracts():
    completed = lint_imports(REPOSITORY / "pyproject.toml", REPOSITORY)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "BROKEN" not in completed.stdout


def write_package(root: Path, name: str, modules: dict) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module, source in modules.items():
        (package / f"{module}.py").write_text(textwrap.dedent(source))


def test_an_upward_import_or_a_cycle_breaks_the_contracts(tmp_path):
    """The same contract types catch a lower layer importing a higher one, and a cycle."""
    write_package(tmp_path, "upper", {"api": "import lower.core\n"})
    write_package(
        tmp_path,
        "lower",
        {"core": "import upper.api\nfrom . import helpers\n", "helpers": "from . import core\n"},
    )
    config = tmp_path / "contracts.toml"
    config.write_text(
        textwrap.dedent(
            """
            [tool.importlinter]
            root_packages = ["upper", "lower"]

            [[tool.importlinter.contracts]]
            name = "upper over lower"
            type = "layers"
            layers = ["upper", "lower"]

            [[tool.importlinter.contracts]]
            name = "no cycles"
            type = "acyclic_siblings"
            ancestors = ["lower"]
            """
        )
    )
    completed = lint_imports(config, tmp_path)
    assert completed.returncode != 0
    assert "upper over lower BROKEN" in completed.stdout
    assert "no cycles BROKEN" in completed.stdout
