"""multipart/form-data: parse request bodies and build response bodies.

A small byte-exact parser: the ``cgi`` module is deprecated and the ``email`` parser rewrites line
endings inside parts, which would corrupt binary modules (wasm) and KV values.
"""
import dataclasses
import email.message
import email.utils
import uuid


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


@dataclasses.dataclass
class Part:
    name: str
    filename: str
    content_type: str
    data: bytes

    @property
    def module_name(self):
        # wrangler names each part after its module; the official SDK names every part "files" and
        # puts the module name in the filename.  Cloudflare accepts both, so the filename wins.
        return self.filename or self.name

    def text(self):
        return self.data.decode("utf-8")


def header_params(value):
    """``('multipart/form-data', {'boundary': ...})`` from a header value, quoting and RFC 2231 handled."""
    message = email.message.Message()
    message["content-type"] = value
    params = message.get_params(header="content-type") or []
    main = params[0][0].lower() if params else ""
    return main, {key.lower(): email.utils.collapse_rfc2231_value(val) for key, val in params[1:]}


def media_type(content_type):
    """The bare media type of a Content-Type value, lower-cased, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse(body, content_type):
    """The parts of a multipart/form-data ``body``, in order."""
    kind, params = header_params(content_type or "")
    if kind != "multipart/form-data":
        raise MultipartError("expected multipart/form-data, got %r" % (content_type or ""))
    boundary = params.get("boundary")
    if not boundary:
        raise MultipartError("multipart/form-data without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise MultipartError("the multipart boundary does not occur in the body")
    parts = []
    position = start + len(delimiter)
    while True:
        if body[position:position + 2] == b"--":
            return parts
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise MultipartError("truncated multipart body")
        position = line_end + 2
        end = body.find(b"\r\n" + delimiter, position)
        if end < 0:
            raise MultipartError("multipart body without a closing boundary")
        parts.append(_parse_part(body[position:end]))
        position = end + 2 + len(delimiter)


def _parse_part(raw):
    if raw.startswith(b"\r\n"):
        head, data = b"", raw[2:]
    else:
        split = raw.find(b"\r\n\r\n")
        if split < 0:
            raise MultipartError("multipart part without a blank line after its headers")
        head, data = raw[:split], raw[split + 4:]
    headers = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    disposition = email.message.Message()
    disposition["content-disposition"] = headers.get("content-disposition", "")
    name = disposition.get_param("name", header="content-disposition")
    filename = disposition.get_filename() or ""
    if name is None:
        raise MultipartError("multipart part without a name in Content-Disposition")
    return Part(
        name=email.utils.collapse_rfc2231_value(name),
        filename=filename,
        content_type=headers.get("content-type", ""),
        data=data,
    )


def build(parts):
    """``(body, content_type)`` for ``parts``: an iterable of (name, filename, content_type, data)."""
    boundary = "cfops-" + uuid.uuid4().hex
    chunks = []
    for name, filename, content_type, data in parts:
        disposition = 'form-data; name="%s"' % _quote(name)
        if filename:
            disposition += '; filename="%s"' % _quote(filename)
        head = "--%s\r\nContent-Disposition: %s\r\n" % (boundary, disposition)
        if content_type:
            head += "Content-Type: %s\r\n" % content_type
        chunks.append(head.encode("utf-8") + b"\r\n" + data + b"\r\n")
    chunks.append(("--%s--\r\n" % boundary).encode("ascii"))
    return b"".join(chunks), "multipart/form-data; boundary=%s" % boundary


def _quote(value):
    return value.replace("\\", "\\\\").replace('"', '\\"')
