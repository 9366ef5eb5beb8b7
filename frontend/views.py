"""Pages: each checks the role, reads through selectors, writes through one service."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods
from django_otp import user_has_device

from config.security import (
    SecondFactorError,
    needs_second_factor,
    safe_next,
    second_factor_verify,
    totp_device_for_enrolment,
)
from consent.models import Account, DeletionReceipt
from consent.selectors import consent_current, consent_history, ledger_for_account, policy_current, policy_history
from consent.services import owner_sign_up
from core.errors import ApplicationError
from frontend import charts
from labeling.auth import ANNOTATOR, SUPERVISOR, has_role, may_manage_ingest_keys
from labeling.custody.selectors import clips_of_account, hearings_of_account
from labeling.custody.services import clips_delete
from labeling.escalation.selectors import escalations_unresolved, exposure_by_annotator, wellbeing_checks_requested
from labeling.intake.services import DEFAULT_OVERLAP_HOURS, MAX_OVERLAP_HOURS
from labeling.models import ClipStatus, EscalationOutcome, ExportFormat, FlagCategory, MutedStart
from labeling.quality.selectors import accuracy_by_annotator, agreement_of, second_opinions_for_adjudication
from labeling.selectors import clip_status_counts, clips_held, clips_labeled_per_hour, projects_supervised
from labeling.servability import consent_refusal
from portal.services import consent_set


@login_required
def home(request):
    if has_role(request.user, ANNOTATOR):
        return redirect("annotate")
    if has_role(request.user, SUPERVISOR):
        return redirect("supervise")
    if Account.objects.filter(user=request.user).exists():
        return redirect("my-consent")
    return render(request, "frontend/no_role.html")


@login_required
@ensure_csrf_cookie
def annotate(request):
    if not has_role(request.user, ANNOTATOR):
        raise PermissionDenied
    return render(request, "frontend/annotate.html", {"categories": FlagCategory.choices,
                                                       "muted_start_choices": MutedStart.choices})


@login_required
def supervise(request):
    """The supervisors' dashboard: escalations, queue, pace, held clips and exposure; no identifier
    of any data subject."""
    if not has_role(request.user, SUPERVISOR):
        raise PermissionDenied
    now = timezone.now()
    counts = clip_status_counts()
    rows = [(label, counts.get(value, 0)) for value, label in ClipStatus.choices]
    escalations = escalations_unresolved(now=now)
    per_hour = clips_labeled_per_hour(now=now)
    exposure = exposure_by_annotator(now=now)
    return render(request, "frontend/supervise.html", {
        "rows": rows,
        "queued": counts.get(ClipStatus.QUEUED, 0),
        "held": clips_held(limit=50),
        "open_escalations": len(escalations),
        "overdue_escalations": sum(e.overdue for e in escalations),
        "escalations": escalations[:10],
        "per_hour_chart": charts.columns([(f"{hour:%H}", n) for hour, n in per_hour],
                                         title="Clips transcribed per hour, last 24 hours", label_every=3),
        "labeled_today": sum(n for _, n in per_hour),
        "exposure": exposure,
        "exposure_chart": charts.bars([(row.annotator, row.exposure_minutes, row.budget_minutes) for row in exposure],
                                      title="Flagged content heard per shift against its budget", unit="min"),
        "wellbeing": wellbeing_checks_requested(now=now),
        "adjudications": len(second_opinions_for_adjudication()),
        "quality": _quality_by_project(request.user, now),
        "manages_ingest_keys": may_manage_ingest_keys(request.user),
    })


def _quality_by_project(supervisor, now) -> list[dict]:
    """Accuracy per annotator against gold clips and agreement of blind double transcriptions, for
    each project this person supervises, over the last 30 days."""
    since = now - timedelta(days=30)
    blocks = []
    for project in projects_supervised(supervisor=supervisor):
        accuracy = accuracy_by_annotator(project=project, since=since)
        limit = project.agreement_max_difference * 100
        blocks.append({
            "project": project,
            "accuracy": accuracy,
            "accuracy_chart": charts.bars([(row.annotator, row.word_error_rate * 100, limit) for row in accuracy],
                                          title=f"Word error rate against gold clips, {project.name}", unit="%"),
            "agreement": agreement_of(project=project, since=since),
            "limit": limit,
        })
    return blocks


@login_required
@ensure_csrf_cookie
def quality(request):
    """Supervisors hear labeled clips of their projects and make them gold."""
    if not has_role(request.user, SUPERVISOR):
        raise PermissionDenied
    return render(request, "frontend/quality.html", {"projects": projects_supervised(supervisor=request.user)})


@login_required
@ensure_csrf_cookie
def exports(request):
    """Supervisors export their projects and follow the worker's progress."""
    if not has_role(request.user, SUPERVISOR):
        raise PermissionDenied
    return render(request, "frontend/exports.html", {"projects": projects_supervised(supervisor=request.user),
                                                     "formats": ExportFormat.choices,
                                                     "keep_days": settings.EXPORT_KEEP_DAYS})


@login_required
@ensure_csrf_cookie
def ingest_keys(request):
    """Supervisors allowed to manage ingest keys issue, rotate and revoke the device platforms' keys."""
    if not may_manage_ingest_keys(request.user):
        raise PermissionDenied
    return render(request, "frontend/ingest_keys.html", {"default_overlap": DEFAULT_OVERLAP_HOURS,
                                                         "max_overlap": MAX_OVERLAP_HOURS})


