"""The API of intake: devices post clips; supervisors see the clips held back."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError, ErrorSerializer, StrictInputSerializer, TooLarge
from labeling.auth import IngestKeyAuthentication, IsDevice, IsSupervisor
from labeling.intake.services import ClipMetadata, clip_ingest
from labeling.selectors import clips_held
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
