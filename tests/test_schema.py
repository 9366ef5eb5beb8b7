"""The OpenAPI schema is served and lists the public contract's endpoints."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_schema_lists_the_contract():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ["/api/v1/clips", "/api/v1/shifts", "/api/v1/shifts/current/end", "/api/v1/assignments/next",
                 "/api/v1/assignments/{assignment_id}/audio", "/api/v1/assignments/{assignment_id}/submit",
                 "/api/v1/assignments/{assignment_id}/skip", "/api/v1/me/consent"]:
        assert path in text
