"""Create the demo accounts and device key, print how to log in, and ingest the demo clips."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path

from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from consent.models import Account
from consent.services import account_create, consent_append
from labeling.auth import ANNOTATOR, SUPERVISOR
from labeling.intake.services import ClipMetadata, clip_ingest, ingest_key_create, ingest_key_revoke
from labeling.models import IngestKey
from labeling.review.services import project_member_add

DEMO_AUDIO = Path(__file__).resolve().parents[2] / "demo_audio"
DEMO_ACCOUNT = "demo-account-0001"


class Command(BaseCommand):
    help = "Set up demo accounts (new passwords on every run) and send the demo clips through the pipeline."

    def add_arguments(self, parser):
        parser.add_argument("--no-clips", action="store_true", help="Create the accounts only.")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the product will be served.")

    def handle(self, *args, no_clips: bool, url: str, **options):
        with transaction.atomic():
            logins = {
                "annotator": self._user("annotator", ANNOTATOR),
                "supervisor": self._user("supervisor", SUPERVISOR),
                "owner": self._user("owner", None),
            }
            owner = User.objects.get(username="owner")
            account = Account.objects.filter(external_id=DEMO_ACCOUNT).first() or account_create(
                external_id=DEMO_ACCOUNT, first_name="Dana", user=owner
            )
            consent_append(account=account, granted=True, channel="demo")
            supervisor = User.objects.get(username="supervisor")
            supervisor.user_permissions.add(Permission.objects.get(codename="manage_ingest_keys",
                                                                   content_type__app_label="labeling"))
            for key_id in IngestKey.objects.filter(name="demo device", revoked_at__isnull=True).values_list("pk",
                                                                                                          flat=True):
                ingest_key_revoke(key_id=key_id)
            _, device_key = ingest_key_create(name="demo device")

        sent = 0
        if not no_clips:
            now = timezone.now()
            for index, path in enumerate(sorted(DEMO_AUDIO.glob("*.wav"))):
                outcome = clip_ingest(
                    audio=path.read_bytes(),
                    metadata=ClipMetadata(
                        account=DEMO_ACCOUNT,
                        device_serial="DEMO-SPEAKER-42",
                        first_name="Dana",
                        recorded_at=now - timedelta(minutes=5 * (index + 1)),
                        wake_word_score=0.93,
                        locale="en-US",
                    ),
                )
                sent += outcome.status == "received"

        example = json.dumps({"account": DEMO_ACCOUNT, "device_serial": "S1", "first_name": "Dana",
                              "recorded_at": "2026-01-01T10:00:00Z", "wake_word_score": 0.9, "locale": "en-US"},
                             separators=(",", ":"))
        self.stdout.write(f"""
Demo ready at {url}/  (new passwords on every run)
  annotator   username: annotator   password: {logins['annotator']}   -> transcribe clips
  supervisor  username: supervisor  password: {logins['supervisor']}   -> queue overview, device keys
  data owner  username: owner       password: {logins['owner']}   -> consent to human review
  Staff (annotator, supervisor) confirm every login with a 6-digit code. At the first login the page
  shows a QR code and its key: add it to an authenticator app (FreeOTP, Aegis, Google Authenticator),
  or on this machine run  oathtool --totp -b KEY  (Debian package oathtool), and enter the code.
  Five wrong passwords or codes lock the account for 15 min; staff are signed out after 15 idle min.
  The data owner may turn the same second step on at {url}/mfa/.
  device key  {device_key}
              curl -H 'Authorization: Api-Key {device_key}' -F audio=@clip.wav \\
                   -F 'metadata={example}' \\
                   {url}/api/v1/clips
  {sent} demo clips sent to the de-identification pipeline.
""")

    def _user(self, username: str, role: str | None) -> str:
        password = secrets.token_urlsafe(9)
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        TOTPDevice.objects.filter(user=user).delete()  # new credentials each run: enrol afresh
        if role:
            user.groups.add(Group.objects.get(name=role))
            project_member_add(user=user, role=role)
        return password
