"""Progress on the terminal: a tqdm bar per run, sweep, movie or cluster task, and how an
interrupted or failed run ends (an exit status)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator

from tqdm import tqdm

from ..core.errors import ClusterError, OutOfMemory
from ..core.sweep_spec import SweepSlice, SweepStep, SweepWaiting
from .messages import EXIT_FAILED, say_error


def with_progress(run, notes: list[str] = ()) -> Iterator:
    """``run``'s steps, with a tqdm bar on stderr counting every scale's steps; the weights,
    the device and ``notes`` are said once the run is set up."""
    bar = None
    try:
        for step in run:
            if bar is None:  # set up: the weights are known, and worked
                print(f"weights: {run.setup.weights.label}; device: {run.setup.device}",
                      *(f"note: {note}" for note in notes), sep="\n", file=sys.stderr)
                bar = tqdm(total=run.total_steps, unit="step", file=sys.stderr)
            bar.set_postfix(loss=f"{step.losses.total:.4g}", refresh=False)
            bar.update(step.step - bar.n)
            yield step
        if bar is not None and bar.n < bar.total:  # its loss stopped falling: done early
            bar.total = bar.n
            bar.set_description("converged")
    finally:
        if bar is not None:
            bar.close()


def with_task_progress(tasks: Iterator, running: dict) -> Iterator:
    """``tasks``' events, with a tqdm bar of the steps the running task last said."""
    with tqdm(unit="step", file=sys.stderr) as bar:
        for event in tasks:
            for step, total in running.values():
                bar.total = total
                bar.update(step - bar.n)
            yield event


def with_sweep_progress(runs) -> Iterator:
    """``runs``' events with a tqdm bar of the values done on stderr."""
    with tqdm(total=len(runs.values), unit="value", file=sys.stderr,
              desc=f"sweep {runs.parameter}") as bar:
        for event in runs:
            if isinstance(event, SweepSlice):
                bar.update(1)
            elif isinstance(event, SweepStep):
                bar.set_postfix(step=f"{event.step}/{event.total}", refresh=False)
            elif isinstance(event, SweepWaiting) and event.running:
                bar.set_postfix(steps=" ".join(f"{step}/{total}" for step, total in
                                               event.running.values()))
            yield event


def with_frame_progress(runs) -> Iterator:
    """``runs``' ``(frame, step)`` pairs with a tqdm bar per frame on stderr (on a cluster,
    one bar of the frames done)."""
    if runs.client is not None:
        with tqdm(total=len(runs.frames), unit="frame", file=sys.stderr) as bar:
            for index, step in runs:
                bar.update(index is not None)
                yield index, step
        return
    bar, current = None, None
    try:
        for index, step in runs:
            if index != current:
                if bar is not None:
                    bar.close()
                bar, current = tqdm(total=step.total, unit="step", file=sys.stderr,
                                    desc=f"frame {index + 1}/{len(runs.frames)}"), index
            bar.set_postfix(loss=f"{step.losses.total:.4g}", refresh=False)
            bar.update(step.step - bar.n)
            yield index, step
    finally:
        if bar is not None:
            bar.close()


def run_through(events: Iterator) -> int:
    """Consume ``events``: 0, the exit status of the Ctrl-C (or SIGTERM) that stopped them,
    or 1 when memory ran out or the cluster failed (said); what finished is the caller's to
    write."""
    try:
        for _ in events:
            pass
    except KeyboardInterrupt as interrupt:
        print("napari-neural-style: interrupted", file=sys.stderr)
        return getattr(interrupt, "exit_status", 128 + signal.SIGINT)
    except (ClusterError, OutOfMemory) as error:
        say_error(error)
        return EXIT_FAILED
    return 0
