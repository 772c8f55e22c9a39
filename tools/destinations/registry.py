"""Platform name -> connector factory. One line per connector; nothing is imported until it is used,
so `cmo --help` and the service never load a vendor SDK they do not need.

A connector module `tools/destinations/<module>.py` exposes:

    DEFAULT_MAPPING: FieldMapping                       # what leaves when the config names no mapping
    def create(config: DestinationConfig) -> Destination

and is registered below as `"<platform>": connector("<module>")`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import cast

from tools.destinations.base import Destination
from tools.destinations.config import DestinationConfig, DestinationConfigError
from tools.destinations.mapping import FieldMapping


@dataclass(frozen=True)
class Connector:
    """A lazily imported connector module: call it with a config for a `Destination`."""

    module: str

    def _load(self) -> object:
        return importlib.import_module(f"tools.destinations.{self.module}")

    def __call__(self, config: DestinationConfig) -> Destination:
        return cast(Destination, self._load().create(config))  # type: ignore[attr-defined]

    def default_mapping(self) -> FieldMapping:
        return cast(FieldMapping, self._load().DEFAULT_MAPPING)  # type: ignore[attr-defined]


def connector(module: str) -> Connector:
    return Connector(module)


FACTORIES: dict[str, Connector] = {
    "hubspot": connector("hubspot"),
    "salesforce": connector("salesforce"),
    "pipedrive": connector("pipedrive"),
    "zoho": connector("zoho"),
    "marketo": connector("marketo"),
    "mailchimp": connector("mailchimp"),
    "klaviyo": connector("klaviyo"),
    "activecampaign": connector("activecampaign"),
    "google_analytics": connector("google_analytics"),
    "mixpanel": connector("mixpanel"),
    "amplitude": connector("amplitude"),
    "segment": connector("segment"),
}


def _registered(platform: str) -> Connector:
    try:
        return FACTORIES[platform]
    except KeyError:
        raise DestinationConfigError(f"unknown platform {platform!r}; known: {', '.join(sorted(FACTORIES))}") from None


def build(config: DestinationConfig) -> Destination:
    """The connector the config's platform names, configured."""
    return _registered(config.platform)(config)


def mapping_for(config: DestinationConfig) -> FieldMapping:
    """The config's mapping, else the connector's default."""
    return config.mapping if config.mapping is not None else _registered(config.platform).default_mapping()
