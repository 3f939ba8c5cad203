"""Where VGG-19 weights come from, decided once for every caller.

Resolution order for ``weights="imagenet"`` (the default):

1. a file named by ``NAPARI_NEURAL_STYLE_WEIGHTS`` (an explicit path given as ``weights=PATH``
   goes straight here);
2. torchvision's ``VGG19_Weights.IMAGENET1K_V1`` file in the torch hub cache
   (``$TORCH_HOME/hub/checkpoints``);
3. a download of it from the URL torchvision's weights API gives, its hash checked, with a
   progress bar;
4. otherwise :class:`WeightsError`, saying where to put the file.

``weights="random"`` (or ``"random:SEED"``) is untrained, seeded (He et al. 2016 show such
networks still reconstruct and synthesize): two VGG-19s side by side with orthogonal kernels,
run with average pooling (``pooling="auto"``), the settings measured best for it
(docs/performance.md).  ``"random-single[:SEED]"`` is its first network alone;
``"random-kaiming[:SEED]"`` the first release's untrained network (Kaiming-normal kernels,
max pooling), kept so that its results can be reproduced
(:data:`~.weight_kinds.RANDOM_KINDS`).  None is
ever chosen silently: results made with them carry ``random`` in their labels and metadata.

Files are read with ``torch.load(weights_only=True)``, memory-mapped where the format allows,
and only the convolutional ``features`` are kept (not the classifier, most of the file).

A file holds weights trained on pixels prepared one way (:data:`PIXEL_FORMATS`): torchvision's
(RGB in [0, 1], ImageNet mean and standard deviation) or Caffe's (BGR in [0, 255], mean
subtracted, as in the Caffe VGG-19 converted for neural-style-pt, ``vgg19-d01eb7cb.pth``).  The
two files have the same keys and shapes; a file is known by its sha256 (:data:`KNOWN_FILES`),
any other is taken as torchvision's unless ``weights_format`` says otherwise.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import math
import os
import pickle
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from .errors import WeightsError, setting
from .vgg_layers import BLOCK_CHANNELS, BLOCK_SIZES
from .weight_kinds import RANDOM_KINDS

ENV_VAR = "NAPARI_NEURAL_STYLE_WEIGHTS"
DEFAULT_RANDOM_SEED = 0


@dataclass(frozen=True)
class PixelFormat:
    """How a network's first layer expects its pixels: ``x = (rgb[channels] * peak - mean) /
    std`` for ``rgb`` in [0, 1]."""

    channels: tuple[int, int, int]  # the input's channels, in RGB indices
    peak: float  # the value of a full-intensity pixel
    mean: tuple[float, float, float]  # in the network's channel order and range
    std: tuple[float, float, float]


#: ``Config.weights_format`` (but "auto") -> how those weights want their pixels
PIXEL_FORMATS = {
    "torchvision": PixelFormat((0, 1, 2), 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "caffe": PixelFormat((2, 1, 0), 255.0, (103.939, 116.779, 123.68), (1.0, 1.0, 1.0)),
}
#: weights files known by the first digits of their sha256 (which torch hub's naming puts in
#: the file name): torchvision's VGG-19 and the Caffe VGG-19 converted by jcjohnson/pytorch-vgg
#: (the file neural-style-pt uses)
KNOWN_FILES = {"dcbb9e9d": "torchvision", "d01eb7cb": "caffe"}


@dataclass(frozen=True)
class Weights:
    """Convolution weights keyed like ``vgg19().features`` (``"0.weight"``, ``"0.bias"``...)."""

    state: dict[str, torch.Tensor]
    source: str  # "file", "cache", "download" or "random"
    sha256: str
    label: str  # short human description, e.g. "ImageNet (vgg19-dcbb9e9d.pth)"
    path: str | None = None
    #: what ``pooling="auto"`` runs them with: max as trained, avg for the untrained network
    pooling: str = "max"
    #: the pixels they expect (:data:`PIXEL_FORMATS`)
    format: str = "torchvision"
    #: the states of further networks run beside the first (an untrained ensemble)
    others: tuple[dict[str, torch.Tensor], ...] = ()

    @property
    def members(self) -> tuple[dict[str, torch.Tensor], ...]:
        """Every network's state, the first (:attr:`state`) first."""
        return (self.state, *self.others)

    @property
    def pixels(self) -> PixelFormat:
        return PIXEL_FORMATS[self.format]

    @property
    def is_random(self) -> bool:
        return self.source == "random"

    def in_memory_format(self, memory_format: torch.memory_format | None
                         ) -> tuple[dict[str, torch.Tensor], ...]:
        """:attr:`members`, their kernels converted to ``memory_format`` (None: as they are)
        once and kept that way.

        The values do not change.  Converting in place rather than per network means every
        encoder built from these weights shares one copy, and a memory-mapped file's pages
        are let go once converted.
        """
        if memory_format is None:
            return self.members
        for state in self.members:
            for key, value in state.items():
                if value.dim() == 4 and not value.is_contiguous(memory_format=memory_format):
                    state[key] = value.contiguous(memory_format=memory_format)
        return self.members

    def describe(self) -> dict[str, str | int | None]:
        """The provenance record written into metadata and metrics."""
        return {"source": self.source, "sha256": self.sha256, "label": self.label,
                "path": self.path, "format": self.format, "networks": len(self.members)}


