"""The public contract does not move by accident: the OpenAPI schema equals the snapshot in
tests/fixtures/openapi.<database>.json (the database bounds some integers). When a change to the
contract is meant, regenerate both snapshots with `.venv/bin/python manage.py spectacular --format
openapi-json --file tests/fixtures/openapi.sqlite.json`, and the same with DATABASE_URL set to
PostgreSQL and `openapi.postgresql.json`, and say so in the commit."""

import json
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.django_db
def test_the_schema_equals_its_snapshot():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    served = json.loads(response.content)
    snapshot = json.loads((FIXTURES / f"openapi.{connection.vendor}.json").read_text())
    moved = sorted(set(served["paths"]) ^ set(snapshot["paths"]))
    assert not moved, f"paths added or removed: {moved}"
    for path, operations in snapshot["paths"].items():
        assert served["paths"][path] == operations, f"{path} changed"
    assert served == snapshot
