"""The API of training exports: request, follow, download."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ErrorSerializer, StrictInputSerializer
from labeling.auth import IsSupervisor
from labeling.exports.selectors import export_for, exports_of
from labeling.exports.services import export_download, export_request
from labeling.selectors import supervised_project


class ExportOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    project = serializers.CharField(source="project.slug")
    formats = serializers.ListField(child=serializers.CharField())
    state = serializers.CharField(help_text="queued, running, done, failed or expired.")
    total = serializers.IntegerField(help_text="Labeled clips considered.")
    done = serializers.IntegerField(help_text="Clips considered so far.")
    exported = serializers.IntegerField()
    left_out = serializers.DictField(child=serializers.IntegerField(), help_text="Clips left out, by reason.")
    size_bytes = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ProjectExportApi(APIView):
    """Exports of a project: list them, or ask a worker for a new one."""

    permission_classes = [IsSupervisor]

    class InputSerializer(StrictInputSerializer):
        formats = serializers.ListField(child=serializers.CharField(max_length=16), required=False, default=list,
                                        max_length=8, help_text="jsonl, nemo, hf, webvtt; all if left out.")

    @extend_schema(responses={200: ExportOutputSerializer(many=True), 404: ErrorSerializer})
    def get(self, request, slug):
        return Response(ExportOutputSerializer(exports_of(project=supervised_project(
            supervisor=request.user, slug=slug)), many=True).data)

    @extend_schema(request=InputSerializer, responses={202: ExportOutputSerializer, 400: ErrorSerializer,
                                                       404: ErrorSerializer})
    def post(self, request, slug):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = export_request(project_slug=slug, supervisor=request.user,
                             formats=serializer.validated_data["formats"])
        return Response(ExportOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExportDetailApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(responses={200: ExportOutputSerializer, 404: ErrorSerializer})
    def get(self, request, export_id):
        return Response(ExportOutputSerializer(export_for(supervisor=request.user, export_id=export_id)).data)


class ExportDownloadApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(description="The export."),
                              404: ErrorSerializer, 409: ErrorSerializer, 410: ErrorSerializer})
    def get(self, request, export_id):
        job, body = export_download(export_id=export_id, supervisor=request.user)
        response = StreamingHttpResponse(body, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{job.project.slug}-{job.created_at:%Y%m%d-%H%M}.zip"'
        response["Cache-Control"] = "no-store, private"
        return response
