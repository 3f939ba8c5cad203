import pytest
import torch

from helpers import in_python
from napari_neural_style.core.solvers import LBFGS, Adam

KERNEL = torch.randn(4, 3, 3, 3, generator=torch.Generator().manual_seed(1))
TARGET = torch.randn(1, 4, 12, 12, generator=torch.Generator().manual_seed(2))


def loss(pixels: torch.Tensor) -> torch.Tensor:
    """Non-convex enough that L-BFGS meets negative curvature and a full history."""
    features = torch.nn.functional.conv2d(pixels, KERNEL, padding=1)
    return (features.tanh() - TARGET.tanh()).pow(2).mean() + 0.1 * pixels.pow(4).mean()


def trajectory(make, steps: int, torch_optim: bool) -> list[torch.Tensor]:
    pixels = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(3))
    pixels.requires_grad_(True)
    solver = make(pixels)
    seen = []
    for _ in range(steps):
        pixels.grad = None
        total = loss(pixels)
        total.backward()
        if torch_optim:
            solver.step(lambda total=total: total.detach())
        else:
            solver.step()
        seen.append(pixels.detach().clone())
    return seen


@pytest.mark.parametrize(("ours", "theirs"), [
    (lambda p: LBFGS(p, 1.0, 3), lambda p: torch.optim.LBFGS(
        [p], lr=1.0, max_iter=1, history_size=3, tolerance_grad=0.0, tolerance_change=0.0)),
    (lambda p: LBFGS(p, 0.5, 20), lambda p: torch.optim.LBFGS(
        [p], lr=0.5, max_iter=1, history_size=20, tolerance_grad=0.0, tolerance_change=0.0)),
    (lambda p: Adam(p, 0.02), lambda p: torch.optim.Adam([p], lr=0.02)),
], ids=["lbfgs-short-history", "lbfgs", "adam"])
def test_the_solvers_step_as_torch_optim_does(ours, theirs):
    mine, reference = trajectory(ours, 25, False), trajectory(theirs, 25, True)
    for step, (a, b) in enumerate(zip(mine, reference, strict=True)):
        assert torch.equal(a, b), f"step {step}"
    assert loss(mine[-1]) < 0.7 * loss(torch.rand(1, 3, 12, 12,
                                                  generator=torch.Generator().manual_seed(3)))


def test_lbfgs_stands_still_at_a_stationary_point():
    pixels = torch.ones(1, 3, 4, 4, requires_grad=True)
    pixels.grad = torch.zeros_like(pixels)
    solver = LBFGS(pixels, 1.0, 5)
    solver.step()
    assert torch.equal(pixels, torch.ones(1, 3, 4, 4)) and solver.steps_taken == 0


def test_lbfgs_keeps_only_pairs_of_positive_curvature():
    pixels = torch.zeros(4, requires_grad=True)
    solver = LBFGS(pixels, 1.0, 5)
    for gradient in ([1.0, 0, 0, 0], [2.0, 0, 0, 0], [0.5, 0, 0, 0]):
        pixels.grad = torch.tensor(gradient)
        solver.step()
    # the step moved along -g: a larger gradient after it is negative curvature, not kept
    assert len(solver.changes) == 1


def test_the_engine_never_imports_torch_dynamo():
    """torch.optim and torch.utils.checkpoint import torch._dynamo and triton (150 MB); every
    path of the engine stays clear of them (only a download of the ImageNet weights imports
    torchvision, which brings them)."""
    script = (
        "import sys, numpy as np\n"
        "from napari_neural_style.core.tasks import reconstruct, synthesize_texture, transfer\n"
        "from napari_neural_style.core.features import feature_maps, gram_matrices\n"
        "image = np.random.default_rng(0).random((40, 40, 3), dtype=np.float32)\n"
        "common = dict(size=32, steps=2, weights='random-single', device='cpu')\n"
        "for memory in ('fast', 'lean'):\n"
        "    transfer(image, image, memory=memory, **common)\n"
        "synthesize_texture(image, optimizer='adam', **common)\n"
        "reconstruct(image, 'conv_4', **common)\n"
        "feature_maps(image, weights='random', size=32, device='cpu')\n"
        "gram_matrices(image, weights='random', size=32, device='cpu')\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'triton'\n"
        "             or name.startswith('torch._dynamo')))\n"
    )
    completed = in_python(script)
    assert completed.stdout.strip() == "[]"
