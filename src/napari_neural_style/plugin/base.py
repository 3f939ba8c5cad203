"""What every widget of the plugin shares: one way to start work (a :class:`Job` the widget
prepares, run in a ``thread_worker``), Stop, errors, and the status line.

Long work runs in a worker; errors come back as napari notifications and leave the widget
usable; closing the viewer stops the work (napari quits the worker, and the widget's own
stop flag is set when Qt deletes it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from magicgui.widgets import ComboBox, Container, LineEdit, PushButton, Widget
from napari.layers import Image, Labels
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error

from ..core.cluster_backend import CLUSTER_HELP
from ..core.errors import NeuralStyleError, reword
from ..core.samples import SAMPLES
from .folds import find_widget
from .inputs import COMPOSITE
from .messages import in_widget_message, in_widget_words, wrapping_label

METADATA_KEY = "neural_style"
#: colormap of signed differences, centred on zero
DIVERGING = "PiYG"


def cluster_field(what: str) -> LineEdit:
    """Where ``what`` (each an independent run) run: empty for napari's process, or a dask
    cluster's address (worker.py connects, one cluster per address for the session)."""
    return LineEdit(name="cluster", label="dask cluster", value="",
                    tooltip=f"empty: run here, in napari's process; or {what} as tasks on "
                            f"{CLUSTER_HELP}")


def same(layer, other) -> bool:
    """Whether two references are one layer.  napari hands plugins its viewer behind a proxy
    that wraps every layer it returns in a new proxy, so ``is`` fails between them."""
    return getattr(layer, "__wrapped__", layer) is getattr(other, "__wrapped__", other)


@dataclass(frozen=True)
class Job:
    """Work a widget prepared on the main thread, for :meth:`PluginWidget.start` to run.

    ``function(*args, stop_event)`` is a generator run in a worker thread; what it yields goes
    to ``on_update`` and what it returns to ``on_result``, both on the main thread.  With
    ``total``, napari's progress bar advances one unit per value yielded.
    """

    function: Callable
    args: tuple
    on_update: Callable
    on_result: Callable
    status: str
    total: int | None = None


