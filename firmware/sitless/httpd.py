"""A tiny HTTP/1.0 server on asyncio streams, for the setup page: one request per connection.

The head (request line and headers) is read in chunks into at most 2 KB, the
body into at most 8 KB more (room for a pasted CA certificate), and the whole
request must arrive within 10 s.
Anything else is answered 400, 408, 413 or 431 and the connection closed; at
most four requests are served at once, so a stuck or hostile client never
holds the loop or the heap. The handler sees (method, path, body) and gives
back (status, page) or (status, page, location) for a redirect.
"""

import asyncio

from sitless.compat import const

_MAX_HEAD = const(2048)
_MAX_BODY = const(8192)
_MAX_HEADERS = const(32)
_CHUNK = const(512)
_TIMEOUT_S = const(10)
_MAX_CLIENTS = const(4)
_REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
# The page's own inline style only: no scripts, no frames, forms post back here.
_HEADERS = (
    "Content-Type: text/html; charset=utf-8\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Connection: close\r\n"
)


class RefusedError(Exception):
    """A request that cannot be served: its status and a short reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def _head(reader):
    """The bytes up to the blank line ending the headers, and whatever came after them."""
    data = b""
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            return data[:end], data[end + 4 :]
        end = data.find(b"\n\n")
        if end >= 0:
            return data[:end], data[end + 2 :]
        if len(data) > _MAX_HEAD:
            raise RefusedError(431, "request head over %d bytes" % _MAX_HEAD)
        chunk = await reader.read(_CHUNK)
        if not chunk:
            raise RefusedError(400, "request ended early")
        data += chunk


def _parse_head(head):
    """(method, path, body length) from the head's bytes."""
    try:
        lines = head.decode().split("\n")
    except UnicodeError:
        raise RefusedError(400, "request head is not UTF-8") from None
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        raise RefusedError(400, "bad request line")
    if len(lines) > _MAX_HEADERS + 1:
        raise RefusedError(431, "over %d headers" % _MAX_HEADERS)
    length = 0
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise RefusedError(400, "bad header line")
        name = name.strip().lower()
        if name == "transfer-encoding":
            raise RefusedError(400, "chunked bodies are not supported")
        if name == "content-length":
            value = value.strip()
            if not value.isdigit():
                raise RefusedError(400, "bad content-length")
            length = int(value)
    if length > _MAX_BODY:
        raise RefusedError(413, "body over %d bytes" % _MAX_BODY)
    return parts[0], parts[1], length


async def _read_request(reader):
    head, rest = await _head(reader)
    method, path, length = _parse_head(head)
    body = rest[:length]
    if len(body) < length:
        try:
            body += await reader.readexactly(length - len(body))
        except EOFError:
            raise RefusedError(400, "body shorter than its content-length") from None
    return method, path, body


def _page(status, text):
    return "<!doctype html><title>%d</title><p>%s</p>" % (status, text)


class Server:
    """Serves `handle(method, path, body)` on each connection; `busy` counts those open."""

    def __init__(self, handle):
        self.handle = handle
        self.busy = 0

    async def _answer(self, reader):
        if self.busy > _MAX_CLIENTS:
            return 503, _page(503, "busy"), None
        try:
            method, path, body = await asyncio.wait_for(_read_request(reader), _TIMEOUT_S)
        except RefusedError as exc:
            return exc.status, _page(exc.status, exc.reason), None
        except asyncio.TimeoutError:
            return 408, _page(408, "request not received within %d s" % _TIMEOUT_S), None
        try:
            answer = self.handle(method, path, body)
        except Exception as exc:  # noqa: BLE001 - one bad request must not stop the server
            print("httpd: the handler failed:", type(exc).__name__)
            return 500, _page(500, "the page failed"), None
        return answer[0], answer[1], answer[2] if len(answer) > 2 else None

    async def serve(self, reader, writer):
        """The callback for `asyncio.start_server`."""
        self.busy += 1
        try:
            status, page, location = await self._answer(reader)
            body = page.encode()
            head = "HTTP/1.0 %d %s\r\n%sContent-Length: %d\r\n" % (
                status,
                _REASONS.get(status, "Error"),
                _HEADERS,
                len(body),
            )
            if location:
                head += "Location: %s\r\n" % location
            writer.write(head.encode() + b"\r\n")
            writer.write(body)
            await writer.drain()
        except (OSError, EOFError) as exc:
            print("httpd: dropped a connection:", type(exc).__name__)
        finally:
            self.busy -= 1
            try:
                writer.close()
                await writer.wait_closed()
            except OSError:
                pass
