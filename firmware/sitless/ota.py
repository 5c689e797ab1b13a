"""Firmware updates over WiFi: the `update` command (see firmware/README.md).

The command names a version, a base URL and the files, each with its size and
SHA-256. The files are fetched one by one over plain HTTP into `fw/stage/`,
hashed as they arrive; any mismatch, short read or HTTP error drops the stage
and refuses the command with the file's name, and nothing else has changed.
Only when every file checks does the stage become a slot, go on trial and
become active through the one rename in `slots`; then the chair acks and
restarts into it. Loaded for an update only and dropped after it.
"""

import asyncio
import binascii
import hashlib
import os

from sitless.compat import const

_CHUNK = const(512)
_TIMEOUT_S = const(20)
_MAX_FILES = const(64)
_CONFIRM_S = const(180)  # the new code must reach the broker within three minutes
STAGE = "fw/stage"
_NAME_OK = "abcdefghijklmnopqrstuvwxyz0123456789_-."
_HEX = "0123456789abcdef"


def _bad_name(name):
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        return True
    parts = name.split("/")
    if len(parts) > 2 or (len(parts) == 2 and parts[0] != "sitless"):
        return True
    leaf = parts[-1]
    if leaf.startswith(".") or not leaf.endswith((".py", ".mpy")):
        return True
    return any(c not in _NAME_OK for c in leaf)


def check(app, cmd):
    """The reason to refuse `cmd` now, or None."""
    version = cmd.get("version")
    if not isinstance(version, str) or not 1 <= len(version) <= 32:
        return "version must be text of 1 to 32 characters"
    url = cmd.get("url")
    if not isinstance(url, str) or not url.startswith("http://") or not url.endswith("/"):
        return "url must start with http:// and end with /"
    files = cmd.get("files")
    if not isinstance(files, list) or not 1 <= len(files) <= _MAX_FILES:
        return "files must list 1 to %d files" % _MAX_FILES
    for entry in files:
        if not isinstance(entry, list) or len(entry) != 3 or _bad_name(entry[0]):
            return "files: each is [name under sitless/, size, sha256]"
        size, digest = entry[1], entry[2]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            return "files: %s: size must be a whole number" % entry[0]
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in _HEX for c in digest):
            return "files: %s: sha256 must be 64 lower-case hex digits" % entry[0]
    confirm_s = cmd.get("confirm_s", _CONFIRM_S)
    if isinstance(confirm_s, bool) or not isinstance(confirm_s, int) or confirm_s < 1:
        return "confirm_s must be a whole number of seconds"
    if getattr(app, "updating", False):
        return "an update is already running"
    if app.actuators.level > 0 or app.chair.alert is not None:
        return "an alert is active; update later"
    if app.chair.seated and cmd.get("seated") is not True:
        return "seat is taken; update while vacant"
    return None


def update(app, cmd):
    """The command's handler: start the download, answer when it is done (True)."""
    error = check(app, cmd)
    if error is not None:
        return error
    app.updating = True
    asyncio.create_task(_update(app, cmd))  # noqa: RUF006 - it acks, then resets
    return True


async def _update(app, cmd):
    error = slot = None
    try:
        _clear(STAGE)
        _mkdirs(STAGE + "/sitless")
        buf = bytearray(_CHUNK)
        for name, size, digest in cmd["files"]:
            await _fetch(cmd["url"], name, size, digest, buf)
        slot = _switch(cmd.get("confirm_s", _CONFIRM_S))
    except (OSError, ValueError) as exc:
        error = "update failed: %s" % (exc.args[0] if exc.args else exc)
        _clear(STAGE)
    app.updating = False
    app.emit(("ack", cmd["id"], error is None, error))
    if error is not None:
        print("ota:", error)
        return
    print("ota: %s staged in slot %s; restarting" % (cmd["version"], slot))
    for _ in range(50):  # let the ack go out first
        if not len(app.outbox):
            break
        await asyncio.sleep_ms(100)
    app.board.reset()


def _split(url):
    rest = url[7:]
    slash = rest.find("/")
    hostport, path = rest[:slash], rest[slash:]
    host, _sep, port = hostport.partition(":")
    return host, int(port) if port else 80, path


async def _fetch(url, name, size, digest, buf):
    host, port, path = _split(url)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), _TIMEOUT_S)
    try:
        writer.write(("GET %s%s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, name, host)).encode())
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), _TIMEOUT_S)
        if status[9:12] != b"200":
            raise OSError("%s: HTTP %s" % (name, status[9:12].decode() or "no answer"))
        while True:
            line = await asyncio.wait_for(reader.readline(), _TIMEOUT_S)
            if line in (b"\r\n", b"\n", b""):
                break
        sha = hashlib.sha256()
        view = memoryview(buf)
        got = 0
        with open(STAGE + "/" + name, "wb") as f:  # noqa: ASYNC230 - 512-byte writes, between awaits
            while got < size:
                want = min(_CHUNK, size - got)
                n = await asyncio.wait_for(reader.readinto(view[:want]), _TIMEOUT_S)
                if not n:
                    break
                sha.update(view[:n])
                f.write(view[:n])
                got += n
        if got != size:
            raise ValueError("%s: %d of %d bytes" % (name, got, size))
        if binascii.hexlify(sha.digest()).decode() != digest:
            raise ValueError("%s: SHA-256 mismatch" % name)
    finally:
        writer.close()
        await writer.wait_closed()


def _switch(confirm_s):
    """The checked stage becomes a slot, on trial, then active: one rename of the pointer."""
    import slots

    active, _previous = slots.pointer()
    slot = "b" if active == "a" else "a"
    target = slots.DIR + "/" + slot
    _clear(target)  # the slot before the previous one
    os.rename(STAGE, target)
    slots.write(slots.TRIAL, "%s 0 %d" % (slot, confirm_s))
    slots.write(slots.POINTER, "%s %s" % (slot, active))
    return slot


def _mkdirs(path):
    done = ""
    for part in path.split("/"):
        done = done + "/" + part if done else part
        try:
            os.mkdir(done)
        except OSError:
            pass  # there already


def _clear(path):
    """Remove a folder and what is in it; nothing when it is not there."""
    try:
        entries = list(os.ilistdir(path))
    except OSError:
        return
    for entry in entries:
        inner = path + "/" + entry[0]
        if entry[1] == 0x4000:
            _clear(inner)
        else:
            os.remove(inner)
    os.rmdir(path)
