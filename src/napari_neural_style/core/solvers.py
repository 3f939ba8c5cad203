"""The two optimizers, on one image tensor, one gradient evaluation a step.

Step for step what ``torch.optim.LBFGS(max_iter=1, tolerance_grad=0, tolerance_change=0)`` and
``torch.optim.Adam`` do to one CPU or GPU tensor (tests hold them equal bit for bit), written
here because constructing any ``torch.optim`` optimizer imports ``torch._dynamo``, and with it
triton: more resident memory than a 512 px step's feature maps, and a second of a two-core
CPU, in every process that runs.  (Importing torchvision
does too: only a download of the ImageNet weights needs it, core/weights.py.)

Each ``step()`` reads the gradient the caller left in ``pixels.grad`` and moves ``pixels`` in
place.
"""

from __future__ import annotations

import torch


class LBFGS:
    """Limited-memory BFGS without a line search (Nocedal & Wright 2006, Algorithm 7.4).

    With the gradient ``g``, the last ``history`` steps ``s_i`` and gradient changes ``y_i``
    (a pair is kept only if ``y.s > 1e-10``, so that the curvature is positive) and
    ``rho_i = 1 / y_i.s_i``, the two-loop recursion gives the direction ``d = -H g``:
    ``q = -g``; newest to oldest ``a_i = rho_i s_i.q``, ``q -= a_i y_i``; ``r = gamma q`` with
    ``gamma = s.y / y.y`` of the newest pair; oldest to newest ``b = rho_i y_i.r``,
    ``r += (a_i - b) s_i``.  The step is ``x += t d`` with ``t = lr``, and on the first step
    ``t = min(1, 1 / |g|_1) lr``.  A direction that does not descend (``g.d > 0``) is not
    taken.
    """

    def __init__(self, pixels: torch.Tensor, lr: float, history: int):
        self.pixels, self.lr, self.history = pixels, lr, history
        self.steps_taken = 0
        self.moves: list[torch.Tensor] = []  # s_i
        self.changes: list[torch.Tensor] = []  # y_i
        self.inverse_curvatures: list[torch.Tensor] = []  # rho_i
        self.gamma: float | torch.Tensor = 1
        self.direction = self.length = self.last_gradient = None

    @torch.no_grad()
    def step(self) -> None:
        gradient = self.pixels.grad.reshape(-1)
        if gradient.abs().max() <= 0:
            return  # a stationary point: torch's LBFGS stops here without counting a step
        self.steps_taken += 1
        if self.steps_taken == 1:
            self.direction = gradient.neg()
        else:
            self._remember(gradient.sub(self.last_gradient), self.direction.mul(self.length))
            self.direction = self._two_loop(gradient)
        if self.last_gradient is None:
            self.last_gradient = gradient.clone(memory_format=torch.contiguous_format)
        else:
            self.last_gradient.copy_(gradient)
        self.length = min(1.0, 1.0 / gradient.abs().sum()) * self.lr \
            if self.steps_taken == 1 else self.lr
        if gradient.dot(self.direction) > 0:
            return  # not a descent direction
        self.pixels.add_(self.direction.view_as(self.pixels), alpha=self.length)

    def _remember(self, change: torch.Tensor, move: torch.Tensor) -> None:
        """Keep the pair ``(s, y)`` if its curvature ``y.s`` is positive, the oldest going."""
        curvature = change.dot(move)
        if curvature <= 1e-10:
            return
        if len(self.changes) == self.history:
            for kept in (self.changes, self.moves, self.inverse_curvatures):
                kept.pop(0)
        self.changes.append(change)
        self.moves.append(move)
        self.inverse_curvatures.append(1.0 / curvature)
        self.gamma = curvature / change.dot(change)

    def _two_loop(self, gradient: torch.Tensor) -> torch.Tensor:
        """``-H g`` by the two-loop recursion.

        The factors stay 0-dim tensors (``addcmul_``): as ``add_``'s ``alpha`` each would be
        copied to the host, a wait for the GPU at every pair (the same bits either way).
        """
        pairs = len(self.changes)
        alphas: list[torch.Tensor] = [None] * pairs
        q = gradient.neg()
        for i in range(pairs - 1, -1, -1):
            alphas[i] = self.moves[i].dot(q) * self.inverse_curvatures[i]
            q.addcmul_(self.changes[i], alphas[i], value=-1)
        r = torch.mul(q, self.gamma)
        for i in range(pairs):
            beta = self.changes[i].dot(r) * self.inverse_curvatures[i]
            r.addcmul_(self.moves[i], alphas[i] - beta)
        return r


class Adam:
    """Adam (Kingma & Ba 2015): ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2`` and
    ``x -= lr / (1 - b1^k) m / (sqrt(v) / sqrt(1 - b2^k) + eps)`` at step ``k``."""

    def __init__(self, pixels: torch.Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.pixels, self.lr, self.betas, self.eps = pixels, lr, betas, eps
        self.steps_taken = 0
        self.mean = torch.zeros_like(pixels, memory_format=torch.preserve_format)
        self.square = torch.zeros_like(pixels, memory_format=torch.preserve_format)

    @torch.no_grad()
    def step(self) -> None:
        gradient = self.pixels.grad
        beta1, beta2 = self.betas
        self.steps_taken += 1
        self.mean.lerp_(gradient, 1 - beta1)
        self.square.mul_(beta2).addcmul_(gradient, gradient, value=1 - beta2)
        step_size = self.lr / (1 - beta1 ** self.steps_taken)
        denominator = (self.square.sqrt() / (1 - beta2 ** self.steps_taken) ** 0.5).add_(self.eps)
        self.pixels.addcdiv_(self.mean, denominator, value=-step_size)
