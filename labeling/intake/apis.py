"""The API of intake: devices post clips; supervisors see the clips held back and manage the devices' keys."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError, ErrorSerializer, StrictInputSerializer, TooLarge
from labeling.auth import CanManageIngestKeys, IngestKeyAuthentication, IsDevice, IsSupervisor
from labeling.intake.services import (
    DEFAULT_OVERLAP_HOURS,
    MAX_OVERLAP_HOURS,
    ClipMetadata,
    clip_ingest,
    ingest_key_create,
    ingest_key_revoke,
    ingest_key_rotate,
)
from labeling.models import IngestKey, IngestKeyState
from labeling.selectors import clips_held, ingest_keys_all
from labeling.uploads import too_large, uploaded_audio

LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")


class ClipIngestApi(APIView):
    """A device platform uploads one recording with its metadata."""

    authentication_classes = [IngestKeyAuthentication]
    permission_classes = [IsDevice]
    parser_classes = [MultiPartParser]

    class MetadataSerializer(StrictInputSerializer):
        account = serializers.CharField(max_length=128)
        device_serial = serializers.CharField(max_length=64)
        first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        recorded_at = serializers.DateTimeField()
        wake_word_score = serializers.FloatField(min_value=0.0, max_value=1.0)
        locale = serializers.CharField(max_length=16)
        project = serializers.CharField(max_length=50, required=False, allow_blank=True, default="",
                                        help_text="The project's slug; left out: the default project.")

        def validate_locale(self, value: str) -> str:
            if not LOCALE.match(value):
                raise serializers.ValidationError("Use a language tag such as en or en-US.")
            return value

        def validate_recorded_at(self, value):
            if value > timezone.now() + timedelta(minutes=5):
                raise serializers.ValidationError("The recording time lies in the future.")
            return value

    class InputSerializer(StrictInputSerializer):
        audio = serializers.FileField(help_text="WAV, FLAC, OGG or MP3; at most MAX_UPLOAD_BYTES and MAX_CLIP_SECONDS.")
        metadata = serializers.CharField(help_text="JSON object: account, device_serial, first_name, recorded_at, "
                                                   "wake_word_score, locale, optionally project.")

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(allow_null=True)
        status = serializers.ChoiceField(choices=["received", "not_retained"])
        reason = serializers.CharField(required=False)

    @extend_schema(
        request=InputSerializer,
        responses={202: OutputSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 413: ErrorSerializer},
    )
    def post(self, request):
        declared = request.META.get("CONTENT_LENGTH")
        most = settings.MAX_UPLOAD_BYTES + settings.MAX_METADATA_BYTES + 4096
        if declared and declared.isdigit() and int(declared) > most:
            raise too_large()
        unknown = sorted(set(request.data.keys()) - set(self.InputSerializer().fields))
        if unknown:
            raise ApplicationError("invalid_input", "The upload holds fields other than audio and metadata.",
                                   fields={name: ["Unexpected field."] for name in unknown})
        audio = uploaded_audio(request)
        metadata = self._metadata(request.data.get("metadata"))
        outcome = clip_ingest(audio=audio, metadata=ClipMetadata(**metadata))
        body = {"id": outcome.clip_id, "status": outcome.status}
        if outcome.reason:
            body["reason"] = outcome.reason
        return Response(self.OutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)

    def _metadata(self, raw) -> dict:
        if not raw:
            raise ApplicationError("missing_metadata", "Send the clip's metadata as JSON in the field 'metadata'.",
                                   fields={"metadata": ["This field is required."]})
        if len(raw.encode()) > settings.MAX_METADATA_BYTES:
            raise TooLarge("metadata_too_large", f"Metadata is limited to {settings.MAX_METADATA_BYTES} bytes.")
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ApplicationError("invalid_metadata", f"Metadata is not valid JSON: {exc.msg}.",
                                   fields={"metadata": [exc.msg]}) from None
        if not isinstance(parsed, dict):
            raise ApplicationError("invalid_metadata", "Metadata must be a JSON object.")
        serializer = self.MetadataSerializer(data=parsed)
        if not serializer.is_valid():
            raise ApplicationError("invalid_metadata", "Some metadata fields are invalid.",
                                   fields={"metadata": serializer.errors})
        return serializer.validated_data


class ClipHeldListApi(APIView):
    """Clips the pipeline would not vouch for, and why (supervisors)."""

    permission_classes = [IsSupervisor]

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        reason = serializers.CharField(source="status_reason")
        detail = serializers.CharField(source="last_error")
        held_at = serializers.DateTimeField(source="updated_at")

    @extend_schema(responses={200: OutputSerializer(many=True), 403: ErrorSerializer})
    def get(self, request):
        return Response(self.OutputSerializer(clips_held(), many=True).data)


class IngestKeySerializer(serializers.Serializer):
    """A key as supervisors see it: never its secret, which only the answer that creates it holds."""

    id = serializers.IntegerField()
    name = serializers.CharField(help_text="The device platform the key is for.")
    prefix = serializers.CharField(help_text="The part after 'vr_' of the secret, to tell keys apart.")
    state = serializers.SerializerMethodField(
        help_text="active; expiring (replaced, works until expires_at); expired; revoked.")
    created_at = serializers.DateTimeField()
    created_by = serializers.SerializerMethodField(help_text="The supervisor who made it; null: the system.")
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="To the minute.")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="Set when the key is replaced.")
    revoked_at = serializers.DateTimeField(allow_null=True)
    replaces = serializers.IntegerField(source="replaces_id", allow_null=True,
                                        help_text="The key this one replaced.")
    replaced_by = serializers.SerializerMethodField(help_text="The key that replaced this one.")

    @extend_schema_field(serializers.ChoiceField(choices=IngestKeyState.choices))
    def get_state(self, key: IngestKey) -> str:
        return key.state(self.context.get("now") or timezone.now()).value

    def get_created_by(self, key: IngestKey) -> str | None:
        return key.created_by.get_username() if key.created_by else None

    def get_replaced_by(self, key: IngestKey) -> int | None:
        replacement = getattr(key, "replaced_by", None)
        return replacement.pk if replacement else None


class IngestKeyWithSecretSerializer(IngestKeySerializer):
    secret = serializers.SerializerMethodField(help_text="Shown in this answer only: send it as "
                                                         "'Authorization: Api-Key <secret>'. Only its hash is kept.")

    def get_secret(self, key: IngestKey) -> str:
        return self.context["secret"]


def _with_secret(key: IngestKey, secret: str) -> Response:
    body = IngestKeyWithSecretSerializer(key, context={"secret": secret}).data
    return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class IngestKeyListApi(APIView):
    """The device platforms' keys: list them, or issue one (its secret is in this answer only)."""

    permission_classes = [CanManageIngestKeys]

    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=100, help_text="The device platform the key is for.")

    @extend_schema(responses={200: IngestKeySerializer(many=True), 403: ErrorSerializer})
    def get(self, request):
        return Response(IngestKeySerializer(ingest_keys_all(), many=True, context={"now": timezone.now()}).data)

    @extend_schema(request=InputSerializer,
                   responses={201: IngestKeyWithSecretSerializer, 400: ErrorSerializer, 403: ErrorSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, secret = ingest_key_create(name=serializer.validated_data["name"], actor=request.user)
        return _with_secret(key, secret)


class IngestKeyRotateApi(APIView):
    """A new key for the same platform; the old one works `overlap_hours` more, then stops."""

    permission_classes = [CanManageIngestKeys]

    class InputSerializer(StrictInputSerializer):
        overlap_hours = serializers.IntegerField(min_value=0, max_value=MAX_OVERLAP_HOURS, required=False,
                                                 default=DEFAULT_OVERLAP_HOURS,
                                                 help_text="How long the old key keeps working; 0: it stops now.")

    @extend_schema(request=InputSerializer,
                   responses={201: IngestKeyWithSecretSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, key_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, secret = ingest_key_rotate(key_id=key_id, actor=request.user,
                                        overlap_hours=serializer.validated_data["overlap_hours"])
        return _with_secret(key, secret)


class IngestKeyRevokeApi(APIView):
    """The key stops working at once; revoking it again changes nothing."""

    permission_classes = [CanManageIngestKeys]

    class InputSerializer(StrictInputSerializer):
        pass

    @extend_schema(request=InputSerializer,
                   responses={200: IngestKeySerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer})
    def post(self, request, key_id: int):
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        return Response(IngestKeySerializer(ingest_key_revoke(key_id=key_id, actor=request.user)).data)
