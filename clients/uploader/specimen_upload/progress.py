"""A progress line: records and bytes, rates and ETA (on a terminal redrawn in place, otherwise
printed every `interval` seconds)."""

import sys
import threading
import time


def _size(value: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1000
    return ""


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    """Counts that threads update; a line that shows them."""

    def __init__(self, records_total: int, bytes_total: int, stream=None, interval=None):
        """Totals to reach; `stream` defaults to stderr."""
        self.records_total = records_total
        self.bytes_total = bytes_total
        self.records_done = 0
        self.bytes_done = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval if interval is not None else (0.5 if self.tty else 10.0)
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self._last = 0.0

    def add_bytes(self, count: int) -> None:
        """Bytes confirmed by the server."""
        with self._lock:
            self.bytes_done += count
        self.show()

    def set_records(self, done: int) -> None:
        """Records with a final outcome on the server."""
        self.records_done = done
        self.show()

    def line(self) -> str:
        """The progress line."""
        elapsed = max(time.monotonic() - self.start, 1e-6)
        rate = self.records_done / elapsed
        byte_rate = self.bytes_done / elapsed
        left = self.records_total - self.records_done
        eta = _duration(left / rate) if rate > 0 and left > 0 else "--"
        return (
            f"records {self.records_done}/{self.records_total} "
            f"({rate:.1f}/s) · {_size(self.bytes_done)}/{_size(self.bytes_total)} "
            f"({_size(byte_rate)}/s) · ETA {eta}"
        )

    def show(self, force: bool = False) -> None:
        """Draw the line if `interval` passed since the last one."""
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        if self.tty:
            self.stream.write("\r" + self.line().ljust(100))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """Final line."""
        self.show(force=True)
        if self.tty:
            self.stream.write("\n")
