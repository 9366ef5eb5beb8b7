"""Routes of the labeling API."""

from django.urls import path

from labeling.custody import apis as custody
from labeling.escalation import apis as escalation
from labeling.exports import apis as exports
from labeling.intake import apis as intake
from labeling.quality import apis as quality
from labeling.review import apis as review

urlpatterns = [
    path("clips", intake.ClipIngestApi.as_view(), name="clip-ingest"),
    path("clips/held", intake.ClipHeldListApi.as_view(), name="clip-held-list"),
    path("ingest-keys", intake.IngestKeyListApi.as_view(), name="ingest-key-list"),
    path("ingest-keys/<int:key_id>/rotate", intake.IngestKeyRotateApi.as_view(), name="ingest-key-rotate"),
    path("ingest-keys/<int:key_id>/revoke", intake.IngestKeyRevokeApi.as_view(), name="ingest-key-revoke"),
    path("shifts", review.ShiftStartApi.as_view(), name="shift-start"),
    path("shifts/current", review.ShiftCurrentApi.as_view(), name="shift-current"),
    path("shifts/current/end", review.ShiftEndApi.as_view(), name="shift-end"),
    path("assignments/next", review.AssignmentNextApi.as_view(), name="assignment-next"),
    path("assignments/prefetch", review.AssignmentPrefetchApi.as_view(), name="assignment-prefetch"),
    path("assignments/<uuid:assignment_id>/audio", review.AssignmentAudioApi.as_view(), name="assignment-audio"),
    path("assignments/<uuid:assignment_id>/status", review.AssignmentStatusApi.as_view(), name="assignment-status"),
    path("assignments/<uuid:assignment_id>/peaks", review.AssignmentPeaksApi.as_view(), name="assignment-peaks"),
    path("assignments/<uuid:assignment_id>/play-starts", review.AssignmentPlayStartApi.as_view(),
         name="assignment-play-starts"),
    path("assignments/<uuid:assignment_id>/submit", review.AssignmentSubmitApi.as_view(), name="assignment-submit"),
    path("assignments/<uuid:assignment_id>/draft", review.AssignmentDraftApi.as_view(), name="assignment-draft"),
    path("assignments/<uuid:assignment_id>/skip", review.AssignmentSkipApi.as_view(), name="assignment-skip"),
    path("assignments/<uuid:assignment_id>/escalate", escalation.AssignmentEscalateApi.as_view(),
         name="assignment-escalate"),
    path("assignments/<uuid:assignment_id>/second-opinion", review.AssignmentSecondOpinionApi.as_view(),
         name="assignment-second-opinion"),
    path("annotator/settings", review.AnnotatorSettingsApi.as_view(), name="annotator-settings"),
    path("second-opinions/mine", review.SecondOpinionMineApi.as_view(), name="second-opinion-mine"),
    path("second-opinions", quality.SecondOpinionListApi.as_view(), name="second-opinion-list"),
    path("second-opinions/<uuid:opinion_id>", quality.SecondOpinionDetailApi.as_view(), name="second-opinion-detail"),
    path("second-opinions/<uuid:opinion_id>/listen", quality.SecondOpinionListenApi.as_view(),
         name="second-opinion-listen"),
    path("second-opinions/<uuid:opinion_id>/adjudicate", quality.SecondOpinionAdjudicateApi.as_view(),
         name="second-opinion-adjudicate"),
    path("escalations", escalation.EscalationListApi.as_view(), name="escalation-list"),
    path("escalations/<uuid:escalation_id>", escalation.EscalationDetailApi.as_view(), name="escalation-detail"),
    path("escalations/<uuid:escalation_id>/claim", escalation.EscalationClaimApi.as_view(), name="escalation-claim"),
    path("escalations/<uuid:escalation_id>/listen", escalation.EscalationListenApi.as_view(), name="escalation-listen"),
    path("escalations/<uuid:escalation_id>/resolve", escalation.EscalationResolveApi.as_view(),
         name="escalation-resolve"),
    path("escalations/<uuid:escalation_id>/hold", escalation.EscalationHoldApi.as_view(), name="escalation-hold"),
    path("projects", review.ProjectListApi.as_view(), name="project-list"),
    path("projects/<slug:slug>/quality", quality.ProjectQualityApi.as_view(), name="project-quality"),
    path("projects/<slug:slug>/quality-reviews", quality.QualityReviewStartApi.as_view(), name="quality-review-start"),
    path("projects/<slug:slug>/exports", exports.ProjectExportApi.as_view(), name="project-exports"),
    path("exports/<uuid:export_id>", exports.ExportDetailApi.as_view(), name="export-detail"),
    path("exports/<uuid:export_id>/download", exports.ExportDownloadApi.as_view(), name="export-download"),
    path("quality-reviews/<uuid:assignment_id>/gold", quality.GoldMarkApi.as_view(), name="gold-mark"),
    path("leaks/trace", custody.LeakTraceApi.as_view(), name="leak-trace"),
]
