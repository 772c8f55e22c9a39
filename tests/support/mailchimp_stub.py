"""Mailchimp Marketing API 3.0 contract stub, shapes from Mailchimp's API reference:
- members: https://mailchimp.com/developer/marketing/api/list-members/ (get by subscriber hash, the
  MD5 of the lower-cased address; list with `count`/`offset`/`status`/`since_last_changed`,
  `total_items`; `PATCH` update; `POST .../actions/delete-permanent`, 204);
- batch subscribe: https://mailchimp.com/developer/marketing/api/lists/batch-subscribe-or-unsubscribe/
  (`members`, `update_existing`; `new_members`, `updated_members`, `errors` with `error_code`);
- tags: https://mailchimp.com/developer/marketing/api/list-member-tags/ (`POST .../members/{hash}/tags`,
  `tags: [{name, status: active|inactive}]`, 204);
- errors: https://mailchimp.com/developer/marketing/docs/errors/ (problem JSON: type, title,
  status, detail, instance; 429 TooManyRequests); ping: `GET /ping` health_status.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

from tests.support.destination_stubs import ContractStub, Reply, StubRequest, paginate, route

AUDIENCE = "a1b2c3d4e5"
L = r"/3\.0/lists/" + AUDIENCE


def _hash(email: str) -> str:
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _problem(status: int, title: str, detail: str) -> Reply:
    return status, {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "995c5cb0",
    }


class MailchimpStub(ContractStub):
    def __init__(self, token: str = "0123456789abcdef-us6") -> None:
        super().__init__(token)
        self.members: dict[str, dict[str, Any]] = {}
        self.tagged: dict[str, set[str]] = {}  # tag -> subscriber hashes
        self.forgotten: set[str] = set()
        self.page_cap = 2

    def expected_auth(self) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(f"cmo-agent:{self.token}".encode()).decode()}

    def auth_failure(self) -> Reply:
        return _problem(
            401, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter."
        )

    def _new(self, email: str, status: str, merge_fields: dict[str, Any]) -> Reply | dict[str, Any]:
        if email.lower() in self.forgotten:
            return _problem(400, "Forgotten Email Not Subscribed", f"{email} was permanently deleted and cannot be re-imported.")
        if "reject" in email:
            return _problem(400, "Invalid Resource", f"{email} looks fake or invalid, please enter a real email address.")
        member = {
            "id": _hash(email),
            "email_address": email,
            "status": status,
            "merge_fields": merge_fields,
            "last_changed": _now(),
            "list_id": AUDIENCE,
        }
        self.members[member["id"]] = member
        return member

    @route("GET", r"/3\.0/ping")
    def ping(self, request: StubRequest) -> Reply:
        return 200, {"health_status": "Everything's Chimpy!"}

    @route("GET", L)
    def audience(self, request: StubRequest) -> Reply:
        return 200, {"id": AUDIENCE, "name": "Developers", "stats": {"member_count": len(self.members)}}

    @route("POST", L)
    def batch(self, request: StubRequest) -> Reply:
        created, updated, errors = [], [], []
        for item in request.body["members"]:
            existing = self.members.get(_hash(item["email_address"]))
            if existing and request.body.get("update_existing"):
                existing["merge_fields"].update(item.get("merge_fields", {}))
                updated.append(existing)
            elif existing:
                errors.append(
                    {
                        "email_address": item["email_address"],
                        "error": f"{item['email_address']} is already a list member",
                        "error_code": "ERROR_CONTACT_EXISTS",
                    }
                )
            else:
                member = self._new(item["email_address"], item["status"], item.get("merge_fields", {}))
                if isinstance(member, tuple):
                    errors.append(
                        {"email_address": item["email_address"], "error": member[1]["detail"], "error_code": "ERROR_GENERIC"}
                    )
                else:
                    created.append(member)
        totals = {"total_created": len(created), "total_updated": len(updated), "error_count": len(errors)}
        return 200, {"new_members": created, "updated_members": updated, "errors": errors, **totals}

    @route("GET", L + r"/members/(?P<hash_>[0-9a-f]{32})")
    def member(self, request: StubRequest, hash_: str) -> Reply:
        found = self.members.get(hash_)
        if not found:
            return _problem(404, "Resource Not Found", "The requested resource could not be found.")
        tags = [{"id": i, "name": name} for i, (name, hashes) in enumerate(self.tagged.items()) if hash_ in hashes]
        return 200, {**found, "tags": tags, "tags_count": len(tags)}

    @route("PATCH", L + r"/members/(?P<hash_>[0-9a-f]{32})")
    def update(self, request: StubRequest, hash_: str) -> Reply:
        found = self.members.get(hash_)
        if found is None:
            return _problem(404, "Resource Not Found", "The requested resource could not be found.")
        found["merge_fields"].update(request.body.get("merge_fields", {}))
        found.update(email_address=request.body.get("email_address", found["email_address"]), last_changed=_now())
        if "status" in request.body:
            found["status"] = request.body["status"]
        return 200, found

    @route("GET", L + r"/members")
    def list_members(self, request: StubRequest) -> Reply:
        since = request.query.get("since_last_changed")
        chosen = [
            m
            for m in self.members.values()
            if ("status" not in request.query or m["status"] == request.query["status"])
            and (not since or datetime.fromisoformat(m["last_changed"]) >= datetime.fromisoformat(since))
        ]
        page = paginate(chosen, request.query.get("offset"), min(int(request.query.get("count", 10)), self.page_cap))
        return 200, {"members": page.items, "list_id": AUDIENCE, "total_items": page.total}

    @route("POST", L + r"/members/(?P<hash_>[0-9a-f]{32})/actions/delete-permanent")
    def delete_permanent(self, request: StubRequest, hash_: str) -> Reply:
        gone = self.members.pop(hash_, None)
        if gone is None:
            return _problem(404, "Resource Not Found", "The requested resource could not be found.")
        self.forgotten.add(gone["email_address"].lower())
        return 204, None

    @route("POST", L + r"/members/(?P<hash_>[0-9a-f]{32})/tags")
    def tags(self, request: StubRequest, hash_: str) -> Reply:
        if hash_ not in self.members:
            return _problem(404, "Resource Not Found", "The requested resource could not be found.")
        for tag in request.body["tags"]:
            members = self.tagged.setdefault(tag["name"], set())
            if tag["status"] == "active":
                members.add(hash_)
            else:
                members.discard(hash_)
        return 204, None

    # --- what the shared contract test drives ------------------------------------------------------
    def count(self) -> int:
        return len(self.members)

    def has(self, email: str) -> bool:
        return _hash(email) in self.members

    def seed(self, email: str, github_url: str, company: str) -> str:
        member = self._new(email, "subscribed", {"GITHUB": github_url, "COMPANY": company, "FNAME": "", "LNAME": "Seeded"})
        assert isinstance(member, dict)
        return str(member["id"])

    def unsubscribe(self, email: str) -> None:
        self.members[_hash(email)].update(status="unsubscribed", last_changed=_now())

    def bounce(self, email: str) -> None:
        self.members[_hash(email)].update(status="cleaned", last_changed=_now())

    def in_list(self, list_id: str) -> set[str]:
        return self.tagged.get(list_id, set())
