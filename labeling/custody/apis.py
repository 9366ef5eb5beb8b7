"""The API of custody: tracing a leaked copy back to the assignment it was served to."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ErrorSerializer, StrictInputSerializer
from labeling.auth import IsSupervisor
from labeling.custody.services import leak_trace
from labeling.uploads import uploaded_audio


def _trace_message(assignment) -> str:
    if assignment is None:
        return "No mark found: no served clip's watermark is in this recording."
    where = f"in shift {assignment.shift_id}" if assignment.shift_id else f"for {assignment.get_purpose_display()}"
    return f"Served to {assignment.annotator.get_username()} {where}."


class LeakTraceApi(APIView):
    """A supervisor uploads a copy found outside the platform; the answer names the assignment,
    reviewer and shift it was served to, or says no mark was found."""

    permission_classes = [IsSupervisor]
    parser_classes = [MultiPartParser]

    class InputSerializer(StrictInputSerializer):
        audio = serializers.FileField(help_text="The leaked recording: WAV, FLAC, OGG or MP3.")

    class OutputSerializer(serializers.Serializer):
        found = serializers.BooleanField()
        message = serializers.CharField()
        assignment = serializers.UUIDField(allow_null=True)
        clip = serializers.UUIDField(allow_null=True)
        reviewer = serializers.CharField(allow_null=True, help_text="The annotator's user name.")
        shift = serializers.IntegerField(allow_null=True)
        served_at = serializers.DateTimeField(allow_null=True)
        score = serializers.FloatField(help_text="Standard deviations above chance; 8 or more names an assignment.")
        speed = serializers.FloatField(help_text="How much faster the copy plays than the served clip.")
        offset_seconds = serializers.FloatField(help_text="Seconds of the clip missing at the copy's start.")
        clips_compared = serializers.IntegerField()

    @extend_schema(request={"multipart/form-data": InputSerializer},
                   responses={200: OutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 413: ErrorSerializer})
    def post(self, request):
        trace = leak_trace(audio=uploaded_audio(request), supervisor=request.user)
        assignment = trace.assignment
        body = {
            "found": trace.found,
            "message": _trace_message(assignment),
            "assignment": assignment.id if assignment else None,
            "clip": assignment.clip_id if assignment else None,
            "reviewer": assignment.annotator.get_username() if assignment else None,
            "shift": assignment.shift_id if assignment else None,
            "served_at": assignment.created_at if assignment else None,
            "score": round(trace.score, 1),
            "speed": round(trace.speed, 4),
            "offset_seconds": round(trace.offset_seconds, 3),
            "clips_compared": trace.clips_compared,
        }
        return Response(self.OutputSerializer(body).data)
