"""Datasets for training: reading images, loading folders, duplicates, leak-free splits."""
