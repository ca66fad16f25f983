"""docker-compose.yml runs the service on Neo4j 5 (checked by parsing it; no
Docker engine is needed for that)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_compose_runs_the_service_on_neo4j_5() -> None:
    services = _compose()["services"]
    assert services["neo4j"]["image"].startswith("neo4j:5")
    service = services["directory"]
    assert service["build"] == "."
    assert service["environment"]["DIRECTORY_GRAPH_URL"].startswith("neo4j://neo4j:")
    assert service["depends_on"]["neo4j"]["condition"] == "service_healthy"
    assert "8000:8000" in service["ports"]


def test_dockerfile_serves_the_console_script() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile
    assert '"directory", "serve"' in dockerfile
