"""One error shape for every API error: {"error": {"code", "message", "fields"?}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A refusal the caller can act on. Services raise it, or one of the kinds below, and say what
    went wrong in words, never in HTTP: the one exception handler (api_exception_handler) turns the
    kind into a status. ApplicationError itself means the input is invalid (400).
    `retry_after`: seconds after which trying again may succeed (sent as Retry-After)."""

    def __init__(self, code: str, message: str, *, fields: dict | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.retry_after = retry_after


class Refused(ApplicationError):
    """The caller may not do this (the rules, not the login, say no)."""


class NotFound(ApplicationError):
    """No such thing, or none the caller may know of."""


class Conflict(ApplicationError):
    """The thing is not in a state that allows this now."""


class Gone(ApplicationError):
    """It existed and does not any more (withdrawn, deleted, expired)."""


class TooLarge(ApplicationError):
    """The upload is larger than allowed."""


class TooMany(ApplicationError):
    """Too much, too soon: wait (retry_after) and ask again."""


class Unavailable(ApplicationError):
    """The service cannot do it now through no fault of the caller; try again later."""


STATUS = {ApplicationError: 400, Refused: 403, NotFound: 404, Conflict: 409, Gone: 410, TooLarge: 413, TooMany: 429,
          Unavailable: 503}


def status_of(exc: ApplicationError) -> int:
    return next(STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS)


def error_body(code: str, message: str, fields: dict | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [str(item) if not isinstance(item, (dict, list)) else _flatten(item) for item in detail]
    return str(detail)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return Response(error_body(exc.code, exc.message, exc.fields), status=status_of(exc), headers=headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid_input", "Some fields are invalid.", _flatten(exc.detail))
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = error_body(code if isinstance(code, str) else "error", str(detail))
    return response


class StrictInputSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know, naming each, instead of dropping
    them silently: a misspelt field is a mistake the caller should hear about."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise exceptions.ValidationError({name: ["Unexpected field."] for name in unknown})
        return super().to_internal_value(data)


class ErrorSerializer(serializers.Serializer):
    error = inline_serializer(
        "ErrorBody",
        {"code": serializers.CharField(), "message": serializers.CharField(),
         "fields": serializers.DictField(required=False)},
    )
