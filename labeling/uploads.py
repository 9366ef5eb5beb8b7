"""Reading an uploaded audio file from a request, within the size limits."""

from __future__ import annotations

from django.conf import settings

from core.errors import ApplicationError, TooLarge


def uploaded_audio(request) -> bytes:
    """The multipart field 'audio', within the size limit, or the error that says what is wrong."""
    upload = request.FILES.get("audio")
    if upload is None:
        raise ApplicationError("missing_audio", "Send the recording in the multipart field 'audio'.",
                               fields={"audio": ["This field is required."]})
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise too_large()
    if upload.size == 0:
        raise ApplicationError("empty_audio", "The audio file is empty.", fields={"audio": ["Empty file."]})
    return upload.read()


def too_large() -> ApplicationError:
    limit = settings.MAX_UPLOAD_BYTES / (1024 * 1024)
    return TooLarge("audio_too_large", f"The upload exceeds the {limit:g} MB limit.")
