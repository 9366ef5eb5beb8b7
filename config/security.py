"""Staff sign-in security: a second factor (TOTP) at every login, lockout after repeated failures,
and an idle timeout. Data subjects may turn the second factor on; once they have, it is required.

The lockout counts failed logins in the access ledger, where every one is recorded anyway.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from functools import cache

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.middleware import get_user as get_request_user
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import DEVICE_ID_SESSION_KEY, user_has_device
from django_otp import login as otp_login
from django_otp.middleware import OTPMiddleware
from django_otp.plugins.otp_totp.models import TOTPDevice

from consent.models import LedgerEntry
from consent.services import ledger_append
from core import rows
from core.errors import error_body
from core.users import unknown_name_locked_until, user_named

LAST_SEEN_SESSION_KEY = "staff_last_seen"
# Paths an authenticated but not yet verified user may reach: the second-factor page itself,
# logging out, and the static files those pages need.
MFA_EXEMPT_PREFIXES = ("/mfa/", "/logout/", "/login/", "/static/")
# Requests a page makes by itself, not its user (the annotator page asks about once a second whether
# the open clip may still be heard): they do not keep an idle session alive.
UNATTENDED_PATHS = re.compile(r"/api/v1/assignments/[0-9a-f-]+/status")


def is_staff(user: AbstractBaseUser) -> bool:
    from labeling.auth import ANNOTATOR, SUPERVISOR, has_role

    return bool(user.is_authenticated and (user.is_staff or user.is_superuser or has_role(user, ANNOTATOR)
                                           or has_role(user, SUPERVISOR)))


def needs_second_factor(user: AbstractBaseUser) -> bool:
    return is_staff(user) or user_has_device(user, confirmed=True)


# ---------------------------------------------------------------- lockout


def login_locked_until(*, user: AbstractBaseUser, now: datetime) -> datetime | None:
    """Locked while LOGIN_LOCKOUT_FAILURES failures (password or code) lie within the last
    LOGIN_LOCKOUT_MINUTES, counting only those after the last successful login."""
    window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    entries = LedgerEntry.objects.filter(actor_id=user.pk, action__in=[LedgerEntry.Action.LOGIN,
                                                                       LedgerEntry.Action.LOGIN_FAILED])
    last_login = entries.filter(action=LedgerEntry.Action.LOGIN).order_by("-id").values_list("id", flat=True).first()
    failures = entries.filter(action=LedgerEntry.Action.LOGIN_FAILED, created_at__gt=now - window)
    if last_login is not None:
        failures = failures.filter(id__gt=last_login)
    times = list(failures.order_by("-id").values_list("created_at", flat=True)[: settings.LOGIN_LOCKOUT_FAILURES])
    if len(times) < settings.LOGIN_LOCKOUT_FAILURES:
        return None
    return times[-1] + window


def _locked_message(until: datetime, now: datetime) -> str:
    minutes = max(1, int((until - now).total_seconds() // 60) + 1)
    return f"Too many failed attempts. Sign-in is locked for this account; try again in {minutes} min."


class LockoutModelBackend(ModelBackend):
    """The password check, refused outright while the account is locked out; and who a signed-in
    request is, read with their roles and confirmed authenticators in one statement."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = user_named(username)
        if user is not None and login_locked_until(user=user, now=timezone.now()) is not None:
            raise PermissionDenied  # authenticate() stops here and reports a failed login
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        user = user_with_roles(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


def user_with_roles(user_id) -> AbstractBaseUser | None:
    """The user with `user_id`, carrying the names of their groups (labeling.auth.has_role reads
    them) and the ids of their confirmed authenticators (SecondFactorMiddleware reads them): every
    request asks who it comes from, so this is one statement rather than three, read without
    RawQuerySet's per-statement work (core.rows). None if no such user."""
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    found = rows.fetch(_user_with_roles_sql(user_model), [pk])
    if not found:
        return None
    user = rows.instance(user_model, found[0])
    user._role_cache = {row[-2] for row in found if row[-2] is not None}
    user._confirmed_authenticators = {row[-1] for row in found if row[-1] is not None}
    return user


@cache
def _user_with_roles_sql(user_model) -> str:
    return (f"SELECT {rows.columns_sql(user_model, 'u')}, g.name, d.id FROM {user_model._meta.db_table} u "
            f"LEFT JOIN {user_model.groups.through._meta.db_table} ug ON ug.user_id = u.id "
            f"LEFT JOIN {Group._meta.db_table} g ON g.id = ug.group_id "
            f"LEFT JOIN {TOTPDevice._meta.db_table} d ON d.user_id = u.id AND d.confirmed "
            f"WHERE u.id = %s")


class LockoutAuthenticationForm(AuthenticationForm):
    """The login form, saying plainly when the account is locked rather than 'wrong password'."""

    def clean(self):
        name = self.cleaned_data.get("username")
        user = user_named(name)
        now = timezone.now()
        # A name no account has is locked after as many failures, with the same words.
        until = (login_locked_until(user=user, now=now) if user is not None
                 else unknown_name_locked_until(name or "", now=now))
        if until is not None:
            raise forms.ValidationError(_locked_message(until, now), code="locked")
        return super().clean()


# ---------------------------------------------------------------- second factor


class SecondFactorError(Exception):
    pass


def totp_device_for_enrolment(*, user: AbstractBaseUser) -> TOTPDevice:
    """The user's unconfirmed authenticator, made on first need; its secret is shown once as a QR code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def second_factor_verify(*, request, token: str) -> TOTPDevice:
    """Check a code against the user's authenticator (the one being enrolled, if none is confirmed
    yet) and mark the session verified. Raises SecondFactorError with a message to show."""
    user = request.user
    token = "".join(token.split())
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    enrolling = not devices
    if enrolling:
        devices = [totp_device_for_enrolment(user=user)]
    now = timezone.now()
    until = login_locked_until(user=user, now=now)
    if until is not None:
        raise SecondFactorError(_locked_message(until, now))
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("locked_until"):
            wait = max(1, int((data["locked_until"] - now).total_seconds()) + 1)
            raise SecondFactorError(f"Too many wrong codes: wait {wait} s and try again.")
        if token.isdigit() and device.verify_token(token):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            ledger_append(action=LedgerEntry.Action.LOGIN, actor_id=user.pk,
                          detail={"factor": "totp", "enrolled": enrolling})
            return device
    ledger_append(action=LedgerEntry.Action.LOGIN_FAILED, actor_id=user.pk, detail={"factor": "totp"})
    raise SecondFactorError("That code is not right. Enter the 6 digits your authenticator app shows now.")


# ---------------------------------------------------------------- middleware


class SecondFactorMiddleware(OTPMiddleware):
    """django_otp's middleware (request.user.otp_device, is_verified()), which takes the session's
    authenticator from the confirmed ones user_with_roles loaded with the user instead of reading it
    again. A device id the user has no confirmed authenticator of verifies nothing and leaves the
    session, as django_otp does.

    request.user is the user itself, not a lazy stand-in: StaffSecurityMiddleware, next, reads it on
    every request anyway, and each read through two stand-ins (Django's and django_otp's) cost time
    on every attribute a request touches."""

    def __call__(self, request):
        if self._is_async:
            return self.__acall__(request)
        if getattr(request, "user", None) is not None:
            request.user = self._verify_user_sync(request, get_request_user(request))
        return self.get_response(request)

    def _verify_user_sync(self, request, user):
        confirmed = getattr(user, "_confirmed_authenticators", None)
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY) if user.is_authenticated else None
        label, _, device_id = (persistent_id or "").partition("/")
        if confirmed is None or label != TOTPDevice.model_label() or not device_id.isdigit():
            return super()._verify_user_sync(request, user)
        self._init_user_fields(user)
        device = None
        if int(device_id) in confirmed:  # its other fields are read from the database if ever used
            device = TOTPDevice.from_db(None, ["id", "user_id", "confirmed"], [int(device_id), user.pk, True])
        user.otp_device = self._finalize_device(request, user, device)
        return user


class StaffSecurityMiddleware:
    """After django_otp's OTPMiddleware: sends a signed-in user who owes a second factor to /mfa/
    (an API call gets 403 mfa_required), and signs staff out after STAFF_IDLE_MINUTES without a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        api = request.path.startswith("/api/")
        staff = is_staff(user)
        if staff:
            now = time.time()
            last_seen = request.session.get(LAST_SEEN_SESSION_KEY)
            if last_seen is not None and now - last_seen > settings.STAFF_IDLE_MINUTES * 60:
                logout(request)
                if api:
                    return JsonResponse(error_body("session_expired", "Signed out after inactivity: sign in again."),
                                        status=401)
                return redirect(f"{resolve_url(settings.LOGIN_URL)}?next={request.path}")
            if (last_seen is None or now - last_seen > 30) and not UNATTENDED_PATHS.fullmatch(request.path):
                request.session[LAST_SEEN_SESSION_KEY] = now  # written at most twice a minute
        if not request.path.startswith(MFA_EXEMPT_PREFIXES) and needs_second_factor(user) and not user.is_verified():
            if api:
                return JsonResponse(error_body("mfa_required", "Confirm your sign-in with your authenticator code."),
                                    status=403)
            return redirect(f"/mfa/?next={request.path}")
        return self.get_response(request)


def safe_next(request, fallback: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or fallback
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback
