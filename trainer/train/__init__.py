"""Transfer learning: MobileNet features cached per image, a softmax head, optional fine-tuning."""
from trainer.train.config import TrainConfig
from trainer.train.run import run_training

__all__ = ["TrainConfig", "run_training"]
