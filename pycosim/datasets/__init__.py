"""Datasets shipped with pycosim (MNIST) and loaders for a user's own copy."""
