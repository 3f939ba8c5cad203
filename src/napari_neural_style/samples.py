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
