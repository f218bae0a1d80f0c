"""Workstation side: datasets, audit, leak-free splits, transfer learning, export, evaluation."""
