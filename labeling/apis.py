"""Labeling API: device ingest; the annotator's shift, claim, audio, submit, skip, flag and second
opinion; the supervisors' escalations, adjudications and leak traces."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError, ErrorSerializer, NotFound, StrictInputSerializer, TooLarge
from labeling import services
from labeling.auth import IngestKeyAuthentication, IsAnnotator, IsDevice, IsSupervisor
from labeling.models import SHOWN_PURPOSE, Clip, EscalationOutcome, FlagCategory, Purpose
from labeling.selectors import (
    accuracy_by_annotator,
    agreement_of,
    clips_held,
    escalation_holds,
    escalations_unresolved,
    opt_outs_of,
    project_schema,
    projects_of,
    second_opinions_asked_by,
    second_opinions_for_adjudication,
    shift_current,
    shift_done_count,
    shift_progress,
    supervised_project,
)

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
            raise _too_large()
        unknown = sorted(set(request.data.keys()) - set(self.InputSerializer().fields))
        if unknown:
            raise ApplicationError("invalid_input", "The upload holds fields other than audio and metadata.",
                                   fields={name: ["Unexpected field."] for name in unknown})
        audio = _uploaded_audio(request)
        metadata = self._metadata(request.data.get("metadata"))
        outcome = services.clip_ingest(audio=audio, metadata=services.ClipMetadata(**metadata))
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


def _uploaded_audio(request) -> bytes:
    """The multipart field 'audio', within the size limit, or the error that says what is wrong."""
    upload = request.FILES.get("audio")
    if upload is None:
        raise ApplicationError("missing_audio", "Send the recording in the multipart field 'audio'.",
                               fields={"audio": ["This field is required."]})
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise _too_large()
    if upload.size == 0:
        raise ApplicationError("empty_audio", "The audio file is empty.", fields={"audio": ["Empty file."]})
    return upload.read()


def _too_large() -> ApplicationError:
    limit = settings.MAX_UPLOAD_BYTES / (1024 * 1024)
    return TooLarge("audio_too_large", f"The upload exceeds the {limit:g} MB limit.")


class ShiftOutputSerializer(serializers.Serializer):
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    clips_done = serializers.IntegerField(help_text="Clips submitted in this shift.")
    clips_claimed = serializers.IntegerField(help_text="Clips taken in this shift; counts against max_clips.")
    max_clips = serializers.IntegerField()
    worked_seconds = serializers.IntegerField(help_text="Shift time in the last 24 hours.")
    max_shift_seconds = serializers.IntegerField(help_text="Shift time allowed in any 24 hours.")
    break_due_at = serializers.DateTimeField(allow_null=True, help_text="When a break becomes required.")
    break_minutes = serializers.IntegerField()


def _shift_body(shift) -> dict:
    return ShiftOutputSerializer(shift_progress(shift=shift, now=timezone.now())).data


class ShiftCurrentApi(APIView):
    permission_classes = [IsAnnotator]

    @extend_schema(responses={200: ShiftOutputSerializer, 404: ErrorSerializer})
    def get(self, request):
        shift = shift_current(annotator=request.user)
        if shift is None:
            raise NotFound("no_open_shift", "There is no open shift.")
        return Response(_shift_body(shift))


class ShiftStartApi(APIView):
    permission_classes = [IsAnnotator]

    @extend_schema(request=None, responses={201: ShiftOutputSerializer, 403: ErrorSerializer, 429: ErrorSerializer})
    def post(self, request):
        shift = services.shift_start(annotator=request.user)
        return Response(_shift_body(shift), status=status.HTTP_201_CREATED)


class ShiftEndApi(APIView):
    permission_classes = [IsAnnotator]

    @extend_schema(request=None, responses={200: ShiftOutputSerializer, 409: ErrorSerializer})
    def post(self, request):
        shift = services.shift_end(annotator=request.user)
        return Response(_shift_body(shift))


class AssignmentOutputSerializer(serializers.Serializer):
    """What a reviewer learns about a clip: nothing that names its owner, device, time or place."""

    id = serializers.UUIDField(help_text="Opaque; differs for every assignment of the same clip.")
    duration_seconds = serializers.FloatField()
    language = serializers.CharField()
    draft = serializers.CharField(
        help_text="Recognized text; personal data shows as [NAME], [NUMBER], [EMAIL], [ADDRESS].")
    lease_expires_at = serializers.DateTimeField()
    clips_done = serializers.IntegerField(help_text="Clips submitted in the current shift.")
    audio_token = serializers.CharField(help_text="Send as X-Audio-Token to fetch this assignment's audio.")
    purpose = serializers.ChoiceField(choices=[Purpose.TRANSCRIPTION, Purpose.SECOND_OPINION],
                                      help_text="second_opinion: transcribe only the stretch in `range`; "
                                                "the draft is empty.")
    range = serializers.DictField(child=serializers.FloatField(), allow_null=True,
                                  help_text="{start_seconds, end_seconds} for a second opinion, else null.")
    saved = serializers.JSONField(allow_null=True, help_text="The editor's saved work on this assignment "
                                  "({text, intent, entities, flags}), or null: start from the draft.")
    project = inline_serializer("ProjectSchema", {
        "name": serializers.CharField(), "intents": serializers.ListField(child=serializers.CharField()),
        "entity_types": serializers.ListField(child=serializers.CharField()),
        "flags": serializers.ListField(child=serializers.CharField())})


CLAIM_RESPONSES = {200: AssignmentOutputSerializer, 204: OpenApiResponse(description="No clip to lend."),
                   403: ErrorSerializer, 409: ErrorSerializer,
                   429: OpenApiResponse(ErrorSerializer, description="Break or pace; Retry-After says when.")}


def _claim_answer(request, *, standby: bool) -> Response:
    assignment = services.assignment_claim(annotator=request.user, standby=standby)
    if assignment is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(_assignment_body(assignment))


class AssignmentNextApi(APIView):
    permission_classes = [IsAnnotator]

    @extend_schema(request=None, responses=CLAIM_RESPONSES)
    def post(self, request):
        return _claim_answer(request, standby=False)


def _assignment_body(assignment) -> dict:
    clip = Clip.objects.select_related("project").only(
        "duration_seconds", "locale", "draft_transcript", "project__name", "project__intents",
        "project__entity_types", "project__flags").get(pk=assignment.clip_id)
    blind = assignment.purpose == Purpose.SECOND_OPINION
    opinion = assignment.second_opinion_answered if blind else None
    body = {
        "id": assignment.id,
        "duration_seconds": round(clip.duration_seconds or 0.0, 1),
        "language": clip.locale.split("-")[0],
        "draft": "" if blind else clip.draft_transcript,  # the second reader starts from nothing
        "lease_expires_at": assignment.lease_expires_at,
        "clips_done": shift_done_count(shift=assignment.shift_id),
        "audio_token": services.assignment_audio_token(assignment_id=assignment.id),
        "purpose": SHOWN_PURPOSE.get(assignment.purpose, assignment.purpose),
        "range": {"start_seconds": opinion.start_seconds, "end_seconds": opinion.end_seconds} if opinion else None,
        "saved": assignment.draft,
        "project": project_schema(project=clip.project),
    }
    return AssignmentOutputSerializer(body).data


class AssignmentPrefetchApi(APIView):
    """Claim the next clip ahead, while working on the current one, so that the editor can fetch its
    audio and waveform before they are needed; it becomes the current clip at the next submit or
    skip (which then hands it over as `next`). Refused as a claim would be (pace, break, quota)."""

    permission_classes = [IsAnnotator]

    @extend_schema(request=None, responses=CLAIM_RESPONSES)
    def post(self, request):
        return _claim_answer(request, standby=True)


class AssignmentAudioApi(APIView):
    """The audio of an assignment, to its holder: an annotator's claim or a supervisor's listening."""

    permission_classes = [IsAnnotator | IsSupervisor]

    @extend_schema(
        parameters=[OpenApiParameter("X-Audio-Token", str, OpenApiParameter.HEADER, required=True,
                                     description="The audio_token the claim returned.")],
        responses={(200, "audio/wav"): OpenApiResponse(description="De-identified 16 kHz WAV, never cached."),
                   403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer, 410: ErrorSerializer},
    )
    def get(self, request, assignment_id):
        audio = services.assignment_audio(assignment_id=assignment_id, annotator=request.user,
                                          token=request.headers.get("X-Audio-Token", ""))
        response = HttpResponse(audio, content_type="audio/wav")
        response["Cache-Control"] = "no-store, private"
        response["Pragma"] = "no-cache"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class AssignmentPeaksApi(APIView):
    """The waveform envelope the editor draws, under the audio's own conditions; not a play."""

    permission_classes = [IsAnnotator | IsSupervisor]

    class OutputSerializer(serializers.Serializer):
        duration_seconds = serializers.FloatField()
        peaks = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()),
                                      help_text="[min, max] per bin, left to right, samples in -1..1.")

    @extend_schema(
        parameters=[OpenApiParameter("X-Audio-Token", str, OpenApiParameter.HEADER, required=True),
                    OpenApiParameter("bins", int, OpenApiParameter.QUERY, description="1 to 4000; 800 if left out.")],
        responses={200: OutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer,
                   409: ErrorSerializer, 410: ErrorSerializer},
    )
    def get(self, request, assignment_id):
        raw = request.query_params.get("bins", "800")
        if not raw.isdigit():
            raise ApplicationError("invalid_bins", "bins must be a whole number.", fields={"bins": ["Not a number."]})
        values, seconds = services.assignment_peaks(assignment_id=assignment_id, annotator=request.user,
                                                    token=request.headers.get("X-Audio-Token", ""), bins=int(raw))
        response = Response({"duration_seconds": round(seconds, 3), "peaks": np.round(values, 4).tolist()})
        response["Cache-Control"] = "no-store, private"
        return response


