"""Services raise error kinds; the one handler gives each its status, the one error shape, and
Retry-After when waiting helps."""

import pytest

from core import errors


@pytest.mark.parametrize("kind, status", [
    (errors.ApplicationError, 400), (errors.Refused, 403), (errors.NotFound, 404), (errors.Conflict, 409),
    (errors.Gone, 410), (errors.TooLarge, 413), (errors.TooMany, 429), (errors.Unavailable, 503)])
def test_each_kind_has_its_status_and_the_one_shape(kind, status):
    response = errors.api_exception_handler(kind("some_code", "What went wrong.", fields={"x": ["Bad."]}), {})
    assert response.status_code == status
    assert response.data == {"error": {"code": "some_code", "message": "What went wrong.", "fields": {"x": ["Bad."]}}}
    assert "Retry-After" not in response


def test_a_kind_says_when_to_try_again():
    response = errors.api_exception_handler(errors.TooMany("too_fast", "Slow down.", retry_after=7), {})
    assert response.status_code == 429 and response["Retry-After"] == "7"


def test_a_kind_made_from_a_kind_keeps_the_nearest_status():
    class HeldBack(errors.Gone):
        pass

    assert errors.api_exception_handler(HeldBack("held", "Held."), {}).status_code == 410
