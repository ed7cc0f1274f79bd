"""Text, tokenizers and batches, and the training loop with its checkpoints, torchrun support
and clean stop (lessons 05-06)."""