class EntitySerializer(StrictInputSerializer):
    start = serializers.IntegerField(min_value=0, help_text="Offset of the first character in the text.")
    end = serializers.IntegerField(min_value=1, help_text="Offset after the last character.")
    type = serializers.CharField(max_length=100)


class LabelsInputSerializer(StrictInputSerializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)
    intent = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    entities = EntitySerializer(many=True, required=False, default=list)
    flags = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list,
                                  max_length=10)


def _labels(data: dict) -> services.Labels:
    """The labels of validated LabelsInputSerializer data."""
    return services.Labels(text=data["text"], intent=data["intent"],
                           entities=tuple(dict(e) for e in data["entities"]), flags=tuple(data["flags"]))


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AssignmentSubmitApi(APIView):
    """Submit the labels; with `next`, the same request claims the next clip, saving the editor a
    round trip when it moves on."""

    permission_classes = [IsAnnotator]

    class InputSerializer(LabelsInputSerializer):
        next = serializers.BooleanField(required=False, default=False,
                                        help_text="Claim the next clip in the same request.")

    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField()
        clips_done = serializers.IntegerField()
        next = AssignmentOutputSerializer(required=False, allow_null=True, help_text=(
            "With next: the next clip, or null when none was lent (ask assignments/next to learn why)."))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, 400: ErrorSerializer,
                                                       404: ErrorSerializer, 409: ErrorSerializer,
                                                       410: ErrorSerializer})
    def post(self, request, assignment_id):
        data = _valid(self.InputSerializer, request)
        services.transcript_submit(assignment_id=assignment_id, annotator=request.user, labels=_labels(data))
        claimed = None
        if data["next"]:
            try:
                claimed = services.assignment_claim(annotator=request.user)
            except ApplicationError:  # a break, the pace, the quota: assignments/next explains it
                pass
        if claimed is not None:
            following = _assignment_body(claimed)
            return Response({"status": "submitted", "clips_done": following["clips_done"], "next": following})
        shift = shift_current(annotator=request.user)
        body = {"status": "submitted", "clips_done": shift_done_count(shift=shift) if shift else 0}
        if data["next"]:
            body["next"] = None
        return Response(body)


