"""Export: a training run -> float32 and int8 TFLite model bundle, checked on the test split."""
from trainer.export.export import ExportConfig, export_bundle

__all__ = ["ExportConfig", "export_bundle"]
