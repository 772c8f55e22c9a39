"""Klaviyo API contract stub (revision 2026-10-15, JSON:API), shapes from Klaviyo's reference:
- profiles: https://developers.klaviyo.com/en/reference/get_profiles (`filter` with `any(email,[...])`,
  `any(external_id,[...])`, `greater-than(updated,...)`; `page[size]` up to 100; `page[cursor]`,
  `links.next`; `additional-fields[profile]=subscriptions`);
- upsert: https://developers.klaviyo.com/en/reference/create_or_update_profile (`POST /api/profile-import`,
  201 created / 200 updated);
- lists: https://developers.klaviyo.com/en/reference/get_lists, create_list, add_profiles_to_list
  (`POST /api/lists/{id}/relationships/profiles`, 204);
- erasure: https://developers.klaviyo.com/en/reference/request_profile_deletion
  (`POST /api/data-privacy-deletion-jobs`, 202; Klaviyo deletes asynchronously, this stub at once);
- errors: https://developers.klaviyo.com/en/reference/api_overview#errors (`errors[]` with id,
  status, code, title, detail, source; 429 with Retry-After). Requests carry
  `Authorization: Klaviyo-API-Key ...` and a `revision` header.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

from tests.support.destination_stubs import ContractStub, Reply, StubRequest, paginate, route

ANY = re.compile(r"any\((\w+),\[(.*)\]\)")
EQUALS = re.compile(r'equals\((\w+),"(.*)"\)')
AFTER = re.compile(r"greater-than\(updated,(.+)\)")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _subscriptions() -> dict[str, Any]:
    return {"email": {"marketing": {"consent": "NEVER_SUBSCRIBED", "suppression": [], "list_suppressions": []}}}


def _error(status: int, code: str, title: str, detail: str) -> Reply:
    return status, {
        "errors": [
            {
                "id": "e4eebb08-b055-4a6f-bb13-c8cb69c9eb94",
                "status": status,
                "code": code,
                "title": title,
                "detail": detail,
                "source": {"pointer": "/data/"},
            }
        ]
    }


class KlaviyoStub(ContractStub):
    def __init__(self, token: str = "pk_stub") -> None:
        super().__init__(token)
        self.profiles: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, dict[str, Any]] = {}
        self.deletion_jobs: list[dict[str, Any]] = []
        self.page_cap = 2
        self._ids = itertools.count(1)

    def expected_auth(self) -> dict[str, str]:
        return {"authorization": f"Klaviyo-API-Key {self.token}", "revision": "2026-10-15"}

    def auth_failure(self) -> Reply:
        return _error(
            401, "not_authenticated", "Authentication credentials were not provided.", "Missing or invalid private key."
        )

    def _filtered(self, expression: str) -> list[dict[str, Any]]:
        if match := ANY.fullmatch(expression):
            field, values = match[1], {v.strip('"').lower() for v in re.findall(r'"(?:[^"\\]|\\.)*"', match[2])}
            return [p for p in self.profiles.values() if str(p["attributes"].get(field)).lower() in values]
        if match := AFTER.fullmatch(expression):
            since = datetime.fromisoformat(match[1].replace("Z", "+00:00"))
            return [
                p
                for p in self.profiles.values()
                if datetime.fromisoformat(p["attributes"]["updated"].replace("Z", "+00:00")) >= since
            ]
        raise ValueError(expression)

    @route("GET", r"/api/profiles")
    def get_profiles(self, request: StubRequest) -> Reply:
        try:
            found = self._filtered(request.query.get("filter", ""))
        except ValueError:
            return _error(400, "invalid", "Invalid input.", "The filter is not supported.")
        size = min(int(request.query.get("page[size]", 20)), self.page_cap)
        page = paginate(found, request.query.get("page[cursor]"), size)
        extra = request.query.get("additional-fields[profile]") == "subscriptions"
        data = [
            p if extra else {**p, "attributes": {k: v for k, v in p["attributes"].items() if k != "subscriptions"}}
            for p in page.items
        ]
        following = f"{self.url}/api/profiles/?page%5Bcursor%5D={page.next_cursor}" if page.next_cursor else None
        return 200, {"data": data, "links": {"self": f"{self.url}/api/profiles/", "next": following, "prev": None}}

    @route("POST", r"/api/profile-import")
    def profile_import(self, request: StubRequest) -> Reply:
        data = request.body["data"]
        attributes = data.get("attributes", {})
        existing = self.profiles.get(data.get("id", "")) or next(
            iter(self._filtered(f'any(email,["{attributes.get("email", "")}"])')), None
        )
        if existing is None and "reject" in str(attributes.get("email")):
            return _error(400, "invalid", "Invalid input.", "Invalid email address")
        status = 200 if existing else 201
        if existing is None:
            profile_id = f"01GDDKASAP8TKDDA2GRZDSVP4{next(self._ids):X}"
            existing = {
                "type": "profile",
                "id": profile_id,
                "attributes": {"created": _now(), "subscriptions": _subscriptions(), "properties": {}},
            }
            self.profiles[profile_id] = existing
        properties = attributes.pop("properties", {})
        existing["attributes"].update(attributes, updated=_now())
        existing["attributes"]["properties"].update(properties)
        return status, {"data": existing, "links": {"self": f"{self.url}/api/profiles/{existing['id']}/"}}

    @route("GET", r"/api/lists")
    def get_lists(self, request: StubRequest) -> Reply:
        match = EQUALS.fullmatch(request.query.get("filter", ""))
        found = [lst for lst in self.lists.values() if not match or lst["attributes"]["name"] == match[2]]
        return 200, {
            "data": [{k: v for k, v in lst.items() if k != "members"} for lst in found],
            "links": {"self": f"{self.url}/api/lists/", "next": None, "prev": None},
        }

    @route("POST", r"/api/lists")
    def create_list(self, request: StubRequest) -> Reply:
        list_id = f"Y6nRLr{next(self._ids)}"
        self.lists[list_id] = {
            "type": "list",
            "id": list_id,
            "attributes": {"name": request.body["data"]["attributes"]["name"], "created": _now()},
            "members": set(),
        }
        return 201, {"data": {k: v for k, v in self.lists[list_id].items() if k != "members"}}

    @route("POST", r"/api/lists/(?P<list_id>\w+)/relationships/profiles")
    def add_to_list(self, request: StubRequest, list_id: str) -> Reply:
        if list_id not in self.lists:
            return _error(404, "not_found", "Not found.", f"A list with id {list_id} does not exist.")
        self.lists[list_id]["members"].update(item["id"] for item in request.body["data"])
        return 204, None

    @route("POST", r"/api/data-privacy-deletion-jobs")
    def deletion_job(self, request: StubRequest) -> Reply:
        profile = request.body["data"]["attributes"]["profile"]["data"]
        self.deletion_jobs.append(profile)
        email = profile.get("attributes", {}).get("email")
        doomed = [profile["id"]] if "id" in profile else [p["id"] for p in self._filtered(f'any(email,["{email}"])')]
        for profile_id in doomed:
            self.profiles.pop(profile_id, None)
        return 202, None

    @route("GET", r"/api/accounts")
    def accounts(self, request: StubRequest) -> Reply:
        info = {"default_sender_name": "Stub", "organization_name": "Stub Org"}
        return 200, {
            "data": [{"type": "account", "id": "AbC123", "attributes": {"contact_information": info}}],
            "links": {"self": f"{self.url}/api/accounts/"},
        }

    # --- what the shared contract test drives ------------------------------------------------------
    def _by_email(self, email: str) -> dict[str, Any]:
        return self._filtered(f'any(email,["{email}"])')[0]

    def count(self) -> int:
        return len(self.profiles)

    def has(self, email: str) -> bool:
        return bool(self._filtered(f'any(email,["{email}"])'))

    def seed(self, email: str, github_url: str, company: str) -> str:
        attributes = {
            "email": email,
            "external_id": github_url,
            "organization": company,
            "last_name": "Seeded",
            "updated": _now(),
            "properties": {},
            "subscriptions": _subscriptions(),
        }
        profile_id = f"01SEEDED{next(self._ids)}"
        self.profiles[profile_id] = {"type": "profile", "id": profile_id, "attributes": attributes}
        return profile_id

    def unsubscribe(self, email: str) -> None:
        profile = self._by_email(email)
        profile["attributes"]["subscriptions"]["email"]["marketing"].update(consent="UNSUBSCRIBED", consent_timestamp=_now())
        profile["attributes"]["updated"] = _now()

    def bounce(self, email: str) -> None:
        profile = self._by_email(email)
        profile["attributes"]["subscriptions"]["email"]["marketing"]["suppression"].append(
            {"reason": "HARD_BOUNCE", "timestamp": _now()}
        )
        profile["attributes"]["updated"] = _now()

    def in_list(self, list_id: str) -> set[str]:
        return set(self.lists[list_id]["members"])
