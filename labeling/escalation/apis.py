"""The API of escalation: flagging a clip, the supervisors' queue, claim, listen, outcome and hold."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ErrorSerializer, StrictInputSerializer
from labeling.auth import IsAnnotator, IsSupervisor
from labeling.escalation.selectors import escalation_holds, escalations_unresolved
from labeling.escalation.services import (
    assignment_flag,
    escalation_claim,
    escalation_listen,
    escalation_resolve,
    escalation_transcript_view,
    legal_hold_place,
)
from labeling.models import (
    MAX_NOTE_CHARS,
    MAX_REASON_CHARS,
    EscalationOutcome,
    FlagCategory,
)
from labeling.review.apis import IdStateSerializer, ListeningSerializer, own_assignment, reviewer_name
from labeling.review.selectors import shift_current


class AssignmentEscalateApi(APIView):
    """Flag the clip in front of you; it goes to the supervisors and you take a pause."""

    permission_classes = [IsAnnotator]

    class InputSerializer(StrictInputSerializer):
        category = serializers.ChoiceField(choices=FlagCategory.choices)
        note = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_NOTE_CHARS)
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
        own_assignment(request, assignment_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalation = assignment_flag(assignment_id=assignment_id, annotator=request.user,
                                     **serializer.validated_data)
        shift = shift_current(annotator=request.user)
        pause_until = shift.flag_break_until if shift else None
        minutes = max(0, round((pause_until - timezone.now()).total_seconds() / 60)) if pause_until else 0
        message = "Thank you. A supervisor will take it from here."
        if minutes:
            message += f" Take a pause: your next clip comes in {minutes} min."
        body = {"status": "flagged", "escalation": escalation.id, "pause_until": pause_until, "message": message}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


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
        return reviewer_name(escalation.claimed_by)


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
        escalation = escalation_claim(escalation_id=escalation_id, supervisor=request.user)
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
        escalation = escalation_transcript_view(escalation_id=escalation_id, supervisor=request.user)
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


class EscalationListenApi(APIView):
    """The claimant chose to hear the clip."""

    permission_classes = [IsSupervisor]

    @extend_schema(request=None, responses={200: ListeningSerializer, 404: ErrorSerializer, 409: ErrorSerializer,
                                            410: ErrorSerializer})
    def post(self, request, escalation_id):
        assignment = escalation_listen(escalation_id=escalation_id, supervisor=request.user)
        return Response(ListeningSerializer(assignment).data)


class EscalationResolveApi(APIView):
    permission_classes = [IsSupervisor]

    class InputSerializer(StrictInputSerializer):
        outcome = serializers.ChoiceField(choices=EscalationOutcome.choices)
        reason = serializers.CharField(max_length=MAX_REASON_CHARS)
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
        escalation = escalation_resolve(escalation_id=escalation_id, supervisor=request.user,
                                        **serializer.validated_data)
        return Response(self.OutputSerializer(escalation).data)


class EscalationHoldApi(APIView):
    """Freeze deletion of the escalation's clip for a number of days, with the reason."""

    permission_classes = [IsSupervisor]

    class InputSerializer(StrictInputSerializer):
        reason = serializers.CharField(max_length=MAX_REASON_CHARS)
        days = serializers.IntegerField()

    class OutputSerializer(serializers.Serializer):
        reason = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, 400: ErrorSerializer,
                                                       404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, escalation_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hold = legal_hold_place(escalation_id=escalation_id, supervisor=request.user,
                                **serializer.validated_data)
        return Response(self.OutputSerializer(hold).data, status=status.HTTP_201_CREATED)
