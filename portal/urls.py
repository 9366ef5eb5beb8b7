"""Routes of the data-subject API."""

from django.urls import path

from portal import apis

urlpatterns = [
    path("me/consent", apis.ConsentApi.as_view(), name="me-consent"),
    path("me/ledger", apis.MyLedgerApi.as_view(), name="me-ledger"),
    path("me/clips", apis.MyClipsApi.as_view(), name="me-clips"),
    path("me/export", apis.MyExportApi.as_view(), name="me-export"),
    path("accounts/link-codes", apis.LinkCodeIssueApi.as_view(), name="link-code-issue"),
    path("me/clips/<uuid:clip_id>", apis.MyClipApi.as_view(), name="me-clip"),
]
