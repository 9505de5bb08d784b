"""A small file posted with a page's form (``multipart/form-data``), read whole within a bound.

The pages take one kind of upload, a receipt of a few hundred bytes, so the body is read at once, never more than
its bound, and parsed with the standard library's MIME parser (RFC 7578 form data is MIME multipart): no
streaming parser is needed for a file this small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP

from starlette.exceptions import HTTPException
from starlette.requests import Request

__all__ = ["TooLarge", "Upload", "read_upload"]


class TooLarge(Exception):
    """The body is larger than the bound."""


@dataclass(frozen=True, slots=True)
class Upload:
    """A multipart form's text fields (the first value of each) and files (name → (file name, bytes))."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


async def read_upload(request: Request, limit: int) -> Upload:
    """The fields and files of ``request``'s multipart body, read whole; ``TooLarge`` past ``limit`` bytes. A body
    of another type, or one that is no well-formed multipart, reads as empty."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        return Upload()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise TooLarge
    except HTTPException as error:  # the door's own bound (kleline.api.boundary.PayloadTooLarge): the same refusal
        if error.status_code != 413:
            raise
        raise TooLarge from None
    return parse_multipart(content_type, body)


def parse_multipart(content_type: str, body: bytes) -> Upload:
    """Parse a ``multipart/form-data`` body given its ``Content-Type`` header (with the boundary)."""
    try:
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    except UnicodeEncodeError:
        return Upload()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart() or message.defects:
        return Upload()
    upload = Upload()
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            upload.files.setdefault(name, (filename, data))
        else:
            upload.fields.setdefault(name, data.decode("utf-8", errors="replace"))
    return upload
