"""Talks G-code to Marlin on a RAMPS 1.4 (and hosts a virtual Marlin); knows nothing of images or models."""
