"""Who may call what: device API keys for ingest, staff roles by group."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from rest_framework import authentication, exceptions, permissions

from labeling.models import IngestKey
from labeling.selectors import ingest_key_for

ANNOTATOR = "annotator"
SUPERVISOR = "supervisor"


def has_role(user: AbstractBaseUser, role: str) -> bool:
    if not user or not user.is_authenticated:
        return False
    cache = getattr(user, "_role_cache", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._role_cache = cache
    return role in cache


class DevicePrincipal:
    """The caller of the ingest API: a device platform holding a key, not a person."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, key: IngestKey):
        self.key = key


class IngestKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        keyword, _, raw = header.partition(" ")
        if keyword != self.keyword or not raw.strip():
            raise exceptions.AuthenticationFailed("Send the device key as 'Authorization: Api-Key <key>'.")
        key = ingest_key_for(raw=raw.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("The device key is not valid.")
        return DevicePrincipal(key), key

    def authenticate_header(self, request):
        return self.keyword


class IsDevice(permissions.BasePermission):
    message = "A device API key is required."

    def has_permission(self, request, view):
        return isinstance(request.user, DevicePrincipal)


class IsAnnotator(permissions.BasePermission):
    message = "Only annotators may do this."

    def has_permission(self, request, view):
        return has_role(request.user, ANNOTATOR)


class IsSupervisor(permissions.BasePermission):
    message = "Only supervisors may do this."

    def has_permission(self, request, view):
        return has_role(request.user, SUPERVISOR)
