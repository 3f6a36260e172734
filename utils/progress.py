"""Progress that fits where it is written: tqdm's bar on a terminal; when stderr is not a terminal (``nohup … >
log``, CI, a pipe), one plain line every ``interval`` seconds (30 by default) and a last one at the end, so a log
file holds a few lines instead of every redraw.

    with progress(total=n, initial=start, desc="gen1", unit="step") as bar:
        bar.update(); bar.set_postfix({"g_total": "0.512"})
"""
import sys
import time

from tqdm import tqdm

INTERVAL = 30.0


def progress(iterable=None, **kwargs):
    """tqdm on a terminal, else PlainProgress (same calls: update, set_postfix, close, iteration, ``with``)."""
    if sys.stderr.isatty():
        kwargs.pop("interval", None)
        return tqdm(iterable, **kwargs)
    return PlainProgress(iterable, **kwargs)


class PlainProgress:
    def __init__(self, iterable=None, total=None, initial=0, desc="", unit="it", disable=False,
                 interval: float = INTERVAL, file=None, **_):
        self.iterable, self.desc, self.unit, self.disable, self.interval = iterable, desc, unit, disable, interval
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.n = self.start = initial
        self.file = file or sys.stderr
        self.postfix = ""
        self.t0 = self.last = time.monotonic()
        self.printed_at = None

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update()
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def set_postfix(self, ordered_dict=None, **kwargs):
        values = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.last >= self.interval:
            self.line()

    def line(self) -> None:
        if self.disable:
            return
        now = time.monotonic()
        rate = (self.n - self.start) / max(now - self.t0, 1e-9)
        where = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        eta = ""
        if self.total and rate > 0 and self.n < self.total:
            left = int((self.total - self.n) / rate)
            eta = f", ETA {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"
        tail = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {self.unit} {where}, {rate:.2f} {self.unit}/s{eta}{tail}", file=self.file, flush=True)
        self.last, self.printed_at = now, self.n

    def close(self) -> None:
        if self.printed_at != self.n:
            self.line()
        self.disable = True
