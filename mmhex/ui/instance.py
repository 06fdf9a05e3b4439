"""One mmhex per user: a second ``mmhex FILE`` hands its files to the running window.

The first window listens on a per-user local socket (QLocalServer, a Unix socket in the user's
``$XDG_RUNTIME_DIR``, else ``/tmp/mmhex-UID``); a later start connects, sends one JSON line with
absolute paths and options, waits for ``ok`` and exits. ``mmhex --new-window`` skips the
hand-off. ``MMHEX_INSTANCE_SOCKET`` names another socket (tests keep theirs private).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from mmhex.cli import GuiRequest

SOCKET_ENV = "MMHEX_INSTANCE_SOCKET"
CONNECT_MS = 500
REPLY_MS = 5000


def socket_name() -> str:
    """The per-user socket path (a full path, so QLocalServer uses it as given)."""
    override = os.environ.get(SOCKET_ENV)
    if override:
        return override
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "mmhex-instance")
    return f"/tmp/mmhex-{os.getuid()}"


def encode_request(request: GuiRequest) -> bytes:
    """The request as one JSON line; paths made absolute (the other process has another cwd)."""
    files = [[os.path.abspath(path), offset] for path, offset in request.files]
    message = {"files": files, "readonly": request.readonly, "edit": request.edit}
    return json.dumps(message).encode() + b"\n"


def decode_request(line: bytes) -> GuiRequest:
    """Raises ValueError on anything that is not a request this module wrote."""
    message = json.loads(line.decode())
    files = [
        (str(path), None if offset is None else str(offset)) for path, offset in message["files"]
    ]
    if not files:
        raise ValueError("a hand-off names at least one file")
    return GuiRequest(
        path=files[0][0],
        offset=files[0][1],
        readonly=bool(message["readonly"]),
        edit=bool(message["edit"]),
        more=tuple(files[1:]),
    )


def hand_off(request: GuiRequest, name: str | None = None) -> bool:
    """Give ``request`` to a running mmhex; True when it took it (this process may exit)."""
    socket = QLocalSocket()
    socket.connectToServer(name or socket_name())
    if not socket.waitForConnected(CONNECT_MS):
        return False
    try:
        socket.write(encode_request(request))
        if not socket.waitForBytesWritten(REPLY_MS):
            return False
        reply = b""
        while not reply.endswith(b"\n"):
            if not socket.waitForReadyRead(REPLY_MS):
                return False
            reply += bytes(socket.readAll().data())
        return reply.strip() == b"ok"
    finally:
        socket.disconnectFromServer()


class InstanceServer(QObject):
    """Listens for later starts and passes their requests to ``handler`` (on the GUI thread)."""

    def __init__(
        self, handler: Callable[[GuiRequest], None], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.handler = handler
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self, name: str | None = None) -> bool:
        """Take the socket unless another mmhex answers there; a stale one (a crashed mmhex)
        is replaced. Asked first because Qt's listen would silently take a live one over."""
        name = name or socket_name()
        probe = QLocalSocket()
        probe.connectToServer(name)
        if probe.waitForConnected(CONNECT_MS):
            probe.disconnectFromServer()
            return False
        QLocalServer.removeServer(name)
        return self.server.listen(name)

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._drop(s))

    def _read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        if not data.endswith(b"\n"):
            self._buffers[socket] = data
            return
        self._buffers[socket] = b""
        try:
            request = decode_request(data)
        except (ValueError, KeyError, TypeError):
            socket.write(b"error\n")
            socket.flush()
            return
        socket.write(b"ok\n")
        socket.flush()
        self.handler(request)

    def _drop(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()
