"""User-facing errors: one line on stderr, a non-zero exit, never a traceback for a user's mistake."""
import functools
import signal
import sys


class UserError(Exception):
    """A problem with the user's input (a file, a folder, a flag) that the user can fix."""


def cli(main):
    """Wrap a script's ``main(argv)``: a UserError prints ``error: <message>`` and exits with status 2; a
    non-zero int that main returns (a run stopped by a signal: 128 + its number) is the exit status."""

    @functools.wraps(main)
    def wrapper(argv=None):
        try:
            code = main(argv)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        if isinstance(code, int) and code:
            sys.exit(code)
        return code

    return wrapper


class HelperDied(UserError):
    """A helper process (a data-loading worker, a superpixel process) died under the run: killed by the kernel for
    memory, or by a person. The run saves its last complete step and stops; the message names what died."""


def exit_reason(code: int) -> str:
    """'killed by SIGKILL' for a process's exit code -9 (the kernel's out-of-memory killer sends SIGKILL)."""
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
