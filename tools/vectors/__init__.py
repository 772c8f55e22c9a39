"""Embeddings and vector stores (issue 15): the interface in `base`, adapters beside it."""
