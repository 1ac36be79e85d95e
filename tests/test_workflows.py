"""The action, the reusable workflow and README's copy-me workflow against GitHub's schemas."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
WORKFLOW = ROOT / ".github/workflows/forkman-nightly.yml"

needs_validator = pytest.mark.skipif(
    importlib.util.find_spec("check_jsonschema") is None,
    reason="check-jsonschema is not installed (pip install '.[test]')",
)


def validate(schema: str, path: Path) -> None:
    """check-jsonschema with the schema it ships (SchemaStore's), so no network is needed."""
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def readme_workflows(tmp_path: Path) -> list[Path]:
    """README's YAML blocks that are whole workflows (the ones a team copies)."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    paths = []
    for i, block in enumerate(b for b in blocks if "jobs:" in b and "\non:" in f"\n{b}"):
        path = tmp_path / f"readme-{i}.yml"
        path.write_text(block)
        paths.append(path)
    return paths


@needs_validator
def test_action_matches_githubs_schema() -> None:
    validate("vendor.github-actions", ACTION)


@needs_validator
def test_workflows_match_githubs_schema(tmp_path: Path) -> None:
    copied = readme_workflows(tmp_path)
    assert copied, "README shows the workflow a team copies"
    for path in [WORKFLOW, *copied]:
        validate("vendor.github-workflows", path)


def test_inputs_never_reach_a_script_as_text() -> None:
    """`${{ inputs.X }}` inside `run:` is shell injection; inputs go through `env:`."""
    for path in (ACTION, WORKFLOW):
        data = yaml.safe_load(path.read_text())
        steps = data["runs"]["steps"] if "runs" in data else data["jobs"]["sync"]["steps"]
        for step in steps:
            assert "${{" not in step.get("run", ""), (path.name, step)


def test_readme_calls_the_reusable_workflow_with_what_it_declares(tmp_path: Path) -> None:
    declared = yaml.safe_load(WORKFLOW.read_text())[True]["workflow_call"]["inputs"]
    required = {name for name, spec in declared.items() if spec.get("required")}
    calls = [
        job
        for path in readme_workflows(tmp_path)
        for job in yaml.safe_load(path.read_text())["jobs"].values()
        if "forkman-nightly.yml" in job.get("uses", "")
    ]
    assert calls
    for job in calls:
        given = set(job.get("with", {}))
        assert required <= given <= set(declared), (given, declared)
        assert job["permissions"] == {
            "contents": "write",
            "pull-requests": "write",
            "issues": "write",
        }