def conv_shapes() -> dict[int, tuple[int, int]]:
    """``features`` index -> (out_channels, in_channels) for each of the 16 convolutions."""
    shapes: dict[int, tuple[int, int]] = {}
    index, channels = 0, 3
    for size, width in zip(BLOCK_SIZES, BLOCK_CHANNELS, strict=True):
        for _ in range(size):
            shapes[index] = (width, channels)
            channels = width
            index += 2
        index += 1
    return shapes


#: the file name torchvision's weights API gives ``VGG19_Weights.IMAGENET1K_V1`` (a test
#: checks), so that finding it in torch's hub cache needs no torchvision
IMAGENET_FILE = "vgg19-dcbb9e9d.pth"


def imagenet_url() -> str:
    """Where torchvision's weights API says ``VGG19_Weights.IMAGENET1K_V1`` is (its file name
    carries the hash prefix the download is checked against).  torchvision is imported only
    here, to download: importing it holds the GIL a while and imports ``torch._dynamo``
    and triton (core/solvers.py), not worth it once the file is there."""
    from torchvision.models import VGG19_Weights

    return VGG19_Weights.IMAGENET1K_V1.url


def hub_cache_file() -> Path:
    """Where torchvision keeps ``IMAGENET1K_V1`` once downloaded."""
    return Path(torch.hub.get_dir()) / "checkpoints" / IMAGENET_FILE


def resolve_weights(spec: str | os.PathLike = "imagenet", *, download: bool = True,
                    progress: bool = True, weights_format: str = "auto") -> Weights:
    """Weights for ``spec``: ``"imagenet"``, ``"random[:SEED]"``, ``"random-kaiming[:SEED]"``
    or a file path; ``weights_format``: how a file's weights want their pixels
    (:data:`PIXEL_FORMATS`; "auto": known by its sha256, else torchvision's)."""
    text = os.fspath(spec)
    kind, _, seed = text.lower().partition(":")
    env_path = os.environ.get(ENV_VAR) if text.lower() == "imagenet" else None
    if weights_format == "caffe" and not (env_path or kind not in (*RANDOM_KINDS, "imagenet")):
        raise _not_caffe("the untrained network" if kind in RANDOM_KINDS else
                         "torchvision's ImageNet weights")
    if kind in RANDOM_KINDS:
        try:
            return random_weights(int(seed) if seed else DEFAULT_RANDOM_SEED, kind)
        except ValueError:
            raise WeightsError(f"bad random weights seed in {text!r}; write {kind}:SEED, "
                               "SEED a whole number") from None
    if text.lower() != "imagenet":
        return load_file(text, source="file", weights_format=weights_format)
    if env_path:
        return load_file(env_path, source="file", weights_format=weights_format)
    cached = hub_cache_file()
    if cached.is_file():
        return load_file(cached, source="cache")
    if download:
        return _download(progress)
    raise _offline_error("downloads are disabled")


