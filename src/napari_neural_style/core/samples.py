"""Sample images: scikit-image's bundled photographs, used as content, style and texture sources.

Only files shipped inside scikit-image are listed, so samples load offline.
"""

from __future__ import annotations

import numpy as np

#: name -> (role, description).  Roles say where the widget offers a sample first.
SAMPLES: dict[str, tuple[str, str]] = {
    "astronaut": ("content", "Eileen Collins, astronaut (RGB photograph)"),
    "chelsea": ("content", "Chelsea the cat (RGB photograph)"),
    "rocket": ("content", "Falcon 9 rocket launch (RGB photograph)"),
    "hubble_deep_field": ("style", "Hubble eXtreme Deep Field (RGB)"),
    "immunohistochemistry": ("style", "immunohistochemistry stain (RGB microscopy)"),
    "coffee": ("style", "coffee cup (RGB photograph)"),
    "gravel": ("style", "gravel texture (grayscale)"),
}


def load_sample(name: str) -> np.ndarray:
    """The named sample as scikit-image gives it (uint8; grayscale or RGB)."""
    if name not in SAMPLES:
        raise KeyError(f"unknown sample {name!r}; choose one of {', '.join(SAMPLES)}")
    from skimage import data

    return getattr(data, name)()


def moving_sample(name: str = "astronaut", frames: int = 8, size: int = 128,
                  pan: float = 0.15, zoom: float = 0.15) -> np.ndarray:
    """A movie made from a sample: a ``size`` px square view panned across it by ``pan`` of
    its width and zoomed in by ``zoom`` over ``frames`` frames, float32 ``(T, H, W, 3)``:
    frames whose true motion is known, to test and measure flicker."""
    from skimage import transform

    image = load_sample(name).astype(np.float32) / 255
    image = np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image
    height, width = image.shape[:2]
    side = min(height, width) * (1 - pan)
    movie = []
    for index in range(frames):
        progress = index / max(frames - 1, 1)
        view = side * (1 - zoom * progress)
        top = (height - view) / 2
        left = (width - side) / 2 - pan * width / 2 + pan * width * progress + (side - view) / 2
        crop = image[round(top):round(top + view), round(left):round(left + view)]
        movie.append(transform.resize(crop, (size, size), anti_aliasing=True))
    return np.stack(movie).astype(np.float32)
