"""Model bundles and the TFLite classifier."""