class PluginWidget(Container):
    """Base of the dock widgets: :meth:`start` runs the :class:`Job` of :meth:`prepare`."""

    title = "Neural Style"
    run_text = "Run"
    #: whether the dock labels its widgets itself (a dock of folds labels inside each part)
    labelled = True

    def __init__(self, napari_viewer):
        super().__init__(labels=self.labelled)
        self.viewer = napari_viewer
        self.worker = None
        #: the job the worker runs; its worker reaches it only through here (napari keeps
        #: every worker for the session, and a job holds the run's images)
        self._job: Job | None = None
        #: the layer this widget's run fills (widgets that make one)
        self.result_layer: Image | None = None
        self._pickers: dict[str, ComboBox] = {}
        self._chosen: dict[str, Image] = {}  # the last layer each picker showed
        self._stop = threading.Event()
        # a widget closed with its viewer stops its work; napari also quits the worker itself
        self.native.destroyed.connect(self._stop.set)
        self.run_button = PushButton(name="run_button", text=self.run_text,
                                     tooltip="start; the result layer updates as it goes")
        self.stop_button = PushButton(name="stop_button", text="Stop", enabled=False,
                                      tooltip="stop after the current step (a run that "
                                              "goes tile by tile: at the next tile), keeping "
                                              "the result so far (marked cancelled)")
        self.status = wrapping_label("status", "ready", label="status")
        self.run_button.changed.connect(self.start)
        self.stop_button.changed.connect(self.stop)
        self.viewer.layers.events.removed.connect(self.forget_removed)

    def __getattr__(self, name: str):
        """A widget of the dock by its name, inside a fold or a row too (``dock.steps``)."""
        try:
            return super().__getattr__(name)
        except AttributeError:
            found = find_widget(self, name) if "_list" in self.__dict__ else None
            if found is None:
                raise
            return found

    def parts(self, *parts: list[Widget]) -> list[Widget]:
        """Labelled containers of ``parts`` (each a list of widgets), for a dock of folds:
        one container of labelled fields would label each fold too."""
        containers = [Container(labels=True, widgets=widgets) for widgets in parts]
        for container in containers:
            container.margins = (0, 0, 0, 0)
        return containers

    def follow(self, pickers: dict[str, ComboBox], others: tuple[ComboBox, ...] = ()) -> None:
        """Keep the image ``pickers`` (role -> picker) honest.  A picker whose layer is removed
        shows nothing, so Run asks for a layer instead of silently taking another; one whose
        layer is renamed keeps it; one showing nothing takes the next image layer added.  They
        start on a sample made for their role (content or style), else the first image.
        ``others`` (pickers of other layer kinds) only follow the layer list."""
        self._pickers = pickers
        for role, picker in pickers.items():
            picker.changed.connect(lambda layer, role=role: self._remember(role, layer))
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.renamed):
            event.connect(self._sync_pickers)
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed,
                      self.viewer.layers.events.renamed):
            for picker in others:
                event.connect(picker.reset_choices)
        self._sync_pickers()

    def forget_removed(self, event=None) -> None:
        """Let go of layers the user removed, so their data leaves memory: a finished
        result, the layers the pickers last showed (a running result stays: it is filled)."""
        if self.worker is None and not self._layer_alive():
            self.result_layer = None
        self._chosen = {role: layer for role, layer in self._chosen.items()
                        if layer in self.viewer.layers}

    def _remember(self, role: str, layer) -> None:
        if layer is not None:
            self._chosen[role] = layer

    def _sync_pickers(self, event=None) -> None:
        """After napari refreshed the pickers (or before: the refresh is repeated here)."""
        if not self.ui_alive():
            return
        offered = [layer for _, layer in self.image_layers()]
        added = [layer for layer in offered if event is None or
                 (event.type == "inserted" and same(layer, event.value))]
        for role, picker in self._pickers.items():
            picker.reset_choices()
            chosen = self._chosen.get(role)
            if picker.value is None and any(same(layer, chosen) for layer in offered):
                picker.value = chosen  # renamed: magicgui matched it by its old name
            elif picker.value is None and added:
                samples = [layer for layer in added if SAMPLES.get(layer.name, ("",))[0] == role]
                picker.value = (samples or added)[0]

    @property
    def run_controls(self) -> list:
        return [self.run_button, self.stop_button, self.status]

    def image_layers(self, _widget=None) -> list[tuple[str, Image]]:
        """The image layers a picker offers: all but this widget's own outputs."""
        return [(layer.name, layer) for layer in self.viewer.layers
                if isinstance(layer, Image) and not self.is_own_output(layer)]

    def labels_layers(self, _widget=None) -> list[tuple[str, Labels]]:
        """The Labels layers a regions picker offers."""
        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Labels)]

    def input_choices(self, _widget=None) -> list[tuple[str, object]]:
        """What an input picker offers: the image layers, and their on-screen composite when
        there are several (channels shown as separate layers)."""
        layers = self.image_layers()
        return [*layers, (COMPOSITE.name, COMPOSITE)] if len(layers) > 1 else layers

    def is_own_output(self, layer) -> bool:
        """Layers this widget made or is filling are not offered as inputs."""
        return False

    def _layer_alive(self) -> bool:
        """Whether the result layer is still in the viewer (the user may remove it)."""
        return self.result_layer is not None and self.result_layer in self.viewer.layers

    def prepare(self) -> Job:  # pragma: no cover - each widget defines its own
        """Read the widget and the layers (main thread); raise NeuralStyleError to refuse."""
        raise NotImplementedError

    def start(self):
        """Start the widget's work; returns the worker (None if refused or busy)."""
        if self.worker is not None:
            return None
        try:
            job = self.prepare()
        except NeuralStyleError as error:
            self.refuse(error)
            return None
        return self.start_job(job)

    def refuse(self, error: NeuralStyleError) -> None:
        """Say why the widget cannot do what was asked, in its own words."""
        show_error(f"{self.title}: {in_widget_message(error)}")

    def start_job(self, job: Job):
        """Run ``job`` in a worker thread, Stop and the status line following it; returns
        the worker (None while another runs)."""
        if self.worker is not None:
            return None
        self._stop.clear()
        progress = {"total": job.total, "desc": self.title} if job.total is not None else None
        # errors are ours to report (_on_error), not re-raised into the event loop
        worker = thread_worker(job.function, ignore_errors=True, progress=progress)(
            *job.args, self._stop)
        worker.yielded.connect(self._job_update)
        worker.returned.connect(self._job_result)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self.worker, self._job = worker, job
        self.run_button.enabled, self.stop_button.enabled = False, True
        self.status.value = job.status
        worker.start()
        return worker

    def stop(self) -> None:
        """Stop after the current step; what was computed stays, marked cancelled."""
        if self.worker is not None:
            self._stop.set()
            self.status.value = "stopping after this step..."

    def add_signed(self, data, **options):
        """An image layer of signed values: diverging colormap, limits symmetric about 0."""
        limit = float(abs(data).max()) or 1.0
        return self.viewer.add_image(data, colormap=DIVERGING, contrast_limits=(-limit, limit),
                                     **options)

    def ui_alive(self) -> bool:
        """False once Qt has deleted this widget (its viewer was closed)."""
        try:
            self.native.objectName()
        except RuntimeError:
            return False
        return True

    def report_failure(self, results) -> None:
        """Say so when a run ended on an error (out of memory) after a step: its result so far
        is kept, which the user might not guess from the notification alone."""
        for result in results:
            if result.failed:
                show_error(f"{self.title} failed: {reword(result.stopped_by, in_widget_words)}"
                           f"; the result so far ({result.steps_done} steps) is kept")
                if self.ui_alive():
                    self.status.value = f"failed at step {result.steps_done}; result kept"
                return

    def _say(self, text: str) -> None:
        if self.ui_alive():
            self.status.value = text

    def _on_error(self, error: Exception) -> None:
        message = in_widget_message(error)
        show_error(f"{self.title} failed: {message}")
        if self.ui_alive():
            self.status.value = f"failed: {message}"
            self.on_failed()

    def on_failed(self) -> None:
        """Tidy up after an error (the widget's outputs)."""

    def _job_update(self, update) -> None:
        self._job.on_update(update)

    def _job_result(self, result) -> None:
        if self.ui_alive():
            self._job.on_result(result)

    def _on_finished(self) -> None:
        self.worker, self._job = None, None
        if self.ui_alive():
            self.run_button.enabled, self.stop_button.enabled = True, False
