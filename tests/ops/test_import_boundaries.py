"""Import boundaries (issue 16): the import-linter contracts hold, and the domain packages load no framework.

`make lint` runs the contracts too; these tests keep them in the suite, and check in a fresh interpreter what
a static import graph cannot: what importing a domain package actually loads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("fastapi", "starlette", "sqlalchemy", "aiokafka", "httpx", "uvicorn", "alembic", "asyncpg")
# Every module of each domain package is imported, not just the package.
PROBE = """
import importlib, json, pkgutil, sys
root = importlib.import_module(sys.argv[1])
for found in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
    importlib.import_module(found.name)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_the_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run([str(lint), "--no-cache", "--no-logo"], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize("package", ["intake.domain", "tracker.domain", "router.domain", "notifier.domain", "catalogue",
                                     "schemas"])
def test_a_domain_package_loads_no_framework(package: str) -> None:
    run = subprocess.run([sys.executable, "-c", PROBE, package], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=True)
    loaded = set(json.loads(run.stdout.splitlines()[-1]))
    assert loaded.isdisjoint(FRAMEWORKS), f"{package} loads {sorted(loaded & set(FRAMEWORKS))}"
    if package != "router.domain":
        assert "router" not in loaded, f"{package} loads the router"


# The modules a handler, store or domain takes who acted from, and the audit log: plain, whatever imports them.
LOADED = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"


@pytest.mark.parametrize("module", ["services.principal", "services.audit", "services.auth.keys",
                                    "tracker.domain.access"])
def test_who_acted_loads_no_http_layer(module: str) -> None:
    run = subprocess.run([sys.executable, "-c", LOADED, module], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=True)
    loaded = set(json.loads(run.stdout.splitlines()[-1]))
    assert not {"fastapi", "starlette", "services.caller"} & loaded, f"{module} loads the HTTP layer"
