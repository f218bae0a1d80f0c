"""Keras -> TFLite: float32 and full-integer int8 conversion, with int8 bias correction.
Export writes bundles with it; phase 2 uses it to train on what the int8 model computes."""
