"""Winograd F(4x4, 3x3) against the direct convolution: per VGG-19 layer shape, and per step.

Each 4x4 output tile of a 3x3 convolution is ``Y = A^T [(G g G^T) * (B^T d B)] A`` (Lavin and
Gray 2016): 36 multiplies per tile and channel pair instead of 144.  Over the input channels
the 36 elementwise products become 36 matrix products ``(K, C) @ (C, tiles)``; the transforms
of the input tiles and of the outputs are matrix products too.  Written in PyTorch's own ops
(float32), as a Python project can, against oneDNN's direct convolution in channels_last as the
engine runs it:

1. every distinct convolution shape of VGG-19 at ``--sizes`` px: the forward pass and the
   input's gradient (all a frozen layer's backward pass needs: a convolution of the output's
   gradient with the kernels flipped and transposed), the kernel transforms ``G g G^T`` made
   once (kept: 4x the kernels' memory) and on every call; and each one's relative error
   against float64 (the budget: <= 1e-4);
2. the seed transfer's step (forward and backward to conv_16, Gram losses) at
   ``--step-size`` px, float32, with the 512-channel layers by Winograd (kernel transforms
   kept) against the direct convolution everywhere, alternating.

    python benchmarks/winograd.py [--sizes 256,512] [--step-size 512]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from common import median_seconds, say
from napari_neural_style.core.config import Config
from napari_neural_style.core.losses import gram_matrix
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.vgg_layers import CONV_LAYERS
from napari_neural_style.core.weights import conv_shapes, resolve_weights

B_T = torch.tensor([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                    [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
                   dtype=torch.float64)
G = torch.tensor([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
                 dtype=torch.float64)
A_T = torch.tensor([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                    [0, 1, -1, 8, -8, 1]], dtype=torch.float64)
#: the transforms as matrices acting on row-major flattened tiles and kernels
INPUT_TRANSFORM = torch.kron(B_T, B_T).float()  # (36, 36)
OUTPUT_TRANSFORM = torch.kron(A_T, A_T).float()  # (16, 36)
KERNEL_TRANSFORM = torch.kron(G, G).float()  # (36, 9)
TILE, WINDOW = 4, 6
WINOGRAD_CHANNELS = 512  # the layers step 2 runs by Winograd


def kernel_transform(kernel: torch.Tensor) -> torch.Tensor:
    """``U = G g G^T`` of ``(K, C, 3, 3)`` kernels, shape ``(36, K, C)``."""
    out_channels, in_channels = kernel.shape[:2]
    flat = kernel.float().permute(2, 3, 0, 1).reshape(9, out_channels * in_channels)
    return (KERNEL_TRANSFORM @ flat).view(WINDOW * WINDOW, out_channels, in_channels)


def winograd_conv3x3(images: torch.Tensor, transformed: torch.Tensor) -> torch.Tensor:
    """Stride-1, padding-1 convolution of ``(N, C, H, W)`` ``images`` with the kernels whose
    :func:`kernel_transform` is ``transformed``, no bias."""
    n, channels, height, width = images.shape
    tiles_h, tiles_w = -(-height // TILE), -(-width // TILE)
    padded = F.pad(images.float(), (1, TILE * tiles_w + 1 - width, 1, TILE * tiles_h + 1 - height))
    windows = padded.unfold(2, WINDOW, TILE).unfold(3, WINDOW, TILE)  # N C th tw 6 6
    flat = windows.permute(4, 5, 1, 0, 2, 3).reshape(WINDOW * WINDOW, -1)
    data = (INPUT_TRANSFORM @ flat).view(WINDOW * WINDOW, channels, -1)
    products = torch.bmm(transformed, data)  # (36, K, N * tiles)
    out_channels = transformed.shape[1]
    tiles = (OUTPUT_TRANSFORM @ products.view(WINDOW * WINDOW, -1)).view(
        TILE, TILE, out_channels, n, tiles_h, tiles_w)
    output = tiles.permute(3, 2, 4, 0, 5, 1).reshape(n, out_channels, TILE * tiles_h,
                                                      TILE * tiles_w)
    return output[:, :, :height, :width]


class _Winograd(torch.autograd.Function):
    """Forward by Winograd; backward the input's gradient only, by Winograd too."""

    @staticmethod
    def forward(ctx, images, forward_transform, backward_transform):
        ctx.backward_transform = backward_transform
        return winograd_conv3x3(images, forward_transform)

    @staticmethod
    def backward(ctx, grad):
        return winograd_conv3x3(grad, ctx.backward_transform), None, None


