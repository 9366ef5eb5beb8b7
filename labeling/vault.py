"""Envelope encryption of clip audio and of training exports: a per-clip (per-export) AES-256-GCM
data key, wrapped by the master key. Destroying the wrapped key makes every copy unreadable."""

from __future__ import annotations

import errno
import hashlib
import hmac
import io
import os
import uuid
from contextlib import contextmanager

import numpy as np
import soundfile as sf
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from labeling.models import BlobDeletion
from redaction import waveform

NONCE_BYTES = 12
# Write errors that mean storage as a whole is full, unreachable or refuses writes, not that one
# write failed.
STORAGE_UNAVAILABLE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EHOSTUNREACH}
# Object storage's answers that mean it refuses this installation as a whole.
S3_REFUSALS = {"AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket",
               "AccountProblem", "QuotaExceeded"}


class VaultError(Exception):
    """Stored audio cannot be read back: its key is gone or the bytes were altered."""


# What a wrapped key is bound to, so a clip's key cannot be passed off as an export's or the reverse.
CLIP_KEY = b"key:"
EXPORT_KEY = b"export-key:"
ENVELOPE = b"envelope:"


def new_data_key(owner_id: uuid.UUID, *, bound_to: bytes = CLIP_KEY) -> tuple[bytes, bytes]:
    """A fresh data key and its wrapped form, bound to the clip (or export) it belongs to."""
    key = AESGCM.generate_key(bit_length=256)
    return key, _seal(settings.MASTER_KEY, key, bound_to + owner_id.bytes)


def unwrap_data_key(owner_id: uuid.UUID, wrapped: bytes | memoryview | None, *,
                    bound_to: bytes = CLIP_KEY) -> bytes:
    if wrapped is None:
        raise VaultError("The data key has been destroyed.")
    return _open(settings.MASTER_KEY, bytes(wrapped), bound_to + owner_id.bytes)


def watermark_key(clip_id: uuid.UUID) -> bytes:
    """The key of every served copy's watermark for this clip, derived from the master key."""
    return hmac.new(settings.MASTER_KEY, b"watermark:" + clip_id.bytes, hashlib.sha256).digest()


