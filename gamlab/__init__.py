"""gamlab: an interactive lab for the Gated Associative Memory (GAM) sequence model.

    from gamlab import ModelConfig, GAMBlock, build_model
    model = build_model("gam", ModelConfig.preset("tiny"))
"""

from .config import ModelConfig
from .conv import CausalConv1d, receptive_field
from .data import load_data
from .errors import GamlabError
from .gam import GAMBlock
from .mamba import MambaBlock, MambaMixer
from .memory import AssociativeMemory
from .model import LanguageModel, build_model, list_models
from .runtime import autocast, describe, fast_mode, pick_device, seed_everything
from .train import TrainConfig, Trainer, load_run
from .transformer import TransformerBlock

__version__ = "0.1.0"

__all__ = [
    "AssociativeMemory", "CausalConv1d", "GAMBlock", "GamlabError", "LanguageModel", "MambaBlock",
    "MambaMixer", "ModelConfig", "TrainConfig", "Trainer", "TransformerBlock", "autocast", "build_model", "describe",
    "fast_mode", "list_models", "load_data", "load_run", "pick_device", "receptive_field", "seed_everything",
]
