"""Built-in optimizers, one module per family; each registers itself on import."""
