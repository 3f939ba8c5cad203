"""Every frame of a stack or a movie, styled with one network and one set of style targets,
without flicker (Ruder et al. 2016, "Artistic style transfer for videos").

Frames are the 2-D images along one axis of an array.  With ``temporal="flow"`` frame ``t``
starts from the result of frame ``t-1`` warped onto it by the optical flow between the
content frames (scikit-image's TV-L1; where the warp is unreliable, from the content), and a
temporal loss (:class:`~.terms.Temporal`) pulls it towards that warped result where the
flow is reliable: not where the forward-backward check fails,
``|f + b|^2 > 0.01 (|f|^2 + |b|^2) + 0.5`` (Ruder's criterion, ``b`` the backward flow where
``f`` points), nor where a pixel has just entered the frame.  Later frames, started that
close, run ``frame_steps`` steps at one scale.  With ``temporal="none"`` every frame is
styled on its own.

Flicker (:func:`flicker`): the mean absolute difference between each result frame and the
previous result warped onto it, over reliable pixels, relative to the same figure of the
content frames (1: as steady as the content; more: flicker).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise

import numpy as np
import torch

from .config import Config
from .errors import InputError
from .frame_settings import FrameSettings
from .images import to_numpy, to_tensor
from .optimize import Step
from .result import Result
from .run_inputs import Styles
from .tasks import Run
from .terms import Temporal
from .weights import Weights


def frames_along(array: np.ndarray, axis: int = 0) -> np.ndarray:
    """The 2-D frames along ``axis`` of an array that is a picture, ``(H, W)`` or
    ``(H, W, 3|4)``, besides that axis, as float32 ``(T, H, W, 3)`` in [0, 1].  Float data
    beyond [0, 1] is scaled by the whole stack's range (frame by frame it would flicker)."""
    data = np.asarray(array)
    if not -data.ndim <= axis < data.ndim:
        raise InputError(f"axis {axis} does not exist in an array of shape {data.shape}")
    data = np.moveaxis(data, axis, 0)
    colour = data.ndim == 4 and data.shape[-1] in (3, 4)
    if data.ndim != (4 if colour else 3):
        raise InputError(f"frames along axis {axis} of shape {np.shape(array)} are not "
                         "pictures: give a (T, H, W) or (T, H, W, 3) stack, frames along T")
    if data.dtype.kind == "f" and np.isfinite(data).all() and (data.min() < 0 or data.max() > 1):
        data = (data - data.min()) / ((data.max() - data.min()) or 1)
    return np.stack([to_numpy(to_tensor(frame, None, f"frame {index}"))
                     for index, frame in enumerate(data)])


