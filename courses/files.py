"""Serving course files (videos, captions, reading files) after the access policy said yes.

- In a bucket (AWS_STORAGE_BUCKET_NAME set): a redirect to a link signed for a few minutes; the bucket sends
  the bytes and answers ranges.
- Behind nginx (COURSE_FILES_ACCEL_PREFIX set, deploy/nginx.conf): an X-Accel-Redirect; nginx sends the bytes,
  ranges included, and no Django worker is held by a download.
- Otherwise Django streams the file itself, in chunks: memory stays bounded whatever the file or range size.
"""

import mimetypes
import os
import re
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header

CHUNK_BYTES = 64 * 1024
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _chunks(handle, length):
    """Yield `length` bytes of the open file from where it stands, CHUNK_BYTES at a time; close it at the end."""
    try:
        while length > 0:
            data = handle.read(min(CHUNK_BYTES, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        handle.close()


def _byte_range(header: str, size: int):
    """Return (start, end) of a single `bytes=` range, None for no (or an ignorable) range, or "unsatisfiable"."""
    match = RANGE.fullmatch(header.strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:
        start, end = max(0, size - int(last)), size - 1
    if start > end or start >= size:
        return "unsatisfiable"
    return start, end


def serve_file(request, field_file, *, as_attachment=False):
    """Answer with a stored file, honouring a single byte Range so that video seeking works."""
    if not field_file:
        raise Http404("No file.")
    if not isinstance(field_file.storage, FileSystemStorage):
        return _signed_redirect(field_file, as_attachment=as_attachment)
    if settings.COURSE_FILES_ACCEL_PREFIX:
        return _accel_redirect(field_file, as_attachment=as_attachment)
    try:
        size = field_file.size
    except OSError as error:
        raise Http404("The file is missing.") from error
    content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    filename = os.path.basename(field_file.name)
    wanted = _byte_range(request.headers.get("Range", ""), size)
    if wanted == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if wanted is None:
        response = FileResponse(field_file.open("rb"), content_type=content_type, as_attachment=as_attachment,
                                filename=filename)  # fmt: skip
    else:
        start, end = wanted
        handle = field_file.open("rb")
        handle.seek(start)
        response = StreamingHttpResponse(_chunks(handle, end - start + 1), status=206, content_type=content_type)
        response["Content-Length"] = str(end - start + 1)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        if disposition := content_disposition_header(as_attachment, filename):
            response["Content-Disposition"] = disposition
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _accel_redirect(field_file, *, as_attachment):
    """Let nginx send the file from its internal location (it answers Range requests and missing files itself)."""
    filename = os.path.basename(field_file.name)
    response = HttpResponse(content_type=mimetypes.guess_type(field_file.name)[0] or "application/octet-stream")
    response["X-Accel-Redirect"] = settings.COURSE_FILES_ACCEL_PREFIX + quote(field_file.name)
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _signed_redirect(field_file, *, as_attachment):
    """Send the browser to the bucket with a link that works for COURSE_FILE_LINK_SECONDS (the policy said yes now)."""
    filename = os.path.basename(field_file.name)
    parameters = {
        "ResponseContentDisposition": content_disposition_header(as_attachment, filename),
        "ResponseContentType": mimetypes.guess_type(field_file.name)[0] or "application/octet-stream",
    }
    url = field_file.storage.url(field_file.name, parameters=parameters, expire=settings.COURSE_FILE_LINK_SECONDS)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"  # a fresh link, for this user, each time
    return response
