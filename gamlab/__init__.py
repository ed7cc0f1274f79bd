"""gamlab: an interactive lab for the Gated Associative Memory (GAM) sequence model.

    from gamlab import ModelConfig, GAMBlock, build_model
    model = build_model("gam", ModelConfig.preset("tiny"))
"""

from .config import ModelConfig
from .conv import CausalConv1d, receptive_field
from .errors import GamlabError
from .gam import GAMBlock
from .mamba import MambaBlock, MambaMixer
from .memory import AssociativeMemory
from .model import LanguageModel, build_model, list_models
from .runtime import autocast, describe, fast_mode, pick_device, seed_everything
from .transformer import TransformerBlock

__version__ = "0.1.0"

__all__ = [
    "AssociativeMemory", "CausalConv1d", "GAMBlock", "GamlabError", "LanguageModel", "MambaBlock",
    "MambaMixer", "ModelConfig", "TransformerBlock", "autocast", "build_model", "describe",
    "fast_mode", "list_models", "pick_device", "receptive_field", "seed_everything",
]
