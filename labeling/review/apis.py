"""The API of review: the annotator's shift, claim and claim ahead, audio and envelope, draft, submit,
skip and second opinion; projects; annotators' settings."""

from __future__ import annotations

import numpy as np
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError, ErrorSerializer, NotFound, StrictInputSerializer
from core.output import represented
from labeling.auth import IsAnnotator, IsSupervisor
from labeling.models import SHOWN_PURPOSE, FlagCategory, MutedStart, Project, Purpose
from labeling.review.audio import assignment_audio, assignment_audio_token, assignment_peaks, assignment_play_start
from labeling.review.selectors import (
    STATUS_MESSAGES,
    assignment_status,
    claimed_clip,
    muted_start_categories_for,
    opt_outs_of,
    preferences_of,
    project_of_own_assignment,
    second_opinions_asked_by,
    shift_current,
    shift_done_count,
    shift_progress,
)
from labeling.review.services import annotator_settings_set, assignment_claim, shift_end, shift_start
from labeling.review.submit import Labels, assignment_draft_save, assignment_skip, second_opinion_ask, transcript_submit
from labeling.selectors import project_schema, projects_of


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
        shift = shift_start(annotator=request.user)
        return Response(_shift_body(shift), status=status.HTTP_201_CREATED)


class ShiftEndApi(APIView):
    permission_classes = [IsAnnotator]

    @extend_schema(request=None, responses={200: ShiftOutputSerializer, 409: ErrorSerializer})
    def post(self, request):
        shift = shift_end(annotator=request.user)
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
    muted_category = serializers.BooleanField(
        help_text="The clip was flagged with a category the annotator's team marks: with muted_start "
                  "`marked` (the default) the page starts it quietly and fades it in.")
    project = inline_serializer("ProjectSchema", {
        "name": serializers.CharField(), "intents": serializers.ListField(child=serializers.CharField()),
        "entity_types": serializers.ListField(child=serializers.CharField()),
        "flags": serializers.ListField(child=serializers.CharField())})


CLAIM_RESPONSES = {200: AssignmentOutputSerializer, 204: OpenApiResponse(description="No clip to lend."),
                   403: ErrorSerializer, 409: ErrorSerializer,
                   429: OpenApiResponse(ErrorSerializer, description="Break or pace; Retry-After says when.")}


def _claim_answer(request, *, standby: bool) -> Response:
    assignment = assignment_claim(annotator=request.user, standby=standby)
    if assignment is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(_assignment_body(assignment))


class AssignmentNextApi(APIView):
    permission_classes = [IsAnnotator]

    @extend_schema(request=None, responses=CLAIM_RESPONSES)
    def post(self, request):
        return _claim_answer(request, standby=False)


def _assignment_body(assignment) -> dict:
    clip = claimed_clip(clip_id=assignment.clip_id, shift_id=assignment.shift_id)
    blind = assignment.purpose == Purpose.SECOND_OPINION
    opinion = assignment.second_opinion_answered if blind else None
    body = {
        "id": assignment.id,
        "duration_seconds": round(clip["duration_seconds"] or 0.0, 1),
        "language": clip["locale"].split("-")[0],
        "draft": "" if blind else clip["draft_transcript"],  # the second reader starts from nothing
        "lease_expires_at": assignment.lease_expires_at,
        "clips_done": clip["clips_done"],
        "audio_token": assignment_audio_token(assignment_id=assignment.id),
        "purpose": SHOWN_PURPOSE.get(assignment.purpose, assignment.purpose),
        "range": {"start_seconds": opinion.start_seconds, "end_seconds": opinion.end_seconds} if opinion else None,
        "saved": assignment.draft,
        # Only a flagged clip asks which categories the team marks: most claims cost no query more.
        "muted_category": bool(clip["flag_category"]) and clip["flag_category"] in muted_start_categories_for(
            annotator_id=assignment.annotator_id),
        "project": project_schema(project=clip["project"]),
    }
    return represented(AssignmentOutputSerializer, body)


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
        audio = assignment_audio(assignment_id=assignment_id, annotator=request.user,
                                 token=request.headers.get("X-Audio-Token", ""))
        response = HttpResponse(audio, content_type="audio/wav")
        response["Cache-Control"] = "no-store, private"
        response["Pragma"] = "no-cache"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class AssignmentStatusApi(APIView):
    """May the clip still be heard? The page asks about once a second while the clip is open, and
    on `audible: false` stops playback, forgets the sound and waveform and shows `message`. Only
    the assignment's holder gets an answer (404 for anyone else); nothing is written."""

    permission_classes = [IsAnnotator | IsSupervisor]

    class OutputSerializer(serializers.Serializer):
        audible = serializers.BooleanField()
        reason = serializers.ChoiceField(choices=list(STATUS_MESSAGES), allow_null=True, help_text=(
            "Why not: withdrawn (by its owner), deleted, lease_expired, taken_away (with a supervisor), "
            "legal_hold, closed (submitted, skipped or the shift ended)."))
        message = serializers.CharField(allow_null=True, help_text="The reason in the annotator's words.")
        lease_expires_at = serializers.DateTimeField()

    @extend_schema(responses={200: OutputSerializer, 403: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request, assignment_id):
        answer = assignment_status(assignment_id=assignment_id, annotator=request.user, now=timezone.now())
        if answer is None:
            raise NotFound("not_found", "No such assignment.")
        response = Response(represented(self.OutputSerializer, answer))
        response["Cache-Control"] = "no-store, private"
        return response


class AssignmentPeaksApi(APIView):
    """The waveform envelope the editor draws, under the audio's own conditions; not counted as audio sent."""

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
        values, seconds = assignment_peaks(assignment_id=assignment_id, annotator=request.user,
                                           token=request.headers.get("X-Audio-Token", ""), bins=int(raw))
        response = Response({"duration_seconds": round(seconds, 3), "peaks": np.round(values, 4).tolist()})
        response["Cache-Control"] = "no-store, private"
        return response


class AssignmentPlayStartApi(APIView):
    """The page started playing the assignment's audio (from silence; not a jump or a change of
    speed). Counted as the page's report, bounded: not before the audio was sent, at most 50 per
    copy sent, at most one a second; the data subject's ledger shows the count beside the times the
    audio was sent."""

    permission_classes = [IsAnnotator | IsSupervisor]

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("X-Audio-Token", str, OpenApiParameter.HEADER, required=True,
                                     description="The audio_token the claim returned.")],
        responses={204: None, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer,
                   410: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request, assignment_id):
        assignment_play_start(assignment_id=assignment_id, annotator=request.user,
                              token=request.headers.get("X-Audio-Token", ""))
        return Response(status=status.HTTP_204_NO_CONTENT)


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


