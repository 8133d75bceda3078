"""Training side of ytrec-infer: data, models, training (needs the `train` extra)."""
