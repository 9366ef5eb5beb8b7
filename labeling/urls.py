"""Routes of the labeling API."""

from django.urls import path

from labeling import apis
from labeling.exports import apis as exports

urlpatterns = [
    path("clips", apis.ClipIngestApi.as_view(), name="clip-ingest"),
    path("clips/held", apis.ClipHeldListApi.as_view(), name="clip-held-list"),
    path("shifts", apis.ShiftStartApi.as_view(), name="shift-start"),
    path("shifts/current", apis.ShiftCurrentApi.as_view(), name="shift-current"),
    path("shifts/current/end", apis.ShiftEndApi.as_view(), name="shift-end"),
    path("assignments/next", apis.AssignmentNextApi.as_view(), name="assignment-next"),
    path("assignments/prefetch", apis.AssignmentPrefetchApi.as_view(), name="assignment-prefetch"),
    path("assignments/<uuid:assignment_id>/audio", apis.AssignmentAudioApi.as_view(), name="assignment-audio"),
    path("assignments/<uuid:assignment_id>/peaks", apis.AssignmentPeaksApi.as_view(), name="assignment-peaks"),
    path("assignments/<uuid:assignment_id>/submit", apis.AssignmentSubmitApi.as_view(), name="assignment-submit"),
    path("assignments/<uuid:assignment_id>/draft", apis.AssignmentDraftApi.as_view(), name="assignment-draft"),
    path("assignments/<uuid:assignment_id>/skip", apis.AssignmentSkipApi.as_view(), name="assignment-skip"),
    path("assignments/<uuid:assignment_id>/escalate", apis.AssignmentEscalateApi.as_view(), name="assignment-escalate"),
    path("assignments/<uuid:assignment_id>/second-opinion", apis.AssignmentSecondOpinionApi.as_view(),
         name="assignment-second-opinion"),
    path("annotator/settings", apis.AnnotatorSettingsApi.as_view(), name="annotator-settings"),
    path("second-opinions/mine", apis.SecondOpinionMineApi.as_view(), name="second-opinion-mine"),
    path("second-opinions", apis.SecondOpinionListApi.as_view(), name="second-opinion-list"),
    path("second-opinions/<uuid:opinion_id>", apis.SecondOpinionDetailApi.as_view(), name="second-opinion-detail"),
    path("second-opinions/<uuid:opinion_id>/listen", apis.SecondOpinionListenApi.as_view(),
         name="second-opinion-listen"),
    path("second-opinions/<uuid:opinion_id>/adjudicate", apis.SecondOpinionAdjudicateApi.as_view(),
         name="second-opinion-adjudicate"),
    path("escalations", apis.EscalationListApi.as_view(), name="escalation-list"),
    path("escalations/<uuid:escalation_id>", apis.EscalationDetailApi.as_view(), name="escalation-detail"),
    path("escalations/<uuid:escalation_id>/claim", apis.EscalationClaimApi.as_view(), name="escalation-claim"),
    path("escalations/<uuid:escalation_id>/listen", apis.EscalationListenApi.as_view(), name="escalation-listen"),
    path("escalations/<uuid:escalation_id>/resolve", apis.EscalationResolveApi.as_view(), name="escalation-resolve"),
    path("escalations/<uuid:escalation_id>/hold", apis.EscalationHoldApi.as_view(), name="escalation-hold"),
    path("projects", apis.ProjectListApi.as_view(), name="project-list"),
    path("projects/<slug:slug>/quality", apis.ProjectQualityApi.as_view(), name="project-quality"),
    path("projects/<slug:slug>/quality-reviews", apis.QualityReviewStartApi.as_view(), name="quality-review-start"),
    path("projects/<slug:slug>/exports", exports.ProjectExportApi.as_view(), name="project-exports"),
    path("exports/<uuid:export_id>", exports.ExportDetailApi.as_view(), name="export-detail"),
    path("exports/<uuid:export_id>/download", exports.ExportDownloadApi.as_view(), name="export-download"),
    path("quality-reviews/<uuid:assignment_id>/gold", apis.GoldMarkApi.as_view(), name="gold-mark"),
    path("leaks/trace", apis.LeakTraceApi.as_view(), name="leak-trace"),
]
