"""Object storage: django-storages' S3 backend, reading an object in one request.

Its own reader asks for the object's metadata (HEAD) when the object is opened, then downloads it
through boto3's transfer manager, which asks for the metadata again and starts a pool of threads:
three round trips and a thread pool for every clip heard. Here opening an object for reading is one
GET, its body copied into memory (to disk past `spool_bytes`) before the open returns, so that
everything the storage can fail with happens inside the open, where vault maps its errors (the
old reader downloaded at the first read, which for a streamed export came after the open).
"""

from __future__ import annotations

import tempfile
from contextlib import closing

from django.core.files.base import File
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

CHUNK_BYTES = 1 << 20


class ObjectStorage(S3Storage):
    spool_bytes = 8 << 20  # larger objects (exports) are copied to a temporary file

    def _open(self, name: str, mode: str = "rb"):
        if set(mode) & set("wa+"):
            return super()._open(name, mode)
        key = self._normalize_name(clean_name(name))
        answer = self.connection.meta.client.get_object(Bucket=self.bucket_name, Key=key)
        copy = tempfile.SpooledTemporaryFile(max_size=self.spool_bytes)
        try:
            with closing(answer["Body"]) as body:
                for chunk in body.iter_chunks(CHUNK_BYTES):
                    copy.write(chunk)
        except BaseException:
            copy.close()
            raise
        copy.seek(0)
        return File(copy, name=name)
