"""Routes of the data-subject API."""

from django.urls import path

from consent import apis

urlpatterns = [
    path("me/consent", apis.ConsentApi.as_view(), name="me-consent"),
    path("me/ledger", apis.MyLedgerApi.as_view(), name="me-ledger"),
]