class AssignmentDraftApi(APIView):
    """The editor saves its work as the annotator types; the claim hands it back after a reload."""

    permission_classes = [IsAnnotator]

    class OutputSerializer(serializers.Serializer):
        saved_at = serializers.DateTimeField()

    @extend_schema(request=LabelsInputSerializer, responses={200: OutputSerializer, 400: ErrorSerializer,
                                                             404: ErrorSerializer, 409: ErrorSerializer,
                                                             410: ErrorSerializer})
    def put(self, request, assignment_id):
        saved_at = services.assignment_draft_save(assignment_id=assignment_id, annotator=request.user,
                                                  labels=_labels(_valid(LabelsInputSerializer, request)))
        return Response(self.OutputSerializer({"saved_at": saved_at}).data)


class AssignmentSkipApi(APIView):
    permission_classes = [IsAnnotator]

    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField()

    @extend_schema(request=None, responses={200: OutputSerializer, 404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, assignment_id):
        services.assignment_skip(assignment_id=assignment_id, annotator=request.user)
        return Response(self.OutputSerializer({"status": "skipped"}).data)


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
        trace = services.leak_trace(audio=_uploaded_audio(request), supervisor=request.user)
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


class IdStateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.CharField()


def _reviewer_name(user) -> str | None:
    return user.get_username() if user is not None else None


# ---------------------------------------------------------------- annotators: flags, second opinions, settings


class AssignmentEscalateApi(APIView):
    """Flag the clip in front of you; it goes to the supervisors and you take a pause."""

    permission_classes = [IsAnnotator]

    class InputSerializer(StrictInputSerializer):
        category = serializers.ChoiceField(choices=FlagCategory.choices)
        note = serializers.CharField(required=False, allow_blank=True, default="", max_length=services.MAX_NOTE_CHARS)
        text = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                     help_text="What you had typed; the supervisor reads it.")

    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField()
        escalation = serializers.UUIDField()
        pause_until = serializers.DateTimeField(allow_null=True)
        message = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={
        201: OutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer, 410: ErrorSerializer})
    def post(self, request, assignment_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalation = services.assignment_flag(assignment_id=assignment_id, annotator=request.user,
                                              **serializer.validated_data)
        shift = shift_current(annotator=request.user)
        pause_until = shift.flag_break_until if shift else None
        minutes = max(0, round((pause_until - timezone.now()).total_seconds() / 60)) if pause_until else 0
        message = "Thank you. A supervisor will take it from here."
        if minutes:
            message += f" Take a pause: your next clip comes in {minutes} min."
        body = {"status": "flagged", "escalation": escalation.id, "pause_until": pause_until, "message": message}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class AssignmentSecondOpinionApi(APIView):
    """Ask another annotator what is said in a stretch of the clip; they hear it without your reading."""

    permission_classes = [IsAnnotator]

    class InputSerializer(StrictInputSerializer):
        start_seconds = serializers.FloatField(min_value=0)
        end_seconds = serializers.FloatField(min_value=0)
        text = serializers.CharField(help_text="Your own reading of the stretch; the other annotator never sees it.")

    @extend_schema(request=InputSerializer, responses={201: IdStateSerializer, 400: ErrorSerializer,
                                                       404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, assignment_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        opinion = services.second_opinion_ask(assignment_id=assignment_id, annotator=request.user,
                                              **serializer.validated_data)
        return Response(IdStateSerializer(opinion).data, status=status.HTTP_201_CREATED)


class SecondOpinionMineApi(APIView):
    """The second opinions you asked for and how they ended."""

    permission_classes = [IsAnnotator]

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        state = serializers.CharField()
        start_seconds = serializers.FloatField()
        end_seconds = serializers.FloatField()
        your_text = serializers.CharField(source="first_text")
        settled_text = serializers.SerializerMethodField(help_text="The agreed or adjudicated reading, once settled.")
        created_at = serializers.DateTimeField()

        def get_settled_text(self, opinion) -> str | None:
            return {"agreed": opinion.answer_text, "adjudicated": opinion.adjudicated_text}.get(opinion.state)

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request):
        return Response(self.OutputSerializer(second_opinions_asked_by(annotator=request.user), many=True).data)


class AnnotatorSettingsApi(APIView):
    """Which flagged categories you do not want to hear."""

    permission_classes = [IsAnnotator]

    class InputSerializer(StrictInputSerializer):
        opted_out_categories = serializers.ListField(child=serializers.ChoiceField(choices=FlagCategory.choices),
                                                     max_length=len(FlagCategory.values), allow_empty=True)

    class OutputSerializer(serializers.Serializer):
        opted_out_categories = serializers.ListField(child=serializers.CharField())
        categories = serializers.DictField(child=serializers.CharField(), help_text="Every category and its label.")

    def _body(self, chosen):
        return self.OutputSerializer({"opted_out_categories": chosen, "categories": dict(FlagCategory.choices)}).data

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response(self._body(opt_outs_of(annotator=request.user)))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, 400: ErrorSerializer})
    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        chosen = services.annotator_opt_outs_set(annotator=request.user,
                                                 categories=serializer.validated_data["opted_out_categories"])
        return Response(self._body(chosen))


