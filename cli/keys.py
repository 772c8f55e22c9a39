"""`cmo keys init|rotate|status`: the key-encryption key and the tenants' data keys (storage/keyring.py).

Why a CLI: creating the key file, rotating keys and checking what wraps what are operator tasks done
once per deployment or per security policy period, not requests a tenant makes through the API.
Rotation runs against live processes: they keep decrypting throughout (old KEK versions stay in the
key file; data keys only get re-wrapped) and pick up a new data-key version within seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from cli.common import fail, load_settings

if TYPE_CHECKING:
    from foundation.settings import Settings

keys_app = typer.Typer(help="Encryption at rest: the key-encryption key and the tenants' data keys.", no_args_is_help=True)
T = TypeVar("T")


def _guarded(action: Callable[[], T]) -> T:
    """Key and database problems are one red line with what to do, never a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from privacy.crypto import KeyringError

    try:
        return action()
    except KeyringError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc.__class__.__name__
        fail(f"key database: {cause} (is it reachable, and migrated with `cmo db upgrade`?)")


def _require_key_file(settings: Settings) -> None:
    """Status and rotation never create a key file as a side effect (`cmo keys init` would then refuse)."""
    from privacy.key_providers import default_kek_file

    path = default_kek_file(settings)
    if settings.cmo_key_provider == "local" and not path.exists():
        fail(f"no key file at {path} yet: run `cmo keys init` (the embedded mode also creates it on first use)")


def _provider_name(settings: Settings) -> str:
    from privacy.key_providers import default_kek_file

    if settings.cmo_key_provider == "aws-kms":
        return f"aws-kms (key {settings.cmo_kms_key_id})"
    return f"local key file {default_kek_file(settings)}"


@keys_app.command("init")
def keys_init() -> None:
    """Create the local key-encryption key file (refuses to overwrite one), or check the KMS key."""
    from privacy.key_providers import LocalKeyFileProvider, default_kek_file, kms_provider

    settings = load_settings()
    if settings.cmo_key_provider == "aws-kms":
        metadata = _guarded(lambda: kms_provider(settings).describe())
        if not metadata.get("Enabled", False):
            fail(f"KMS key {metadata.get('Arn')} is {metadata.get('KeyState', 'not enabled')}")
        typer.echo(f"KMS key {metadata.get('Arn')} is enabled and reachable; nothing to create")
        return
    path = default_kek_file(settings)
    provider = _guarded(lambda: LocalKeyFileProvider.create(path))
    typer.echo(f"created key file {path} (mode 600), key id {provider.key_id}")
    typer.echo("back it up: without it the encrypted data cannot be read; every machine sharing DATABASE_URL needs a copy")


@keys_app.command("rotate")
def keys_rotate(
    data_keys: Annotated[
        bool, typer.Option("--data-keys", help="Also start a new data-key version per tenant for new writes.")
    ] = False,
    kms_key_id: Annotated[
        str | None, typer.Option("--kms-key-id", help="aws-kms: the KMS key to re-wrap every data key under.")
    ] = None,
) -> None:
    """Re-wrap every data key under a new KEK version (local) or KMS key; old ciphertexts stay readable."""
    from privacy.key_providers import KeyProvider, LocalKeyFileProvider, kms_provider
    from storage.keyring import open_keyring

    settings = load_settings()
    if kms_key_id is not None and settings.cmo_key_provider != "aws-kms":
        fail("--kms-key-id needs CMO_KEY_PROVIDER=aws-kms (the local provider rotates its own key file)")
    _require_key_file(settings)
    keyring = _guarded(lambda: open_keyring(settings))
    try:
        if isinstance(keyring.provider, LocalKeyFileProvider):
            local = keyring.provider
            target: KeyProvider = local
            typer.echo(f"new KEK {_guarded(local.add_version)} in {local.path} (old versions kept)")
        else:
            target = _guarded(lambda: kms_provider(settings, kms_key_id))
        rewrapped = _guarded(lambda: keyring.rewrap(target))
        typer.echo(f"re-wrapped {rewrapped} key(s) under {target.key_id}")
        if data_keys:
            started = _guarded(keyring.start_new_data_keys)
            listed = ", ".join(f"{tenant} v{version}" for tenant, version in started.items()) or "no tenants yet"
            typer.echo(f"new data keys for new writes: {listed}")
    finally:
        keyring.close()
    if kms_key_id and kms_key_id != settings.cmo_kms_key_id:
        typer.echo(f"now set CMO_KMS_KEY_ID={kms_key_id} everywhere, so new keys are wrapped by it")


@keys_app.command("status")
def keys_status() -> None:
    """Provider, KEK id, and every tenant's key versions (never key material)."""
    from storage.keyring import DATA, INDEX, open_keyring

    settings = load_settings()
    _require_key_file(settings)
    keyring = _guarded(lambda: open_keyring(settings))
    try:
        keys = _guarded(keyring.status)
        typer.echo(f"provider: {_provider_name(settings)}")
        typer.echo(f"KEK id for new keys: {keyring.provider.key_id}")
        typer.echo(f"key table: {keyring.where}")
    finally:
        keyring.close()
    versions: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for key in keys:
        versions[key.tenant_id][key.purpose].append(key.version)
    stale = sorted({key.kek_id for key in keys if key.kek_id != keyring.provider.key_id})
    typer.echo(f"tenants: {len(versions)}")
    for tenant, purposes in versions.items():
        data = purposes.get(DATA, [])
        data_line = f"data keys v{', v'.join(map(str, data))} (new writes: v{max(data)})" if data else "no data key yet"
        typer.echo(f"  {tenant}: {data_line}; {'index key' if purposes.get(INDEX) else 'no index key yet'}")
    if stale:
        typer.echo(f"keys still wrapped by older KEKs: {', '.join(stale)} (run `cmo keys rotate`)")