def disguise_seed(clip_id: uuid.UUID) -> int:
    """The seed of a clip's voice disguise: a keyed hash of its id, so that knowing a clip's id (which
    reviewers never see, but a leak might reveal) does not tell the disguise's parameters."""
    digest = hmac.new(settings.MASTER_KEY, b"disguise:" + clip_id.bytes, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def watermark_payload(assignment_id: uuid.UUID) -> int:
    """The 32-bit payload that names an assignment inside its clip's watermark. Unique among one
    clip's few assignments (a collision would need two equal 32-bit keyed hashes), never stored."""
    digest = hmac.new(settings.MASTER_KEY, b"watermark-payload:" + assignment_id.bytes, hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big")


def blob_path(clip_id: uuid.UUID, kind: str) -> str:
    return f"clips/{clip_id}/{kind}.bin"


@contextmanager
def _storage_errors():
    """What the storage backend raises, as OSError: FileNotFoundError for a missing object, an errno
    in STORAGE_UNAVAILABLE_ERRNOS when storage as a whole is unreachable or refuses us, EIO for a
    failure worth retrying."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in S3_REFUSALS:
            raise OSError(errno.EACCES, f"object storage refuses: {code}") from exc
        if status == 404:
            raise FileNotFoundError(errno.ENOENT, f"object storage has no such object ({code})") from exc
        raise OSError(errno.EIO, f"object storage failed: {code or status}") from exc
    except BotoCoreError as exc:  # no connection, a timeout, an endpoint that does not answer
        raise OSError(errno.EHOSTUNREACH, f"object storage unreachable: {type(exc).__name__}") from exc


def put_blob(name: str, content) -> str:
    """Write bytes (or a file) under a fixed name, replacing what was there: a retry overwrites."""
    with _storage_errors():
        saved = default_storage.save(name, content if hasattr(content, "read") else ContentFile(content))
    if saved != name:
        raise OSError(f"storage stored {name} as {saved}")
    return name


def read_blob(name: str) -> bytes:
    with _storage_errors(), default_storage.open(name, "rb") as handle:
        return handle.read()


def open_blob(name: str):
    """A stored object to read in parts (an export); the caller closes it."""
    with _storage_errors():
        return default_storage.open(name, "rb")


def delete_blob(name: str) -> None:
    if name:
        with _storage_errors():
            default_storage.delete(name)


def blobs_list_for_deletion(*names: str) -> list[str]:
    """List stored objects to delete, in the caller's transaction, so that they go even if storage
    does not answer when the caller deletes them, or the process dies first: a later sweep
    (blobs_delete_pending) deletes what is listed. Returns the names listed."""
    names = [name for name in names if name]
    BlobDeletion.objects.bulk_create([BlobDeletion(name=name) for name in names], ignore_conflicts=True)
    return names


def delete_blobs_now(*names: str) -> None:
    """Delete stored objects at once, listed for the sweep in case storage does not answer."""
    blobs_delete_pending(blobs_list_for_deletion(*names))


def delete_blobs_on_commit(*names: str) -> None:
    """Delete stored objects once the caller's transaction commits (at once outside one), listed
    for the sweep until they are gone."""
    listed = blobs_list_for_deletion(*names)
    if listed:
        transaction.on_commit(lambda: blobs_delete_pending(listed))


def blobs_delete_pending(names: list[str] | None = None, *, limit: int = 1000) -> int:
    """Delete listed objects (all of them, oldest first, or `names`); returns how many went. Stops at
    the first that storage does not delete: the rest wait for the next sweep."""
    pending = BlobDeletion.objects.order_by("created_at")
    if names is not None:
        pending = pending.filter(name__in=names)
    deleted = []
    for name in pending.values_list("name", flat=True)[:limit]:
        try:
            delete_blob(name)
        except OSError:
            break
        deleted.append(name)
    BlobDeletion.objects.filter(name__in=deleted).delete()
    return len(deleted)


def delete_blob_quietly(name: str) -> None:
    """Remove what a failed write may have left; storage that refuses this too is already failing."""
    try:
        delete_blob(name)
    except OSError:
        pass


def store_audio(clip_id: uuid.UUID, key: bytes, kind: str, audio: bytes) -> str:
    """Encrypt and write; the path is fixed per clip and kind, so a retry overwrites rather than adds."""
    return put_blob(blob_path(clip_id, kind), _seal(key, audio, f"{kind}:".encode() + clip_id.bytes))


def load_audio(clip_id: uuid.UUID, key: bytes, kind: str, path: str) -> bytes:
    return _open(key, read_blob(path), f"{kind}:".encode() + clip_id.bytes)


def seal_envelope(clip_id: uuid.UUID, key: bytes, wav: bytes) -> bytes:
    """The drawing envelope (redaction.waveform) of a clip's de-identified audio as stored (16-bit
    WAV), computed once and kept encrypted under its key beside the row, so that serving peaks reads
    no audio. Stored as 16-bit levels: exact, the audio being 16-bit."""
    samples, _ = sf.read(io.BytesIO(wav), dtype="float32")
    levels = np.clip(np.round(waveform.drawing_envelope(samples) * 32768), -32768, 32767).astype("<i2")
    return _seal(key, levels.tobytes(), ENVELOPE + clip_id.bytes)


def open_envelope(clip_id: uuid.UUID, key: bytes, sealed: bytes | memoryview) -> np.ndarray:
    """A sealed drawing envelope as (n, 2) float32; raises VaultError if it was altered or moved."""
    levels = np.frombuffer(_open(key, bytes(sealed), ENVELOPE + clip_id.bytes), dtype="<i2")
    return levels.reshape(-1, 2).astype(np.float32) / np.float32(32768)


def storage_problem() -> str:
    """Why storage does not take a small write now ("" when it does)."""
    probe = f"clips/.probe-{uuid.uuid4()}"
    try:
        put_blob(probe, b"probe" * 1024)
        return ""
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    finally:
        delete_blob_quietly(probe)


# A sealed stream is a run of records, each CHUNK_BYTES of plaintext (the last may be shorter)
# sealed with its index and whether it is the last, so records cannot be reordered, dropped or cut
# from the end without the reader noticing.
CHUNK_BYTES = 1 << 20
RECORD_BYTES = NONCE_BYTES + CHUNK_BYTES + 16


def _record_aad(aad: bytes, index: int, last: bool) -> bytes:
    return aad + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


class SealedWriter:
    """A write-only stream that encrypts what is written to `sink` record by record, so a large
    file (an export's ZIP) is never on disk in the clear. close() seals the last record."""

    def __init__(self, sink, key: bytes, aad: bytes):
        self._sink, self._aead, self._aad = sink, AESGCM(key), aad
        self._buffer = bytearray()
        self._index = 0
        self.closed = False

    def write(self, data) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK_BYTES:  # keep at least one byte back for the last record
            self._emit(bytes(self._buffer[:CHUNK_BYTES]), last=False)
            del self._buffer[:CHUNK_BYTES]
        return len(data)

    def flush(self) -> None:
        self._sink.flush()

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._sink.flush()
            self.closed = True

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        nonce = os.urandom(NONCE_BYTES)
        self._sink.write(nonce + self._aead.encrypt(nonce, chunk, _record_aad(self._aad, self._index, last)))
        self._index += 1


def open_sealed(source, key: bytes, aad: bytes):
    """The plaintext of a stream SealedWriter wrote, record by record. Raises VaultError at the first
    record that was altered, moved or cut off (checked before its plaintext is given out)."""
    aead = AESGCM(key)
    record = source.read(RECORD_BYTES)
    index = 0
    while True:
        following = source.read(RECORD_BYTES) if len(record) == RECORD_BYTES else b""
        last = not following
        try:
            yield aead.decrypt(record[:NONCE_BYTES], record[NONCE_BYTES:], _record_aad(aad, index, last))
        except (InvalidTag, ValueError):
            raise VaultError("Stored file failed authentication.") from None
        if last:
            return
        record, index = following, index + 1


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise VaultError("Stored audio failed authentication.") from None


def deid_samples(clip) -> np.ndarray:
    """A clip's de-identified audio as stored (16 kHz mono), unmarked. Raises VaultError when its key
    is gone, FileNotFoundError when its file is."""
    key = unwrap_data_key(clip.id, clip.wrapped_key)
    samples, _ = sf.read(io.BytesIO(load_audio(clip.id, key, "deid", clip.deid_path)), dtype="float32")
    return samples
