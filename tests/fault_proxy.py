"""A TCP proxy in front of the web server that can fail the way real proxies do.

Modes (switch at any time with `mode`): `pass` relays bytes both ways; `502` and `504` read the
request and answer Bad Gateway / Gateway Timeout; `drop` closes the connection after reading a
little of the request (the client sees a reset). Switching mode also cuts every open relayed
connection, as a restarting proxy would.
"""

import contextlib
import socket
import threading

ANSWERS = {
    "502": b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "504": b"HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
}


class FaultProxy:
    """Listen on a free local port and forward to `target_port`."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self._mode = "pass"
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.counts = {"pass": 0, "502": 0, "504": 0, "drop": 0}
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def mode(self, mode: str) -> None:
        """Switch mode and cut the open connections."""
        assert mode in self.counts
        with self._lock:
            self._mode = mode
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _close(sock)

    def close(self) -> None:
        self._stopped = True
        self.mode("pass")
        _close(self.listener)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                mode = self._mode
                self.counts[mode] += 1
            threading.Thread(target=self._handle, args=(client, mode), daemon=True).start()

    def _handle(self, client: socket.socket, mode: str) -> None:
        if mode == "pass":
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                _close(client)  # the web server is down: the client sees a reset
                return
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
            _pipe(client, upstream)
            return
        try:
            client.settimeout(5)
            request = client.recv(65536)
            if mode != "drop" and request:
                _drain_body(client, request)
                client.sendall(ANSWERS[mode])
        except OSError:
            pass
        _close(client)


def _drain_body(client: socket.socket, received: bytes) -> None:
    head, _, body = received.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    left = length - len(body)
    while left > 0:
        chunk = client.recv(min(left, 65536))
        if not chunk:
            return
        left -= len(chunk)


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    _close(source)
    _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
