"""Privacy and data protection shared by the CLI, the pipeline and the service.

- `keys` / `crypto` / `kms`: envelope encryption (AES-256-GCM data keys per tenant, wrapped by a
  key-encryption key from a `KeyProvider`: a local key file, or AWS KMS) and keyed blind indexes.
- `pii`: the PII detector used by log masking, the compliance reviewer and artifact masking rules.
"""
