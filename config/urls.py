"""Top-level routes: API v1, schema, pages, admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("api/v1/", include("labeling.urls")),
    path("api/v1/", include("consent.urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path("admin/", admin.site.urls),
    path("", include("frontend.urls")),
]
