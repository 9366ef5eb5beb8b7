"""OpenAPI schema generation: every view's nested Input/Output serializer gets a component of its own."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ApiSchema(AutoSchema):
    """Views nest serializers named InputSerializer and OutputSerializer; by class name alone they
    would all share the components "Input" and "Output" and describe one another's fields. A
    nested serializer is named after its view instead: LeakTraceApi.InputSerializer -> LeakTraceInput."""

    def get_serializer_name(self, serializer, direction):
        cls = serializer.__class__
        owner, _, own = cls.__qualname__.rpartition(".")
        if owner:
            return owner.removesuffix("Api") + own.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)


class DeviceKeyScheme(OpenApiAuthenticationExtension):
    """Devices and ingest services send `Authorization: Api-Key <key>`."""

    target_class = "labeling.auth.IngestKeyAuthentication"
    name = "deviceKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "The device key, sent as `Api-Key <key>`."}
