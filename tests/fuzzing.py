"""Property-based fuzzing of the readers of untrusted bytes (Hypothesis).

Each example starts from a real, valid file and truncates it, flips or inserts bytes, or replaces it with garbage.
The reader runs in a forked child with a time bound and a memory bound (address space: what the test process
already maps + MEMORY), so a hang or a runaway allocation is a failure of the example, never of the test run.
Allowed outcomes: a valid result, or the reader's one-line error type.

    HYPOTHESIS_PROFILE=explore pytest tests -k fuzz     # 1,000 random examples per reader instead of the fixed 40
"""
import os
import pickle
import resource
import select
import signal
import traceback

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the project's lines of a traceback are reported
SECONDS = 20  # per example; a reader of a few-kB file answers in well under a second
MEMORY = 2 << 30  # bytes of new address space per example

settings.register_profile("fuzz", max_examples=40, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("explore", parent=settings.get_profile("fuzz"), max_examples=1000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fuzz"))


@st.composite
def damaged(draw, valid: bytes, start: int = 0) -> bytes:
    """``valid`` truncated, with 1–16 bytes flipped, with bytes inserted, or garbage of up to 4 kB. ``start``: cuts,
    flips and insertions only from there on (e.g. in a video's packets, past its headers)."""
    how = draw(st.sampled_from(["truncate", "flip", "insert", "garbage"]))
    if how == "truncate":
        return valid[:draw(st.integers(start, len(valid) - 1))]
    if how == "garbage":
        return draw(st.binary(max_size=4096))
    data = bytearray(valid)
    if how == "flip":
        for _ in range(draw(st.integers(1, 16))):
            data[draw(st.integers(start, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    at = draw(st.integers(start, len(data)))
    return bytes(data[:at]) + draw(st.binary(min_size=1, max_size=64)) + bytes(data[at:])


@st.composite
def attributes_damaged(draw, valid_xml: bytes) -> bytes:
    """``valid_xml`` with 1–4 attribute values replaced by empty, negative, huge, non-numeric or list values: the
    file stays well-formed XML, so the reader's checks past the parser are reached."""
    import re

    values = list(re.finditer(rb'="([^"]*)"', valid_xml))
    data = valid_xml
    for _ in range(draw(st.integers(1, 4))):
        values = list(re.finditer(rb'="([^"]*)"', data))
        m = values[draw(st.integers(0, len(values) - 1))]
        new = draw(st.sampled_from([b"", b"-1", b"0", b"x", b"99999999", b"1,1,1", b"2.5", b"f64", b"1,-3"]))
        data = data[:m.start(1)] + new + data[m.end(1):]
    return data


class Outcome:
    def __init__(self, error: str | None = None, message: str = "", value=None):
        self.error, self.message, self.value = error, message, value

    def __repr__(self):
        return f"Outcome(error={self.error!r}, message={self.message!r}, where={getattr(self, 'where', None)})"


def bounded(fn, *args, seconds: float = SECONDS, memory: int = MEMORY) -> Outcome:
    """``fn(*args)`` in a forked child: its value (pickled back), or the name of the exception it raised (with its
    message and whether it is one line). A child that hangs past ``seconds`` or dies (a signal, memory beyond
    the bound) fails the example with an AssertionError saying which."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(r)
            import torch
            torch.set_num_threads(1)  # the parent's OpenMP pool does not survive a fork
            mapped = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            resource.setrlimit(resource.RLIMIT_AS, (mapped + memory, resource.RLIM_INFINITY))
            try:
                result = Outcome(value=fn(*args))
            except MemoryError:
                result = Outcome("MemoryError", "beyond the memory bound")
            except BaseException as e:  # everything is reported to the parent, which judges it
                result = Outcome(type(e).__name__, str(e) + ("" if str(e).strip() else traceback.format_exc()))
                result.kinds = [k.__name__ for k in type(e).__mro__]
                result.where = [line.strip() for line in traceback.format_exc().splitlines() if REPO in line][-2:]
            with os.fdopen(w, "wb") as f:
                pickle.dump(result, f)
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], seconds)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"{getattr(fn, '__name__', fn)} hung: no answer in {seconds} s")
        with os.fdopen(r, "rb") as f:
            payload = f.read()
        r = None
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            raise AssertionError(f"{getattr(fn, '__name__', fn)} killed its process by "
                                 f"{signal.Signals(os.WTERMSIG(status)).name}")
        return pickle.loads(payload)
    finally:
        if r is not None:
            os.close(r)


def assert_valid_or(outcome: Outcome, error: type) -> None:
    """The reader gave a value, or raised ``error`` (or a subclass) with a one-line message."""
    if outcome.error is None:
        return
    assert error.__name__ in getattr(outcome, "kinds", [outcome.error]), outcome
    assert outcome.message.strip() and "\n" not in outcome.message.strip(), outcome