# ---------------------------------------------------------------- supervisors: escalations


class EscalationSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    category = serializers.CharField()
    category_label = serializers.CharField(source="get_category_display")
    note = serializers.CharField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    overdue = serializers.BooleanField()
    on_hold = serializers.BooleanField(help_text="A legal hold freezes the clip's deletion.")
    claimed_by = serializers.SerializerMethodField()

    def get_claimed_by(self, escalation) -> str | None:
        return _reviewer_name(escalation.claimed_by)


class EscalationListApi(APIView):
    """Unresolved escalations, most severe first, then oldest; overdue ones marked."""

    permission_classes = [IsSupervisor]

    @extend_schema(responses={200: EscalationSummarySerializer(many=True), 403: ErrorSerializer})
    def get(self, request):
        return Response(EscalationSummarySerializer(escalations_unresolved(now=timezone.now()), many=True).data)


class EscalationClaimApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(request=None, responses={200: IdStateSerializer, 404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, escalation_id):
        escalation = services.escalation_claim(escalation_id=escalation_id, supervisor=request.user)
        return Response(IdStateSerializer(escalation).data)


class EscalationDetailApi(APIView):
    """The claimant reads the transcript first; the audio stays silent until they ask to listen."""

    permission_classes = [IsSupervisor]

    class HoldSerializer(serializers.Serializer):
        reason = serializers.CharField()
        expires_at = serializers.DateTimeField()

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        category = serializers.CharField()
        category_label = serializers.CharField()
        note = serializers.CharField()
        draft = serializers.CharField(help_text="The de-identified recognized text.")
        annotator_text = serializers.CharField(help_text="What the annotator had typed when they flagged.")
        duration_seconds = serializers.FloatField()
        created_at = serializers.DateTimeField()
        due_at = serializers.DateTimeField()
        holds = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses={200: OutputSerializer, 404: ErrorSerializer, 409: ErrorSerializer})
    def get(self, request, escalation_id):
        escalation = services.escalation_transcript_view(escalation_id=escalation_id, supervisor=request.user)
        holds = escalation_holds(escalation=escalation, now=timezone.now())
        body = {
            "id": escalation.id, "category": escalation.category, "category_label": escalation.get_category_display(),
            "note": escalation.note, "draft": escalation.clip.draft_transcript,
            "annotator_text": escalation.annotator_text,
            "duration_seconds": round(escalation.clip.duration_seconds or 0.0, 1),
            "created_at": escalation.created_at, "due_at": escalation.due_at,
            "holds": self.HoldSerializer(holds, many=True).data,
        }
        return Response(self.OutputSerializer(body).data)


