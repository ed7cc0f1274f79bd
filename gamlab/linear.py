"""nn.Linear with the bias added in place after the product, on CPU.

torch's CPU addmm first copies the bias, broadcast, into every row of the output and then
accumulates the product onto it; that broadcast copy is slower than an add over the same
output. At (8192, 128) @ (128, 512), the FFN's widest, the copy alone takes about 1.4 ms,
addmm 4.5 ms, and the product followed by an in-place add of the bias 4.0 ms (forward only;
with the backward, which is the same for both, the gain is within noise on its own,
benchmarks/parts.py "linear"). In the whole GAM block step, with three Linears, it saved
0.3-3.8 ms in five interleaved comparisons. The gradients are the same: the add passes its
gradient through, and the bias gradient is its sum over rows, as in addmm's backward.

On other devices (CUDA's addmm adds the bias inside the matmul) it is nn.Linear.
"""

from __future__ import annotations

import torch
from torch import nn


class Linear(nn.Linear):
    """nn.Linear (same parameters, same function); on CPU the bias is added after the product.

    In float32 the output equals nn.Linear's to rounding. Under CPU bf16 autocast the product is
    bf16 and the float32 bias is added to it in bf16, where nn.Linear adds a bf16 bias inside
    the GEMM; gamlab autocasts only on CUDA, where this is nn.Linear.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None or x.device.type != "cpu":
            return super().forward(x)
        return torch.matmul(x, self.weight.t()).add_(self.bias)
