"""The building blocks: causal convolution, associative memory, gating, FFN, and the GAM,
Transformer, Mamba-style and fast-weight blocks (lessons 01-04, 07). `block.py` is the
interface every block offers; `optimized/` holds the optimized forms and the one switch."""
