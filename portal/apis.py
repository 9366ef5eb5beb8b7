"""Data-subject API: the signed-in owner reads and changes their consent to human review and reads
who did what with their recordings."""

from __future__ import annotations

import tempfile

from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from consent.models import Account, ConsentRecord
from consent.selectors import consent_current, consent_history, ledger_for_account, policy_current
from consent.services import link_code_issue
from core.errors import ErrorSerializer, NotFound, StrictInputSerializer
from labeling.auth import IngestKeyAuthentication, IsDevice
from labeling.custody.selectors import clips_of_account, hearings_of_account
from labeling.custody.services import account_export, clips_delete
from labeling.servability import consent_refusal
from portal.services import consent_set


class IsDataSubject(permissions.BasePermission):
    message = "Only the owner of a device account may do this."

    def has_permission(self, request, view):
        return request.user.is_authenticated and Account.objects.filter(user=request.user).exists()


def _own_account(request) -> Account:
    account = Account.objects.filter(user=request.user).first()
    if account is None:
        raise NotFound("not_found", "No device account belongs to this login.")
    return account


class ConsentRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentRecord
        fields = ["version", "granted", "policy_version", "channel", "created_at"]


class PolicySerializer(serializers.Serializer):
    version = serializers.CharField()
    text = serializers.CharField()
    material = serializers.BooleanField(help_text="Published as a material change: consent given under earlier "
                                                  "versions stopped counting until confirmed.")
    published_at = serializers.DateTimeField()


class ConsentApi(APIView):
    """Your choice about human review, the policy it is given under, and whether a material change
    of the policy waits for your confirmation. To confirm, PUT human_review true with the current
    policy_version."""

    permission_classes = [IsDataSubject]

    class InputSerializer(StrictInputSerializer):
        human_review = serializers.BooleanField()
        policy_version = serializers.CharField(
            required=False, max_length=32,
            help_text="The version whose text you were shown. A yes is given under the current version: one that "
                      "names another is refused (400 unknown_policy_version for one never published, 409 "
                      "policy_changed for an earlier one). Without it, a yes is given under the current version.")

    class OutputSerializer(serializers.Serializer):
        human_review = serializers.BooleanField(help_text="Your newest choice.")
        counts_for_review = serializers.BooleanField(
            help_text="Your recordings may be heard: a yes, under a policy version no older than the latest "
                      "material change.")
        confirmation_needed = serializers.BooleanField(
            help_text="You said yes under an earlier version, and the policy has changed materially since: nobody "
                      "hears your recordings until you confirm the current text.")
        policy_version = serializers.CharField(help_text="The version your newest choice was given under.")
        current_policy_version = serializers.CharField()
        current_policy = PolicySerializer(allow_null=True)
        history = ConsentRecordSerializer(many=True)

    def _body(self, account: Account) -> dict:
        current = consent_current(account_id=account.id)
        policy = policy_current()
        standing = consent_refusal(account_id=account.id)
        return self.OutputSerializer({
            "human_review": bool(current and current.granted),
            "counts_for_review": standing is None,
            "confirmation_needed": standing == "policy",
            "policy_version": current.policy_version if current else "",
            "current_policy_version": policy.version if policy else "",
            "current_policy": policy,
            "history": consent_history(account_id=account.id),
        }).data

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response(self._body(_own_account(request)))

    @extend_schema(request=InputSerializer, responses={
        200: OutputSerializer,
        400: OpenApiResponse(ErrorSerializer, description="Bad input, or a policy version never published."),
        409: OpenApiResponse(ErrorSerializer, description="A yes to a policy version that is no longer current.")})
    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = _own_account(request)
        consent_set(account=account, granted=serializer.validated_data["human_review"], channel="api",
                    policy_version=serializer.validated_data.get("policy_version"))
        return Response(self._body(account))


@extend_schema_serializer(component_name="Hearing", deprecate_fields=["plays", "heard_seconds"])
class HearingSerializer(serializers.Serializer):
    """What the server can count of a reviewer's time with a clip: the audio it sent, and the play
    starts the reviewer's page reported. Whether anyone listened, it cannot know."""

    clip = serializers.UUIDField()
    reviewer = serializers.CharField(help_text="Stable per reviewer, never their name.")
    purpose = serializers.CharField()
    given_at = serializers.DateTimeField()
    audio_sent = serializers.IntegerField(help_text=(
        "Times the server sent the audio to the reviewer's page; a page may fetch a clip ahead and "
        "never play it."))
    audio_sent_seconds = serializers.FloatField(allow_null=True, help_text=(
        "audio_sent times the clip's length: seconds of audio sent, not seconds heard."))
    play_starts_reported = serializers.IntegerField(help_text=(
        "Times the reviewer's page reported starting to play the audio (from silence). The page's "
        "word, bounded by the server: at most one a second and 50 for each time the audio was sent."))
    held_seconds = serializers.FloatField(allow_null=True,
                                          help_text="From being given the clip to handing it back.")
    legal_hold_ends_at = serializers.DateTimeField(allow_null=True)
    plays = serializers.IntegerField(source="audio_sent", help_text=(
        "Deprecated: the same number as audio_sent (times the audio was sent, not times it was played)."))
    heard_seconds = serializers.FloatField(source="audio_sent_seconds", allow_null=True, help_text=(
        "Deprecated: the same number as audio_sent_seconds (seconds of audio sent, not heard)."))