class ListeningSerializer(serializers.Serializer):
    assignment = serializers.UUIDField(source="id", help_text="Fetch /api/v1/assignments/<assignment>/audio.")
    audio_token = serializers.SerializerMethodField()
    lease_expires_at = serializers.DateTimeField()

    def get_audio_token(self, assignment) -> str:
        return services.assignment_audio_token(assignment_id=assignment.id)


class EscalationListenApi(APIView):
    """The claimant chose to hear the clip."""

    permission_classes = [IsSupervisor]

    @extend_schema(request=None, responses={200: ListeningSerializer, 404: ErrorSerializer, 409: ErrorSerializer,
                                            410: ErrorSerializer})
    def post(self, request, escalation_id):
        assignment = services.escalation_listen(escalation_id=escalation_id, supervisor=request.user)
        return Response(ListeningSerializer(assignment).data)


class EscalationResolveApi(APIView):
    permission_classes = [IsSupervisor]

    class InputSerializer(StrictInputSerializer):
        outcome = serializers.ChoiceField(choices=EscalationOutcome.choices)
        reason = serializers.CharField(max_length=services.MAX_REASON_CHARS)
        referred_to = serializers.CharField(required=False, allow_blank=True, default="", max_length=200,
                                            help_text="Required for a referral: who the case goes to under the policy.")

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        state = serializers.CharField()
        outcome = serializers.CharField()
        resolved_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, 400: ErrorSerializer,
                                                       404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, escalation_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalation = services.escalation_resolve(escalation_id=escalation_id, supervisor=request.user,
                                                 **serializer.validated_data)
        return Response(self.OutputSerializer(escalation).data)


