"""Top-level routes: health, readiness and metrics, API v1, schema, pages, admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config import observability

urlpatterns = [
    path("healthz", observability.healthz, name="healthz"),
    path("readyz", observability.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    path("api/v1/", include("labeling.urls")),
    path("api/v1/", include("portal.urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path("admin/", admin.site.urls),
    path("", include("frontend.urls")),
]

handler500 = observability.server_error
