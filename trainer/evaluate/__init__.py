"""Evaluation of a model bundle on any labelled folder, the way the device runs it."""
from trainer.evaluate.evaluate import EvaluationReport, evaluate_bundle

__all__ = ["EvaluationReport", "evaluate_bundle"]