def _labels(data: dict) -> Labels:
    """The labels of validated LabelsInputSerializer data."""
    return Labels(text=data["text"], intent=data["intent"],
                  entities=tuple(dict(e) for e in data["entities"]), flags=tuple(data["flags"]))


def own_assignment(request, assignment_id) -> Project:
    """Another annotator's assignment does not exist for this one: 404 before anything is said about
    the request's input, so that ids cannot be probed with bad bodies. The assignment's project,
    whose label schema the input is checked against."""
    project = project_of_own_assignment(assignment_id=assignment_id, annotator=request.user)
    if project is None:
        raise NotFound("not_found", "No such assignment.")
    return project


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
        project = own_assignment(request, assignment_id)
        data = _valid(self.InputSerializer, request)
        transcript_submit(assignment_id=assignment_id, annotator=request.user, labels=_labels(data), project=project)
        claimed = None
        if data["next"]:
            try:
                claimed = assignment_claim(annotator=request.user)
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
        project = own_assignment(request, assignment_id)
        saved_at = assignment_draft_save(assignment_id=assignment_id, annotator=request.user,
                                         labels=_labels(_valid(LabelsInputSerializer, request)), project=project)
        return Response(represented(self.OutputSerializer, {"saved_at": saved_at}))


class AssignmentSkipApi(APIView):
    permission_classes = [IsAnnotator]

    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField()

    @extend_schema(request=None, responses={200: OutputSerializer, 404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, assignment_id):
        assignment_skip(assignment_id=assignment_id, annotator=request.user)
        return Response(self.OutputSerializer({"status": "skipped"}).data)


class IdStateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.CharField()


def reviewer_name(user) -> str | None:
    return user.get_username() if user is not None else None


# ---------------------------------------------------------------- annotators: flags, second opinions, settings


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
        own_assignment(request, assignment_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        opinion = second_opinion_ask(assignment_id=assignment_id, annotator=request.user,
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
    """Which flagged categories you do not want to hear, and how your page plays sound: the volume
    and when playback starts quietly and fades in. Kept on the server, so they follow you from
    browser to browser. A PUT changes the settings it names; the others stay."""

    permission_classes = [IsAnnotator]

    class InputSerializer(StrictInputSerializer):
        opted_out_categories = serializers.ListField(child=serializers.ChoiceField(choices=FlagCategory.choices),
                                                     max_length=len(FlagCategory.values), allow_empty=True,
                                                     required=False)
        volume = serializers.FloatField(min_value=0, max_value=1, required=False,
                                        help_text="0 (silent) to 1 (full).")
        muted_start = serializers.ChoiceField(choices=MutedStart.choices, required=False, help_text=(
            "Start playback at a tenth of the volume and fade in over 2 s: marked (clips in a category "
            "your team marks; the default), all (every clip) or off."))

    class OutputSerializer(serializers.Serializer):
        opted_out_categories = serializers.ListField(child=serializers.CharField())
        categories = serializers.DictField(child=serializers.CharField(), help_text="Every category and its label.")
        volume = serializers.FloatField()
        muted_start = serializers.CharField()

    def _body(self, request, chosen):
        return self.OutputSerializer({"opted_out_categories": chosen, "categories": dict(FlagCategory.choices),
                                      **preferences_of(annotator=request.user)}).data

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response(self._body(request, opt_outs_of(annotator=request.user)))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, 400: ErrorSerializer})
    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        annotator_settings_set(annotator=request.user, categories=data.get("opted_out_categories"),
                               volume=data.get("volume"), muted_start=data.get("muted_start"))
        return Response(self._body(request, opt_outs_of(annotator=request.user)))


# ---------------------------------------------------------------- supervisors' listening


class ListeningSerializer(serializers.Serializer):
    assignment = serializers.UUIDField(source="id", help_text="Fetch /api/v1/assignments/<assignment>/audio.")
    audio_token = serializers.SerializerMethodField()
    lease_expires_at = serializers.DateTimeField()

    def get_audio_token(self, assignment) -> str:
        return assignment_audio_token(assignment_id=assignment.id)


# ---------------------------------------------------------------- projects


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


