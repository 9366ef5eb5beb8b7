"""Page routes."""

from django.contrib.auth import views as auth_views
from django.urls import path

from config.security import LockoutAuthenticationForm
from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(authentication_form=LockoutAuthenticationForm), name="login"),
    path("mfa/", views.second_factor, name="mfa"),
    path("signup/", views.sign_up, name="signup"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("annotate/", views.annotate, name="annotate"),
    path("supervise/", views.supervise, name="supervise"),
    path("supervise/escalations/", views.escalations, name="escalations"),
    path("supervise/quality/", views.quality, name="quality"),
    path("supervise/exports/", views.exports, name="exports"),
    path("supervise/ingest-keys/", views.ingest_keys, name="ingest-keys"),
    path("me/", views.my_consent, name="my-consent"),
    path("me/recordings/", views.my_clips, name="my-clips"),
    path("me/recordings/receipts/<uuid:receipt_id>/", views.my_receipt, name="my-receipt"),
    path("me/who-heard/", views.my_ledger, name="my-ledger"),
]