@login_required
@ensure_csrf_cookie
def escalations(request):
    if not has_role(request.user, SUPERVISOR):
        raise PermissionDenied
    return render(request, "frontend/escalations.html", {"outcomes": EscalationOutcome.choices,
                                                         "max_hold_days": settings.LEGAL_HOLD_MAX_DAYS})


@login_required
@require_http_methods(["GET", "POST"])
def my_consent(request):
    """The owner's choice under the current policy text; after a material change of the policy, the
    notice and the button that confirm the new text. A yes names the version the page showed."""
    account = Account.objects.filter(user=request.user).first()
    if account is None:
        raise PermissionDenied
    if request.method == "POST":
        choice = request.POST.get("human_review")
        shown = request.POST.get("policy_version", "")
        if choice not in {"yes", "no"}:
            messages.error(request, "Choose whether people may listen to your recordings.")
        elif choice == "yes" and not shown:
            messages.error(request, "Reload the page and read the policy before you agree to it.")
        else:
            try:
                consent_set(account=account, granted=choice == "yes", channel="portal", policy_version=shown or None)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "Your choice is saved and applies from now on.")
        return redirect("my-consent")
    current = consent_current(account_id=account.id)
    policy = policy_current()
    return render(request, "frontend/my_consent.html", {
        "granted": bool(current and current.granted),
        "confirmation_needed": consent_refusal(account_id=account.id) == "policy",
        "policy": policy,
        "policy_version": policy.version if policy else "",
        "earlier_policies": [p for p in policy_history() if policy is None or p.pk != policy.pk],
        "agreed_version": current.policy_version if current else "",
        "history": consent_history(account_id=account.id),
        "two_step_on": user_has_device(request.user, confirmed=True),
        "revocation_deletes": settings.REVOCATION_DELETES,
    })


@login_required
@require_http_methods(["GET", "POST"])
def second_factor(request):
    """Enrol an authenticator app (first time: QR code and secret) or enter its current code."""
    if request.user.is_verified():
        return redirect(safe_next(request))
    enrolling = not user_has_device(request.user, confirmed=True)
    if request.method == "POST":
        try:
            second_factor_verify(request=request, token=request.POST.get("code", ""))
        except SecondFactorError as exc:
            messages.error(request, str(exc))
        else:
            return redirect(safe_next(request))
    context = {"enrolling": enrolling, "required": needs_second_factor(request.user), "next": safe_next(request)}
    if enrolling:
        device = totp_device_for_enrolment(user=request.user)
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(scale=4, title="Authenticator QR code")
        context["secret"] = base64.b32encode(device.bin_key).decode()
    return render(request, "frontend/mfa.html", context)


def _own_account_or_403(request) -> Account:
    account = Account.objects.filter(user=request.user).first()
    if account is None:
        raise PermissionDenied
    return account


@login_required
@require_http_methods(["GET", "POST"])
def my_clips(request):
    """The owner's recordings with their state; delete one or all, with a receipt."""
    account = _own_account_or_403(request)
    if request.method == "POST":
        if request.POST.get("clip"):
            try:
                clip_id = uuid.UUID(request.POST["clip"])
            except ValueError:
                messages.error(request, "That recording was not found.")
                return redirect("my-clips")
            try:
                receipt = clips_delete(account=account, clip_id=clip_id)
            except ApplicationError as exc:
                messages.error(request, exc.message)
                return redirect("my-clips")
        elif request.POST.get("everything") == "yes":
            receipt = clips_delete(account=account)
        else:
            messages.error(request, "Tick the box to confirm that everything should be deleted.")
            return redirect("my-clips")
        return redirect("my-receipt", receipt_id=receipt.id)
    clips = clips_of_account(account_id=account.id, now=timezone.now())
    return render(request, "frontend/my_clips.html", {"clips": clips})


@login_required
def my_receipt(request, receipt_id):
    account = _own_account_or_403(request)
    receipt = DeletionReceipt.objects.filter(pk=receipt_id, account=account).first()
    if receipt is None:
        raise Http404
    return render(request, "frontend/my_receipt.html", {"receipt": receipt})


@login_required
def my_ledger(request):
    """Who heard or read which of the owner's recordings, when and why."""
    account = _own_account_or_403(request)
    return render(request, "frontend/my_ledger.html", {
        "hearings": hearings_of_account(account_id=account.id, now=timezone.now()),
        "lines": ledger_for_account(account=account),
    })


@require_http_methods(["GET", "POST"])
def sign_up(request):
    """An owner creates their login with the one-time code their device app shows."""
    if request.user.is_authenticated:
        return redirect("home")
    values = {"code": request.POST.get("code", ""), "username": request.POST.get("username", "")}
    if request.method == "POST":
        if request.POST.get("password", "") != request.POST.get("password2", ""):
            messages.error(request, "The two passwords differ.")
        else:
            try:
                user = owner_sign_up(code=values["code"], username=values["username"],
                                     password=request.POST.get("password", ""),
                                     address=request.META.get("REMOTE_ADDR", ""))
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
                messages.success(request, "Welcome. Nobody listens to your recordings unless you say yes below.")
                return redirect("my-consent")
    return render(request, "frontend/signup.html", values)
