"""Live preview latency: from a change in the widget to the first optimized preview image on
screen, and the longest stall of napari's event loop meanwhile.

napari opens with the sample images, the style transfer widget (random weights, CPU) turns its
preview on (the first preview also imports torch: reported apart), then the style weight is
changed ``--changes`` times, each time waiting for the preview of the new value.  Goal on this
2-core CPU: first preview <= 2 s after a change, no stall over 100 ms.  Needs a display:

    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/preview.py [--changes 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import EventLoopGaps, say
from napari_neural_style.plugin.base import METADATA_KEY
from napari_neural_style.plugin.launch import open_viewer
from napari_neural_style.plugin.preview import SIZE, STEPS

WEIGHTS = (0.2, 1.0, 3.0, 0.7, 2.0, 0.4, 1.5, 5.0)


def preview_of(widget, change) -> tuple[float, float]:
    """(seconds from ``change()`` to its first optimized preview image, longest stall)."""
    preview = widget.preview
    with EventLoopGaps() as gaps:
        start = time.perf_counter()
        change()
        wanted = widget.form.config().style_weight
        gaps.wait_until(lambda: preview.first_image_at is not None and
                        preview.layer.metadata[METADATA_KEY]["params"]["style_weight"] ==
                        wanted)
        latency = preview.first_image_at - start
        gaps.wait_until(lambda: preview.worker is None)  # the stalls of the whole preview
    return latency, gaps.longest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=5)
    args = parser.parse_args()
    viewer, docked = open_viewer(weights="random-single", show=True)
    widget = docked["Style transfer"]
    widget.device.value = "cpu"
    say(f"preview: style transfer preview at {SIZE} px, {STEPS} steps, CPU, random weights, "
        "in napari (goals: first preview <= 2 s after a change, stalls < 100 ms)")
    cold, cold_stall = preview_of(widget, lambda: setattr(widget.live_preview, "value", True))
    say(f"  turning it on (imports torch)   first preview {cold:5.2f} s   longest stall "
        f"{cold_stall * 1000:6.1f} ms")
    figures = [preview_of(widget, lambda value=value: setattr(widget.style_weight, "value",
                                                              value))
               for value in WEIGHTS[:args.changes]]
    latencies = [latency for latency, _ in figures]
    say(f"  {len(figures)} style weight changes        first preview median "
        f"{statistics.median(latencies):5.2f} s, worst {max(latencies):5.2f} s   longest stall "
        f"{max(stall for _, stall in figures) * 1000:6.1f} ms")
    viewer.close()


if __name__ == "__main__":
    main()