def optical_flow(reference: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """``(2, H, W)`` flow such that ``moving`` warped by it (:func:`warp`) matches
    ``reference``: scikit-image's TV-L1 on the luminance."""
    from skimage.color import rgb2gray
    from skimage.registration import optical_flow_tvl1

    return optical_flow_tvl1(rgb2gray(reference), rgb2gray(moving)).astype(np.float32)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at each pixel plus ``flow`` (bilinear; the border repeated)."""
    from skimage.transform import warp as sample

    rows, columns = np.meshgrid(np.arange(flow.shape[1]), np.arange(flow.shape[2]),
                                indexing="ij")
    coordinates = np.array([rows + flow[0], columns + flow[1]])
    channels = image[..., None] if image.ndim == 2 else image
    warped = np.stack([sample(channels[..., channel], coordinates, order=1, mode="edge")
                       for channel in range(channels.shape[-1])], axis=-1)
    return warped[..., 0] if image.ndim == 2 else warped.astype(np.float32)


def reliable(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Where the ``forward`` flow (this frame to the previous) can be trusted, ``(H, W)``
    bool: it lands inside the previous frame, and the ``backward`` flow there leads back."""
    height, width = forward.shape[1:]
    rows, columns = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    landing_rows, landing_columns = rows + forward[0], columns + forward[1]
    inside = (landing_rows >= 0) & (landing_rows <= height - 1) & \
        (landing_columns >= 0) & (landing_columns <= width - 1)
    back = np.moveaxis(warp(np.moveaxis(backward, 0, -1), forward), -1, 0)
    mismatch = ((forward + back) ** 2).sum(0)
    return inside & (mismatch <= 0.01 * ((forward ** 2).sum(0) + (back ** 2).sum(0)) + 0.5)


def motion(current: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flow from content frame ``current`` to ``previous`` and where it is reliable
    (:func:`reliable`, from the flows both ways)."""
    forward = optical_flow(current, previous)
    return forward, reliable(forward, optical_flow(previous, current))


def flicker(results: list[np.ndarray], contents: list[np.ndarray],
            motions: list[tuple[np.ndarray, np.ndarray]] | None = None) -> float:
    """How much ``results`` change from frame to frame beyond what ``contents`` move: the
    mean ``|r_t - warp(r_{t-1})|`` over reliable pixels, over the same of the contents;
    ``motions``: :func:`motion` of each frame after the first, if already known."""
    if motions is None:
        motions = [motion(current, previous)
                   for previous, current in pairwise(contents)]
    moved, still = [], []
    for previous, current, result_previous, result, (forward, mask) in zip(
            contents, contents[1:], results, results[1:], motions, strict=False):
        if not mask.any():
            continue
        moved.append(np.abs(result - warp(result_previous, forward))[mask].mean())
        still.append(np.abs(current - warp(previous, forward))[mask].mean())
    if not moved:
        return float("nan")
    return float(np.mean(moved) / max(np.mean(still), 1e-6))


class FrameRun:
    """``config`` run on every frame of ``frames`` (:func:`frames_along`), the network and the
    style targets computed once.  Iterating yields ``(frame, Step)``; closing the iterator
    stops, keeping every finished frame (and the current one so far, cancelled).  ``labels``:
    a label image per frame, ``(T, H, W)``, for ``Config.regions``; ``init_image`` and
    ``style_labels`` as :class:`~.tasks.Run` takes them (the image a frame starts from when it
    does not start from the previous result).  ``client``: a ``distributed.Client`` to style
    every frame as one task on its cluster (frames on their own, ``temporal="none"``, only);
    iterating then yields ``(frame, None)`` as each frame finishes, in any order, and
    ``(None, None)`` while none does."""

    def __init__(self, config: Config, frames: np.ndarray, style: Styles,
                 settings: FrameSettings | None = None, weights: Weights | None = None,
                 labels: np.ndarray | None = None, init_image: np.ndarray | None = None,
                 style_labels: list | None = None, client=None):
        if config.task != "transfer":
            raise InputError("frames are styled by a transfer")
        if client is not None and settings is not None and settings.temporal != "none":
            raise InputError("on a cluster each frame is styled on its own: set temporal "
                             "'none' (with flow, each frame starts from the one before)")
        if labels is not None and len(labels) != len(frames):
            raise InputError(f"the label stack has {len(labels)} frames for {len(frames)} "
                             "content frames: give one label image per frame")
        self.labels, self.init_image, self.style_labels = labels, init_image, style_labels
        self.client = client
        #: on a cluster, the frames under way: index -> (step, total), as they last said
        self.running: dict[int, tuple[int, int]] = {}
        self.config, self.settings, self.style = config, settings or FrameSettings(), style
        #: the content frames at the working size, what flows are computed on
        self.frames = [to_numpy(to_tensor(frame, config.size, f"frame {index}"))
                       for index, frame in enumerate(frames)]
        self.results: list[Result | None] = [None] * len(self.frames)
        self.weights = weights
        self.cache: dict = {}  # style targets by scale size, for every frame
        self.run: Run | None = None  # the frame being styled
        self._motions: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __iter__(self) -> Iterator[tuple[int | None, Step | None]]:
        if self.client is not None:
            from .cluster_backend import cluster_backend

            jobs = [(self.config, self._images(index)) for index in range(len(self.frames))]
            for index in cluster_backend().run_tasks(self.client, jobs, self._keep,
                                                     running=self.running):
                yield index, None
            return
        for index in range(len(self.frames)):
            self.run = run = self._run(index)
            try:
                for step in run:
                    yield index, step
            finally:
                self.weights = run.batch.weights  # resolved once, for every frame
                if run.has_result:
                    self.results[index] = run.result()

    def _run(self, index: int) -> Run:
        """Frame ``index``'s run: the first (and every one, without flow) as configured; the
        others warm-started from the previous result warped, with the temporal loss."""
        previous = self.results[index - 1] if index else None
        if previous is None or self.settings.temporal == "none":
            return Run(self.config, weights=self.weights, cache=self.cache,
                       **self._images(index))
        forward, reliable_pixels = self.motion(index)
        warped = warp(previous.image, forward)
        mask = reliable_pixels.astype(np.float32)
        temporal = Temporal(weight=self.settings.temporal_weight, warped=to_tensor(warped),
                            reliable=torch.from_numpy(mask)[None, None])
        config = replace(self.config, init="image", scales=(1.0,),
                         steps=self.settings.frame_steps or self.config.steps)
        # where the warp cannot be trusted (pixels just come into view), start from the
        # content, as the first frame did, not from the border the warp repeats
        start = warped * mask[..., None] + self.frames[index] * (1 - mask[..., None])
        return Run(config, weights=self.weights, temporal=temporal, cache=self.cache,
                   **{**self._images(index), "init_image": start})

    def _images(self, index: int) -> dict:
        """Frame ``index``'s inputs of a run on its own, as :class:`~.tasks.Run` takes them."""
        return {"content": self.frames[index], "style": self.style,
                "init_image": self.init_image, "style_labels": self.style_labels,
                "labels": None if self.labels is None else self.labels[index]}

    def _keep(self, index: int, result: Result, snapshots: dict) -> None:
        self.results[index] = result

    def motion(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """:func:`motion` from content frame ``index - 1`` to ``index``, computed once (the
        warm start and the flicker figure both need it)."""
        if index not in self._motions:
            self._motions[index] = motion(self.frames[index], self.frames[index - 1])
        return self._motions[index]

    @property
    def done(self) -> list[int]:
        """The frames styled to the end."""
        return [index for index, result in enumerate(self.results)
                if result is not None and not result.cancelled]

    def stack(self) -> np.ndarray:
        """``(T, H, W, 3)`` results; a frame not done is black (see :meth:`provenance`)."""
        shape = self.frames[0].shape
        return np.stack([np.zeros(shape, np.float32) if result is None else result.image
                         for result in self.results])

    def provenance(self) -> dict:
        """The first frame's record, the frame settings, which frames are done, each frame's
        steps and seconds, and the flicker of the frames done in a row from the first."""
        first = next((result for result in self.results if result is not None), None)
        record = first.provenance(full_history=False) if first is not None else {}
        finished = [result for result in self.results if result is not None]
        row = next((index for index, result in enumerate(self.results)
                    if result is None or result.cancelled), len(self.results))
        return {**record, "frames": {
            "count": len(self.frames), "done": self.done,
            "cancelled": [index for index, result in enumerate(self.results)
                          if result is not None and result.cancelled],
            "not_done": [index for index, result in enumerate(self.results) if result is None],
            "steps": [result.steps_done for result in finished],
            "seconds": [result.seconds for result in finished],
            "temporal": self.settings.temporal,
            "temporal_weight": self.settings.temporal_weight,
            "frame_steps": self.settings.frame_steps,
            "flicker": flicker([result.image for result in self.results[:row]],
                               self.frames[:row], [self.motion(index) for index in
                                                   range(1, row)]) if row > 1 else None}}