class MyLedgerApi(APIView):
    """Who heard or read which of your clips, when and why; escalations and legal holds included.
    Reviewers appear under a stable pseudonym, never their name."""

    permission_classes = [IsDataSubject]

    class EntrySerializer(serializers.Serializer):
        at = serializers.DateTimeField()
        what = serializers.CharField()
        purpose = serializers.CharField()
        reviewer = serializers.CharField()
        clip = serializers.UUIDField(allow_null=True)
        until = serializers.CharField(allow_null=True, help_text="When a legal hold ends.")

    class OutputSerializer(serializers.Serializer):
        hearings = HearingSerializer(many=True)
        entries = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        account = _own_account(request)
        hearings = hearings_of_account(account_id=account.id, now=timezone.now())
        return Response({"hearings": HearingSerializer(hearings, many=True).data,
                         "entries": self.EntrySerializer(ledger_for_account(account=account), many=True).data})


class ReceiptSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    scope = serializers.CharField()
    items = serializers.ListField(child=serializers.DictField(),
                                 help_text="Per clip: deleted, already_deleted, or deleted_when_hold_ends with "
                                           "hold_ends_at.")
    signature = serializers.CharField(help_text="HMAC-SHA256 of the receipt under the installation's key.")
    message = serializers.SerializerMethodField()

    def get_message(self, receipt) -> str:
        deleted = sum(item["status"] == "deleted" for item in receipt.items)
        held = [item for item in receipt.items if item["status"] == "deleted_when_hold_ends"]
        text = f"Deleted {deleted} recording{'s' if deleted != 1 else ''}: audio, transcripts and details are gone."
        if held:
            text += (f" {len(held)} recording{'s are' if len(held) != 1 else ' is'} under a legal hold: nobody reviews "
                     "it any more, and it is deleted when the hold ends.")
        return text


class OwnClipSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    received_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)
    state = serializers.CharField()
    state_words = serializers.CharField(help_text="The state in plain words.")
    reason = serializers.CharField(help_text="Why, for clips not retained, kept from review, withdrawn or deleted.")
    changed_at = serializers.DateTimeField()
    hold_ends_at = serializers.DateTimeField(allow_null=True, help_text="A legal hold keeps this clip until then.")
    deletion_requested = serializers.BooleanField()


class MyClipsApi(APIView):
    """Your recordings and their state; DELETE removes all of them."""

    permission_classes = [IsDataSubject]

    @extend_schema(responses={200: OwnClipSerializer(many=True)})
    def get(self, request):
        clips = clips_of_account(account_id=_own_account(request).id, now=timezone.now())
        return Response(OwnClipSerializer(clips, many=True).data)

    @extend_schema(request=None, responses={200: ReceiptSerializer}, operation_id="v1_me_clips_destroy_all")
    def delete(self, request):
        return Response(ReceiptSerializer(clips_delete(account=_own_account(request))).data)


class MyClipApi(APIView):
    """Delete one of your recordings."""

    permission_classes = [IsDataSubject]

    @extend_schema(request=None, responses={200: ReceiptSerializer, 404: None})
    def delete(self, request, clip_id):
        return Response(ReceiptSerializer(clips_delete(account=_own_account(request), clip_id=clip_id)).data)


class MyExportApi(APIView):
    """Everything held about you, as a ZIP: export.json and your recordings' stored audio."""

    permission_classes = [IsDataSubject]

    @extend_schema(
        responses={(200, "application/zip"): OpenApiResponse(description="export.json and audio/<clip>.wav")})
    def get(self, request):
        out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
        account_export(account=_own_account(request), out=out)
        out.seek(0)
        response = FileResponse(out, content_type="application/zip", as_attachment=True,
                                filename=f"voice-review-export-{timezone.now():%Y%m%d}.zip")
        response["Cache-Control"] = "no-store, private"
        return response


class LinkCodeIssueApi(APIView):
    """The device platform asks for a one-time code its user enters at /signup/ to own their
    device account here (the account is created if new, without consent)."""

    authentication_classes = [IngestKeyAuthentication]
    permission_classes = [IsDevice]

    class InputSerializer(StrictInputSerializer):
        account = serializers.CharField(max_length=128)

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={
        201: OutputSerializer, 429: OpenApiResponse(ErrorSerializer, description="Too many codes for this account "
                                                                                 "lately; Retry-After says when.")})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        code, link = link_code_issue(external_id=serializer.validated_data["account"])
        return Response(self.OutputSerializer({"code": code, "expires_at": link.expires_at}).data, status=201)
