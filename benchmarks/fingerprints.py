"""Fingerprints of fixed-seed CPU float32 runs: one sha256 of the result image (and of its
loss history) per case, to show that a change of structure left every result bit for bit.

    python benchmarks/fingerprints.py > before.txt   # on the old commit
    python benchmarks/fingerprints.py > after.txt    # on the new one
    diff before.txt after.txt                        # no output: the same images

The cases cover every loss term: content, Gram and meancov style, TV, several styles blended,
regions from a label image, and the temporal term of a movie's second frame.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch
from skimage import data, transform

from napari_neural_style.core.config import Config
from napari_neural_style.core.frame_settings import FrameSettings
from napari_neural_style.core.frames import FrameRun
from napari_neural_style.core.tasks import Run

SIZE, STEPS = 64, 12
COMMON = dict(size=SIZE, steps=STEPS, weights="random", device="cpu", precision="fp32",
              scales=(0.5, 1.0))


def image(name: str) -> np.ndarray:
    picture = getattr(data, name)()
    return transform.resize(picture, (96, 96), anti_aliasing=True).astype(np.float32)


def halves() -> np.ndarray:
    labels = np.ones((96, 96), np.int32)
    labels[:, 48:] = 2
    return labels


def cases() -> dict:
    content, style, other = image("astronaut"), image("coffee"), image("chelsea")
    return {
        "transfer": Run(Config.for_task("transfer", **COMMON), content, style),
        "transfer-tv-meancov": Run(Config.for_task("transfer", tv_weight=0.5,
                                                   style_loss="meancov", **COMMON),
                                   content, style),
        "transfer-blend": Run(Config.for_task("transfer", style_blend=(3, 7), **COMMON),
                              content, [style, other]),
        "transfer-regions": Run(Config.for_task("transfer", regions=((1, 0, 1.0), (2, 1, 1.0)),
                                                **COMMON), content, [style, other],
                                labels=halves()),
        "texture": Run(Config.for_task("texture", **COMMON), style=style),
        "reconstruct": Run(Config.for_task("reconstruct", **COMMON), content),
    }


def fingerprint(result) -> str:
    pixels = hashlib.sha256(np.ascontiguousarray(result.image).tobytes()).hexdigest()[:16]
    history = hashlib.sha256(json.dumps(result.history, sort_keys=True).encode()).hexdigest()
    return f"{pixels} {history[:16]}"


def main() -> None:
    torch.set_num_threads(1)  # one thread: the sums' order, and so the bits, fixed
    for name, run in cases().items():
        print(name, fingerprint(run.complete()), flush=True)
    frames = np.stack([image("astronaut"), np.roll(image("astronaut"), 2, axis=1)])
    movie = FrameRun(Config.for_task("transfer", **COMMON), frames, image("coffee"),
                     FrameSettings(temporal_weight=50.0))
    for _ in movie:
        pass
    print("frames-temporal", fingerprint(movie.results[-1]), flush=True)


if __name__ == "__main__":
    main()