class EscalationHoldApi(APIView):
    """Freeze deletion of the escalation's clip for a number of days, with the reason."""

    permission_classes = [IsSupervisor]

    class InputSerializer(StrictInputSerializer):
        reason = serializers.CharField(max_length=services.MAX_REASON_CHARS)
        days = serializers.IntegerField()

    class OutputSerializer(serializers.Serializer):
        reason = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, 400: ErrorSerializer,
                                                       404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, escalation_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hold = services.legal_hold_place(escalation_id=escalation_id, supervisor=request.user,
                                         **serializer.validated_data)
        return Response(self.OutputSerializer(hold).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------- supervisors: second opinions


class SecondOpinionListApi(APIView):
    """Second opinions whose two readings differ too much: a supervisor decides."""

    permission_classes = [IsSupervisor]

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        kind = serializers.CharField(help_text="asked: an annotator asked about a stretch; agreement: a sampled "
                                     "clip transcribed twice, blind (the range is the whole clip).")
        start_seconds = serializers.FloatField()
        end_seconds = serializers.FloatField()
        difference = serializers.FloatField(help_text="Word error rate of the second reading against the first.")
        created_at = serializers.DateTimeField()

    @extend_schema(responses={200: OutputSerializer(many=True), 403: ErrorSerializer})
    def get(self, request):
        return Response(self.OutputSerializer(second_opinions_for_adjudication(), many=True).data)


class SecondOpinionDetailApi(APIView):
    permission_classes = [IsSupervisor]

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        start_seconds = serializers.FloatField()
        end_seconds = serializers.FloatField()
        first_text = serializers.CharField()
        answer_text = serializers.CharField()
        difference = serializers.FloatField()

    @extend_schema(responses={200: OutputSerializer, 404: ErrorSerializer, 409: ErrorSerializer})
    def get(self, request, opinion_id):
        opinion = services.second_opinion_view(opinion_id=opinion_id, supervisor=request.user)
        return Response(self.OutputSerializer(opinion).data)


class SecondOpinionListenApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(request=None, responses={200: ListeningSerializer, 404: ErrorSerializer, 409: ErrorSerializer,
                                            410: ErrorSerializer})
    def post(self, request, opinion_id):
        assignment = services.second_opinion_listen(opinion_id=opinion_id, supervisor=request.user)
        return Response(ListeningSerializer(assignment).data)


class SecondOpinionAdjudicateApi(APIView):
    permission_classes = [IsSupervisor]

    class InputSerializer(StrictInputSerializer):
        text = serializers.CharField(help_text="What is said in the stretch.")

    @extend_schema(request=InputSerializer, responses={200: IdStateSerializer, 400: ErrorSerializer,
                                                       404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, opinion_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        opinion = services.second_opinion_adjudicate(opinion_id=opinion_id, supervisor=request.user,
                                                     text=serializer.validated_data["text"])
        return Response(IdStateSerializer(opinion).data)


# ---------------------------------------------------------------- projects and quality


class ProjectListApi(APIView):
    """The projects you belong to, your role in each, and their label schema."""

    permission_classes = [IsAnnotator | IsSupervisor]

    class OutputSerializer(serializers.Serializer):
        slug = serializers.CharField()
        name = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())
        locale = serializers.CharField()
        sample_rate = serializers.IntegerField()
        intents = serializers.ListField(child=serializers.CharField())
        entity_types = serializers.ListField(child=serializers.CharField())
        flags = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses={200: OutputSerializer(many=True), 403: ErrorSerializer})
    def get(self, request):
        return Response(self.OutputSerializer(projects_of(user=request.user), many=True).data)


class QualityReviewStartApi(APIView):
    """A supervisor of the project is lent a labeled clip at random to hear and perhaps make gold."""

    permission_classes = [IsSupervisor]

    class OutputSerializer(serializers.Serializer):
        assignment = serializers.UUIDField(help_text="Fetch /api/v1/assignments/<assignment>/audio with the token.")
        audio_token = serializers.CharField()
        duration_seconds = serializers.FloatField()
        text = serializers.CharField(help_text="The annotator's transcript.")
        intent = serializers.CharField()
        flags = serializers.ListField(child=serializers.CharField())

    @extend_schema(request=None, responses={201: OutputSerializer, 204: OpenApiResponse(
        description="No labeled clip to review."), 403: ErrorSerializer, 404: ErrorSerializer})
    def post(self, request, slug):
        lent = services.quality_review_start(project_slug=slug, supervisor=request.user)
        if lent is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        listening, transcript = lent
        return Response(self.OutputSerializer({
            "assignment": listening.id, "audio_token": services.assignment_audio_token(assignment_id=listening.id),
            "duration_seconds": round(transcript.clip.duration_seconds or 0.0, 1), "text": transcript.text,
            "intent": transcript.intent, "flags": transcript.flags}).data, status=status.HTTP_201_CREATED)


class GoldMarkApi(APIView):
    """The reviewing supervisor's reference transcript makes the clip a gold clip."""

    permission_classes = [IsSupervisor]

    class InputSerializer(StrictInputSerializer):
        reference_text = serializers.CharField(help_text="What is said, exactly; annotators are scored against it.")

    class OutputSerializer(serializers.Serializer):
        gold = serializers.IntegerField(source="id")
        created_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, 400: ErrorSerializer,
                                                       404: ErrorSerializer, 409: ErrorSerializer,
                                                       410: ErrorSerializer})
    def post(self, request, assignment_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        gold = services.gold_mark(assignment_id=assignment_id, supervisor=request.user,
                                  reference_text=serializer.validated_data["reference_text"])
        return Response(self.OutputSerializer(gold).data, status=status.HTTP_201_CREATED)


class ProjectQualityApi(APIView):
    """Accuracy per annotator against gold clips and agreement between blind double transcriptions."""

    permission_classes = [IsSupervisor]

    class OutputSerializer(serializers.Serializer):
        since = serializers.DateTimeField()
        accuracy = inline_serializer("AccuracyRow", {
            "annotator": serializers.CharField(), "gold_clips": serializers.IntegerField(),
            "word_error_rate": serializers.FloatField()}, many=True)
        agreement = inline_serializer("Agreement", {
            "samples": serializers.IntegerField(), "word_error_rate": serializers.FloatField(allow_null=True),
            "over_limit": serializers.IntegerField(), "waiting": serializers.IntegerField()})

    @extend_schema(parameters=[OpenApiParameter("days", int, OpenApiParameter.QUERY, description="1 to 365; 30.")],
                   responses={200: OutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request, slug):
        raw = request.query_params.get("days", "30")
        if not raw.isdigit() or not 1 <= int(raw) <= 365:
            raise ApplicationError("invalid_days", "days must be a whole number from 1 to 365.",
                                   fields={"days": ["Out of range."]})
        project = supervised_project(supervisor=request.user, slug=slug)
        since = timezone.now() - timedelta(days=int(raw))
        return Response(self.OutputSerializer({
            "since": since, "accuracy": [vars(row) for row in accuracy_by_annotator(project=project, since=since)],
            "agreement": vars(agreement_of(project=project, since=since))}).data)


