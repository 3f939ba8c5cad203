"""``napari-neural-style``: the engine from the command line.

Every run option is a :class:`~..core.config.Config` field: its flag, default and help are read
from the field (``Config.for_task`` gives each task's defaults), so nothing is written twice
(:mod:`.parser`); :mod:`.modes` runs what was asked, :mod:`.progress` shows it and
:mod:`.output` writes it.
Exit status 0 on success; 2 with a one-line message for bad usage or bad input (outputs are
checked before any work starts); 1 when the run failed (out of memory) or its output could not
be written (the result is then saved to a rescue file, and the message says where).  Ctrl-C
(SIGINT) or SIGTERM stop the run and write the result of the last completed step, marked
cancelled in its record, then exit 130 or 143, as a shell reports a process those signals ended.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import warnings
from collections.abc import Iterator

from ..core.errors import NeuralStyleError, OutOfMemory
from .messages import EXIT_BAD_INPUT, EXIT_FAILED, say_error, say_warnings
from .modes import optimize, write_feature_maps
from .output import check_outputs
from .parser import parse_arguments


class Terminated(KeyboardInterrupt):
    """SIGTERM, taken as Ctrl-C is: the run stops and what it made is written."""

    exit_status = 128 + signal.SIGTERM


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`Terminated` (where a signal can be
    caught: in the main thread)."""
    def terminated(signum, frame):
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, terminated)
    except ValueError:  # not the main thread: leave signals as they are
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    try:
        with _terminate_as_interrupt(), warnings.catch_warnings():
            warnings.showwarning = say_warnings(warnings.showwarning)
            args = parse_arguments(argv)
            check_outputs(args)  # before torch is even imported
            return write_feature_maps(args) if args.command == "features" else optimize(args)
    except OutOfMemory as error:  # before the first step
        say_error(error)
        return EXIT_FAILED
    except (NeuralStyleError, OSError) as error:
        say_error(error)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as interrupt:  # before the run began
        print("napari-neural-style: interrupted", file=sys.stderr)
        return getattr(interrupt, "exit_status", 128 + signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
