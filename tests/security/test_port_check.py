"""Item 11: a restart right after a crash is not refused as "port busy".

A crashed server leaves its accepted connections in TIME_WAIT on its port for up to a minute.
uvicorn binds with SO_REUSEADDR, so the port is usable at once; the launcher's free-port check
must judge it the same way, and still see a port that something really listens on as busy.
"""

import socket

from app.cli import port_is_free


def _time_wait_on_a_port() -> int:
    """A port whose only trace is a server-side connection in TIME_WAIT (as after a crash)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = int(listener.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server side closes first: its end goes to TIME_WAIT
    client.recv(1)  # sees the FIN
    client.close()
    listener.close()
    return port


def test_a_port_left_in_time_wait_by_a_crash_is_free() -> None:
    port = _time_wait_on_a_port()
    assert port_is_free("127.0.0.1", port)


def test_a_port_someone_listens_on_is_busy() -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert not port_is_free("127.0.0.1", int(sock.getsockname()[1]))
