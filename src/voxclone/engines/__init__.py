"""Inference engines: small protocols, a lazy registry, one module per engine."""
