"""Routes of the labeling API."""

from django.urls import path

from labeling import apis

urlpatterns = [
    path("clips", apis.ClipIngestApi.as_view(), name="clip-ingest"),
    path("clips/held", apis.ClipHeldListApi.as_view(), name="clip-held-list"),
    path("shifts", apis.ShiftStartApi.as_view(), name="shift-start"),
    path("shifts/current", apis.ShiftCurrentApi.as_view(), name="shift-current"),
    path("shifts/current/end", apis.ShiftEndApi.as_view(), name="shift-end"),
    path("assignments/next", apis.AssignmentNextApi.as_view(), name="assignment-next"),
    path("assignments/<uuid:assignment_id>/audio", apis.AssignmentAudioApi.as_view(), name="assignment-audio"),
    path("assignments/<uuid:assignment_id>/submit", apis.AssignmentSubmitApi.as_view(), name="assignment-submit"),
    path("assignments/<uuid:assignment_id>/skip", apis.AssignmentSkipApi.as_view(), name="assignment-skip"),
    path("leaks/trace", apis.LeakTraceApi.as_view(), name="leak-trace"),
]
