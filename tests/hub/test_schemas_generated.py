"""The committed JSON Schemas are exactly what the contract's payload models generate.

Real: the pydantic models in hub.contract.payloads, the files in hub/schemas/,
and the schema writer run as a command. Stood in: nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub.contract import payloads

SCHEMAS = Path(__file__).resolve().parents[2] / "hub" / "schemas"


@pytest.mark.parametrize("name", [*payloads.MODELS, "status"])
def test_committed_schema_equals_the_generated_one(name):
    committed = (SCHEMAS / f"{name}.json").read_text(encoding="utf-8")
    assert committed == payloads.schema_text(name), (
        f"hub/schemas/{name}.json is stale: run python -m hub.contract.payloads"
    )


def test_every_committed_schema_has_a_model():
    names = {p.stem for p in SCHEMAS.glob("*.json")}
    assert names == {*payloads.MODELS, "status"}


def test_the_check_command_fails_on_a_stale_file(tmp_path, monkeypatch):
    monkeypatch.setattr(payloads, "SCHEMA_DIR", tmp_path)
    assert payloads.main([]) == 0  # writes them all
    (tmp_path / "ack.json").write_text("{}\n", encoding="utf-8")
    assert payloads.main(["--check"]) == 1
    assert payloads.main([]) == 0
    assert payloads.main(["--check"]) == 0


def test_the_writer_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "hub.contract.payloads", "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