def _not_caffe(what: str) -> WeightsError:
    return WeightsError(
        f"{setting('weights_format', 'caffe')} is for a file of converted Caffe weights "
        f"(vgg19-d01eb7cb.pth): give its path as {setting('weights', 'PATH')}; {what} take "
        "torchvision's pixels")


def _download(progress: bool) -> Weights:
    try:
        state = torch.hub.load_state_dict_from_url(
            imagenet_url(), progress=progress, check_hash=True, weights_only=True
        )
    except Exception as error:  # urllib, ssl and hash errors all end the same way for the user
        raise _offline_error(f"{type(error).__name__}: {error}") from None
    cached = hub_cache_file()
    sha = file_sha256(cached) if cached.is_file() else state_sha256(_features_only(state))
    return Weights(_checked(_features_only(state), str(cached)), "download", sha,
                   f"ImageNet ({cached.name})", str(cached))


def _offline_error(reason: str) -> WeightsError:
    return WeightsError(
        f"VGG-19 ImageNet weights are not available ({reason}). Download {imagenet_url()} "
        f"and put it at {hub_cache_file()}, or pass its path ({setting('weights', 'PATH')} or "
        f"{ENV_VAR}=PATH), or choose the untrained network explicitly: "
        f"{setting('weights', 'random')}"
    )


