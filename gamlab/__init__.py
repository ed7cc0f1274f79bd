"""gamlab: an interactive lab for the Gated Associative Memory (GAM) sequence model.

    from gamlab import ModelConfig, GAMBlock, build_model
    model = build_model("gam", ModelConfig.preset("tiny"))
"""

from .blocks.conv import CausalConv1d, receptive_field
from .blocks.gam import GAMBlock
from .blocks.mamba import MambaBlock, MambaMixer
from .blocks.memory import AssociativeMemory
from .blocks.transformer import TransformerBlock
from .config import ModelConfig
from .errors import GamlabError
from .model import LanguageModel, build_model, list_models
from .runtime import autocast, describe, fast_mode, pick_device, seed_everything
from .training.data import load_data
from .training.run_folder import load_run
from .training.train import Trainer
from .training.train_config import TrainConfig

__version__ = "0.1.0"

__all__ = [
    "AssociativeMemory", "CausalConv1d", "GAMBlock", "GamlabError", "LanguageModel", "MambaBlock",
    "MambaMixer", "ModelConfig", "TrainConfig", "Trainer", "TransformerBlock", "autocast", "build_model", "describe",
    "fast_mode", "list_models", "load_data", "load_run", "pick_device", "receptive_field", "seed_everything",
]
