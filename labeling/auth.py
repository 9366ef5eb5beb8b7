"""Who may call what: device API keys for ingest, staff roles by group."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from labeling.models import IngestKey
from labeling.selectors import ingest_key_for

ANNOTATOR = "annotator"
SUPERVISOR = "supervisor"
MANAGE_INGEST_KEYS = "labeling.manage_ingest_keys"


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
        now = timezone.now()
        key = ingest_key_for(raw=raw.strip(), now=now)
        if key is None:
            raise exceptions.AuthenticationFailed("The device key is not valid.")
        _mark_used(key, now)
        return DevicePrincipal(key), key

    def authenticate_header(self, request):
        return self.keyword


def _mark_used(key: IngestKey, now) -> None:
    """Record that the key was used, to the minute: the row just read says whether its time is
    older than that, so most requests write nothing; the conditional update keeps concurrent
    requests from writing it twice. Here rather than in intake's services, which stand above auth."""
    if key.last_used_at is not None and key.last_used_at > now - IngestKey.LAST_USED_RESOLUTION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - IngestKey.LAST_USED_RESOLUTION)
    IngestKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)


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


def may_manage_ingest_keys(user: AbstractBaseUser) -> bool:
    """A supervisor given the permission labeling.manage_ingest_keys, directly or through a group."""
    return has_role(user, SUPERVISOR) and user.has_perm(MANAGE_INGEST_KEYS)


class CanManageIngestKeys(permissions.BasePermission):
    message = "Only supervisors allowed to manage ingest keys may do this."

    def has_permission(self, request, view):
        return may_manage_ingest_keys(request.user)
