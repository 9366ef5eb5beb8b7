"""Celery app, the pipeline's thin tasks, and the periodic schedule."""

from workers.celery import app

__all__ = ["app"]
