"""App configuration for consent."""

from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from consent import receivers  # noqa: F401  (connects the ledger's login receivers)
