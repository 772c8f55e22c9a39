"""Privacy and data protection shared by the CLI, the pipeline and the service (map: docs/privacy.md).

- `keys`: the keyring: per-tenant AES-256 data keys (versioned) and blind-index keys, stored wrapped; `tenant_scope`.
- `crypto`: the `enc1:` ciphertext format (AES-256-GCM, authenticated tenant and key version) and blind indexes.
- `providers`: key-encryption-key providers that wrap the data keys: a local key file, or AWS KMS.
- `serde`: encrypted LangGraph checkpoints (a keyring cipher for langgraph's `EncryptedSerializer`).
- `pii`: the PII detector (emails, phones, street addresses, IPs, secrets) used by logs, compliance and masking.
- `masking`: per-tenant masking rules for artifact downloads, and the masks logs use.
- `optout`: signed per-recipient one-click unsubscribe links (`CMO_PUBLIC_URL`, `CMO_UNSUBSCRIBE_SECRET`).
"""