def load_file(path: str | os.PathLike, source: str, weights_format: str = "auto") -> Weights:
    """Load and shape-check a state dict file of VGG-19 (full model or ``features`` only),
    its pixel format ``weights_format`` ("auto": :data:`KNOWN_FILES`, else torchvision's)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist; check the path or use "
                           f"{setting('weights', 'imagenet')} or {setting('weights', 'random')}")
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # legacy (pre-zipfile) checkpoints cannot be memory-mapped
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise _refused(path, str(error)) from None
    except Exception as error:
        raise WeightsError(f"cannot read weights file {path}: {error}".splitlines()[0]) from None
    if not isinstance(state, dict):
        raise WeightsError(f"weights file {path} holds a {type(state).__name__}, not a state dict")
    sha = file_sha256(path)
    if weights_format == "auto":
        weights_format = KNOWN_FILES.get(sha[:8], "torchvision")
    caffe = ", Caffe" if weights_format == "caffe" else ""
    label = f"{'ImageNet' if source == 'cache' else 'file'} ({path.name}{caffe})"
    return Weights(_checked(_features_only(state), str(path)), source, sha, label, str(path),
                   format=weights_format)


def _refused(path: Path, reason: str) -> WeightsError:
    """Our words for a file ``torch.load(weights_only=True)`` would not unpickle.  torch's
    message advises retrying with ``weights_only=False``: for an untrusted file, the one thing
    a user must not do, so it is not repeated."""
    code = re.search(r"GLOBAL ([\w.]+)", reason)
    if code:
        return WeightsError(
            f"weights file {path} was refused: loading it would call {code.group(1)} (it holds "
            "code or objects, not plain tensors). Use a file of tensors only, as "
            "torch.save(model.state_dict(), PATH) writes; never load a file you do not trust "
            "with weights_only=False")
    return WeightsError(f"weights file {path} is not a PyTorch file of tensors (it does not "
                        "unpickle as one): check the file, or use "
                        f"{setting('weights', 'imagenet')} or {setting('weights', 'random')}")


def _features_only(state: dict) -> dict[str, torch.Tensor]:
    """Keep the convolution tensors, accepting full-model or features-only keys."""
    if any(key.startswith("features.") for key in state):
        return {key.removeprefix("features."): value for key, value in state.items()
                if key.startswith("features.")}
    return {key: value for key, value in state.items() if key.split(".", 1)[0].isdigit()}


def _checked(state: dict[str, torch.Tensor], where: str) -> dict[str, torch.Tensor]:
    for index, (out_channels, in_channels) in conv_shapes().items():
        expected = {f"{index}.weight": (out_channels, in_channels, 3, 3),
                    f"{index}.bias": (out_channels,)}
        for key, shape in expected.items():
            tensor = state.get(key)
            if not isinstance(tensor, torch.Tensor):
                raise WeightsError(f"weights from {where} lack features.{key}; "
                                   "expected a torchvision VGG-19 state dict")
            if tuple(tensor.shape) != shape:
                raise WeightsError(
                    f"weights from {where}: features.{key} has shape {tuple(tensor.shape)}, "
                    f"expected {shape}; is this a VGG-19 state dict?"
                )
            if not tensor.is_floating_point():
                raise WeightsError(f"weights from {where}: features.{key} holds {tensor.dtype} "
                                   "values; expected real numbers")
            if not torch.isfinite(tensor).all():
                raise WeightsError(f"weights from {where}: features.{key} holds values that "
                                   "are not finite (NaN or infinite)")
    # float32 whatever the file holds (float16, bfloat16): a float32 file stays mapped
    return {key: state[key].float() for index in conv_shapes() for key in
            (f"{index}.weight", f"{index}.bias")}


@lru_cache(maxsize=2)
def random_weights(seed: int = DEFAULT_RANDOM_SEED, kind: str = "random") -> Weights:
    """An untrained VGG-19 (:data:`RANDOM_KINDS`), zero biases, kernels drawn from ``seed``.

    ``random``: each kernel, as an ``(out, in * 9)`` matrix, has orthonormal rows or columns
    times sqrt(2) (Saxe et al. 2014; the gain keeps ReLU activations near unit scale).
    Orthogonal maps keep more of what tells images apart than Gaussian ones (deep
    reconstructions and transfers both gain, docs/performance.md).  Two such networks side
    by side, the second drawn on from the same generator: a texture that matches the
    statistics of two draws over-fits neither, and comes closer to its floor on a third it
    never saw.  ``random-single`` is the first alone.
    ``random-kaiming``: one network, Kaiming-normal (fan-out), as torchvision initialises
    VGG-19.
    """
    kind_of = RANDOM_KINDS[kind]
    generator = torch.Generator().manual_seed(seed)
    members = tuple(_random_state(kind_of.init, generator) for _ in range(kind_of.networks))
    _free_lapack_buffers()
    digest = state_sha256(members[0]) if len(members) == 1 else hashlib.sha256(
        "".join(state_sha256(state) for state in members).encode()).hexdigest()
    networks = f"{len(members)} networks, " if len(members) > 1 else ""
    return Weights(members[0], "random", digest,
                   f"{kind_of.label} (untrained, {networks}seed {seed})",
                   pooling=kind_of.pooling, others=members[1:])


def _random_state(init: str, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """One untrained VGG-19's state, its kernels drawn from ``generator`` in layer order."""
    state: dict[str, torch.Tensor] = {}
    for index, (out_channels, in_channels) in conv_shapes().items():
        shape = (out_channels, in_channels, 3, 3)
        state[f"{index}.weight"] = _orthogonal(shape, generator) if init == "orthogonal" else \
            torch.randn(shape, generator=generator).mul_((2.0 / (out_channels * 9)) ** 0.5)
        state[f"{index}.bias"] = torch.zeros(out_channels)
    return state


def _free_lapack_buffers() -> None:
    """Give back the buffers MKL keeps after the QR factorisations, for calls that do not
    come (half as much again as VGG-19's kernels).  torch's own MKL exports
    ``mkl_free_buffers`` under its service name; with other BLAS builds, nothing to do."""
    library = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(str(library)).mkl_serv_free_buffers()


def _orthogonal(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """A kernel whose ``(out, rest)`` matrix has orthonormal rows (or columns, if fewer),
    times sqrt(2): the Q of a Gaussian matrix's QR, signs fixed so that it is uniformly
    distributed (Mezzadri 2007), as ``torch.nn.init.orthogonal_`` does.  LAPACK's QR differs
    between CPUs in the last bits (up to ~3e-7 here), so the draw's sha256 does too."""
    rows, columns = shape[0], math.prod(shape[1:])
    gaussian = torch.randn(max(rows, columns), min(rows, columns), generator=generator)
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.sign(torch.diagonal(r))
    matrix = q if rows >= columns else q.T
    return (matrix * 2 ** 0.5).reshape(shape).contiguous()


def state_sha256(state: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].detach().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    stat = Path(path).stat()
    return _cached_file_sha256(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _cached_file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
