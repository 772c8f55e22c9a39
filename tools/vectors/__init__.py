"""Embeddings and vector stores (issue 15): the interface in `base`, adapters beside it, and the
factories (`open_embedder`, `open_vector_store`, `embedder_note`, `forget_person_vectors`) in `factory`."""
