"""Property-based tests of the generated OpenAPI document against the running service."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

# A 413 is the documented refusal of a batch over the limit (schemathesis expects 4xx codes
# it knows for "too many items"). Everything else is schemathesis' defaults, all checks on.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
"""


def test_schemathesis_finds_no_server_error_and_no_schema_violation(service, tmp_path):
    st = Path(sys.executable).parent / "st"
    if not st.exists() and not shutil.which("st"):
        pytest.skip("schemathesis is not installed (pip install schemathesis)")
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    result = subprocess.run(
        [str(st if st.exists() else "st"), "--config-file", str(config), "run", f"{service.url}/openapi.json",
         "--checks", "all", "--max-examples", "40", "--workers", "2", "--seed", "1",
         "-H", f"Authorization: Bearer {service.key}"],
        capture_output=True, text=True, timeout=120)
    tail = "\n".join(result.stdout.splitlines()[-40:])
    assert result.returncode == 0, tail
    assert "No issues found" in result.stdout, tail
    assert "Selected: 7/7" in result.stdout, tail  # every operation (the service takes no upload)
    assert "Traceback" not in service.log.read_text()