class WinogradConv(nn.Module):
    """A frozen 3x3 convolution by Winograd, both kernel transforms kept."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.forward_transform = kernel_transform(conv.weight)
        self.backward_transform = kernel_transform(conv.weight.transpose(0, 1).flip(2, 3))
        self.bias = conv.bias.view(1, -1, 1, 1)

    def forward(self, images):
        return _Winograd.apply(images, self.forward_transform,
                               self.backward_transform) + self.bias


def relative_error(value: torch.Tensor, exact: torch.Tensor) -> float:
    return float((value.double() - exact).norm() / exact.norm())


def compare_layer(in_channels: int, out_channels: int, side: int, repeats: int) -> str:
    """Direct / Winograd times (ms) of the forward pass and the input's gradient."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(1, in_channels, side, side, generator=generator).relu()
    grad = torch.randn(1, out_channels, side, side, generator=generator)
    kernel = torch.randn(out_channels, in_channels, 3, 3, generator=generator)
    kernel /= (9 * in_channels) ** 0.5
    flipped = kernel.transpose(0, 1).flip(2, 3)
    parts = []
    for label, data, weights in (("forward", images, kernel), ("input gradient", grad, flipped)):
        direct, kept, remade = pass_times(data, weights, repeats)
        parts.append(f"{label} {direct:.1f} / {kept:.1f} ms = {kept / direct:.2f} (transforms "
                     f"on each call {remade / direct:.2f})")
    exact = F.conv2d(images.double(), kernel.double(), padding=1)
    error = relative_error(winograd_conv3x3(images, kernel_transform(kernel)), exact)
    direct_error = relative_error(F.conv2d(images, kernel, padding=1), exact)
    return f"{'; '.join(parts)}; error {error:.1e} (direct {direct_error:.1e})"


def pass_times(data: torch.Tensor, weights: torch.Tensor, repeats: int) -> list[float]:
    """Milliseconds: the direct convolution, Winograd with the kernel transforms kept, and
    Winograd making them on the call."""
    last = torch.channels_last
    direct_data, direct_weights = (each.contiguous(memory_format=last) for each in (data,
                                                                                   weights))
    transformed = kernel_transform(weights)
    functions = (lambda: F.conv2d(direct_data, direct_weights, padding=1),
                 lambda: winograd_conv3x3(data, transformed),
                 lambda: winograd_conv3x3(data, kernel_transform(weights)))
    return [median_seconds(function, repeats) * 1e3 for function in functions]


def seed_step(encoder: VGGEncoder, images: torch.Tensor) -> torch.Tensor:
    """One forward and backward pass of Gram losses at the seed's style layers and conv_9."""
    images = images.detach().requires_grad_()
    features = encoder(images.contiguous(memory_format=torch.channels_last))
    sum(gram_matrix(value).square().mean() for value in features.values()).backward()
    return images.grad


def compare_steps(size: int, repeats: int) -> str:
    weights = resolve_weights("random-single")
    config = Config.for_task("transfer")
    layers = (*config.content_layers, *config.style_layers)
    direct = VGGEncoder(weights, layers, "avg", torch.channels_last)
    winograd = VGGEncoder(weights, layers, "avg", torch.channels_last)
    kept = 0
    for body in winograd.bodies:
        for index, module in enumerate(body):
            if isinstance(module, nn.Conv2d) and module.out_channels == WINOGRAD_CHANNELS:
                body[index] = WinogradConv(module)
                kept += 2 * body[index].forward_transform.nbytes
    images = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    exact = seed_step(VGGEncoder(weights, layers, "avg").double(), images.double())
    errors = [relative_error(seed_step(encoder, images), exact) for encoder in (winograd,
                                                                                direct)]
    times = {"direct": [], "winograd": []}
    for _ in range(repeats):
        for name, encoder in (("direct", direct), ("winograd", winograd)):
            start = time.perf_counter()
            seed_step(encoder, images)
            times[name].append(time.perf_counter() - start)
    best = {name: min(values) for name, values in times.items()}
    return (f"direct {best['direct']:.3f} s, Winograd at the {WINOGRAD_CHANNELS}-channel layers "
            f"{best['winograd']:.3f} s: {best['winograd'] / best['direct']:.2f} (best of "
            f"{repeats}); kernel transforms kept {kept / 2**20:.0f} MB; the image's gradient's "
            f"error against float64 {errors[0]:.1e} (direct {errors[1]:.1e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--step-size", type=int, default=512)
    args = parser.parse_args()
    say(f"winograd: direct / Winograd F(4x4, 3x3), float32, {torch.get_num_threads()} threads")
    for size in (int(part) for part in args.sizes.split(",")):
        shapes = {}
        for entry, (out_channels, in_channels) in zip(CONV_LAYERS, conv_shapes().values(),
                                                      strict=True):
            shapes.setdefault((in_channels, out_channels, size >> entry.pools_before),
                              entry.name)
        for (in_channels, out_channels, side), name in shapes.items():
            say(f"  {size} px {name:7s} {in_channels:3d}->{out_channels:3d} at {side:3d} px: "
                f"{compare_layer(in_channels, out_channels, side, args.repeats)}")
    say(f"  seed step at {args.step_size} px: {compare_steps(args.step_size, args.repeats)}")


if __name__ == "__main__":
    main()
