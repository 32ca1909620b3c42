"""moto in server mode on a free 127.0.0.1 port, in its own process (the simulator's AWS).

    with MotoServer() as endpoint:      # "http://127.0.0.1:<port>"; stopped on exit
        ...

A separate process, single-threaded: moto keeps its state in module globals (nothing leaks into
this process's own imports), and a single-threaded server serializes conflicting writes the way
DynamoDB does, so the handlers' conditions are what keeps the state consistent.
"""

from __future__ import annotations

import subprocess
import sys
from types import TracebackType

_SERVER_CODE = """
from werkzeug.serving import make_server
from moto.moto_server import werkzeug_app as w
app = w.DomainDispatcherApplication(w.create_backend_app)
server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=w.MotoRequestHandler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class MotoUnavailableError(RuntimeError):
    """moto (the ``demo`` extra) is not installed, or its server did not start."""


class MotoServer:
    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.endpoint = ""

    def start(self) -> str:
        try:
            import moto.moto_server  # noqa: F401, PLC0415 - only to fail early and clearly
        except ImportError as exc:
            raise MotoUnavailableError(
                f"moto server is not installed ({exc}); run `make demo` or "
                "`pip install -e '.[demo]'`"
            ) from None
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed code
            [sys.executable, "-c", _SERVER_CODE],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if self._proc.stdout is None:  # pragma: no cover - stdout=PIPE always gives one
            raise MotoUnavailableError("moto server has no stdout")
        line = self._proc.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise MotoUnavailableError(f"moto server did not start (said {line!r})")
        self.endpoint = f"http://127.0.0.1:{line}"
        return self.endpoint

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
