"""Parameters of a cloud API request: the query, and a urlencoded or multipart/form-data body.

Files may come as multipart parts named like the URL parameter they replace (`ImageUrl`,
`MaskImageUrl`, ...); a part with a filename, or any part that is not text, counts as a file.
The multipart body goes through python-multipart (the parser Starlette uses) with limits on the
number of parts and on the size of text fields, so a body of many tiny parts is refused early.
"""

from __future__ import annotations

import codecs
from urllib.parse import parse_qsl

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from scribbleseg_editor.errors import ScribbleSegError

MAX_FIELDS = 64  # parameters and file parts of one request; the API has about 25
MAX_FIELD_BYTES = 64 * 1024  # one text field (a URL, a signature)
MAX_BOUNDARY = 70  # RFC 2046


def parse_query(query: str) -> dict[str, str]:
    return _parse_urlencoded(query)


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """(text fields, file parts) of a form body."""
    kind, options = parse_options_header(content_type)
    kind = kind.decode("latin-1").lower()
    if not body:
        return {}, {}
    if kind == "application/x-www-form-urlencoded":
        try:
            return _parse_urlencoded(body.decode("ascii")), {}
        except UnicodeDecodeError:
            raise _bad_form("The urlencoded body must be ASCII.") from None
    if kind == "multipart/form-data":
        return _parse_multipart(options.get(b"boundary", b""), body)
    raise _bad_form(
        f"Content-Type {kind or '(none)'} is not a form; send application/x-www-form-urlencoded "
        "or multipart/form-data."
    )


def _parse_urlencoded(text: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise _bad_form(f"A request has at most {MAX_FIELDS} parameters.") from None
    return dict(pairs)


class _Parts:
    """python-multipart's callbacks, collecting parts within the limits."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.files: dict[str, bytes] = {}
        self.count = 0
        self._headers: dict[str, bytes] = {}
        self._name, self._value = b"", b""
        self._data: list[bytes] = []
        self._is_file = False

    def callbacks(self) -> dict:
        return {"on_part_begin": self.begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.data,
                "on_part_end": self.end}

    def begin(self) -> None:
        self.count += 1
        if self.count > MAX_FIELDS:
            raise _bad_form(f"A request has at most {MAX_FIELDS} parts.")
        self._headers, self._data = {}, []

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._name.decode("latin-1").lower()] = self._value
        self._name, self._value = b"", b""

    def headers_finished(self) -> None:
        _, disposition = parse_options_header(self._headers.get("content-disposition", b""))
        kind, _ = parse_options_header(self._headers.get("content-type", b"text/plain"))
        self._is_file = b"filename" in disposition or not kind.lower().startswith(b"text/")

    def data(self, data: bytes, start: int, end: int) -> None:
        self._data.append(data[start:end])
        if not self._is_file and sum(map(len, self._data)) > MAX_FIELD_BYTES:
            raise _bad_form(f"A text field is limited to {MAX_FIELD_BYTES} bytes.")

    def end(self) -> None:
        _, disposition = parse_options_header(self._headers.get("content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if not name:
            raise _bad_form("Every multipart part needs a name in Content-Disposition.")
        content = b"".join(self._data)
        if self._is_file:
            self.files[name] = content
        else:
            self.fields[name] = content.decode(self._charset(), "replace")

    def _charset(self) -> str:
        _, options = parse_options_header(self._headers.get("content-type", b""))
        charset = options.get(b"charset", b"utf-8").decode("latin-1")
        try:
            return codecs.lookup(charset).name
        except LookupError:
            raise _bad_form(f"Unknown charset {charset[:40]!r} in a multipart part.") from None


def _parse_multipart(boundary: bytes, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    if not (0 < len(boundary) <= MAX_BOUNDARY and boundary.isascii()):
        raise _bad_form(f"multipart/form-data needs a boundary parameter of 1 to {MAX_BOUNDARY} "
                        "ASCII characters.")
    parts = _Parts()
    parser = MultipartParser(boundary, parts.callbacks())
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError:
        raise _bad_form("The multipart/form-data body is malformed or truncated.") from None
    if parser.state != parser.state.__class__.END:
        raise _bad_form("The multipart/form-data body is malformed or truncated.")
    return parts.fields, parts.files


def _bad_form(message: str) -> ScribbleSegError:
    return ScribbleSegError("InvalidParameter", message)
