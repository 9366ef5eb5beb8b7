"""The API of quality: second opinions awaiting a supervisor's decision, quality reviews, gold
marking, and a project's accuracy and agreement figures."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError, ErrorSerializer, StrictInputSerializer
from labeling.auth import IsSupervisor
from labeling.quality.selectors import accuracy_by_annotator, agreement_of, second_opinions_for_adjudication
from labeling.quality.services import (
    gold_mark,
    quality_review_start,
    second_opinion_adjudicate,
    second_opinion_listen,
    second_opinion_view,
)
from labeling.review.apis import IdStateSerializer, ListeningSerializer
from labeling.review.audio import assignment_audio_token
from labeling.selectors import supervised_project


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
        opinion = second_opinion_view(opinion_id=opinion_id, supervisor=request.user)
        return Response(self.OutputSerializer(opinion).data)


class SecondOpinionListenApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(request=None, responses={200: ListeningSerializer, 404: ErrorSerializer, 409: ErrorSerializer,
                                            410: ErrorSerializer})
    def post(self, request, opinion_id):
        assignment = second_opinion_listen(opinion_id=opinion_id, supervisor=request.user)
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
        opinion = second_opinion_adjudicate(opinion_id=opinion_id, supervisor=request.user,
                                            text=serializer.validated_data["text"])
        return Response(IdStateSerializer(opinion).data)


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
        lent = quality_review_start(project_slug=slug, supervisor=request.user)
        if lent is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        listening, transcript = lent
        return Response(self.OutputSerializer({
            "assignment": listening.id, "audio_token": assignment_audio_token(assignment_id=listening.id),
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
        gold = gold_mark(assignment_id=assignment_id, supervisor=request.user,
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
