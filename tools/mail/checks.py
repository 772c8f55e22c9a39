"""Deliverability checks before a message is built: is this an address we may and can send to?

- Syntax and internationalised domains (`email-validator`, no DNS): the address is sent to in its
  ASCII form (IDNA domain). A non-ASCII local part would need SMTPUTF8 from every relay on the way,
  so it is refused rather than risked.
- Role accounts (info@, sales@, ...) reach a team, not the person whose public work we cite:
  refused unless a person approved that very draft.
- Disposable domains: the blocklist of the maintained `disposable-email-domains` package
  (github.com/disposable-email-domains/disposable-email-domains, MIT); a subdomain of a listed
  domain counts as listed.
- MX (`CMO_SEND_CHECK_MX`, dnspython): the domain must accept mail. No MX record falls back to the
  domain's address records (RFC 5321 §5.1); a "null MX" (RFC 7505) or a domain that does not exist
  is refused; a DNS failure is `CheckUnavailable` (try again later), never a refusal.
"""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver
from disposable_email_domains import blocklist
from email_validator import EmailNotValidError, validate_email

# Local parts that name a function, not a person (RFC 2142's mailbox names and their usual kin).
ROLE_LOCAL_PARTS = frozenset(
    {
        "abuse", "admin", "administrator", "billing", "careers", "contact", "dev", "developers", "devnull",
        "enquiries", "feedback", "hello", "help", "helpdesk", "home", "hostmaster", "hr", "info", "inquiries",
        "it", "jobs", "legal", "mail", "mailer-daemon", "marketing", "media", "news", "newsletter", "no-reply",
        "noc", "noreply", "do-not-reply", "donotreply", "office", "ops", "postmaster", "press", "privacy",
        "root", "sales", "security", "service", "support", "sysadmin", "team", "webmaster", "www",
    }
)  # fmt: skip


class Undeliverable(ValueError):
    """We must not send to this address; `code` is the reason recorded in sends.jsonl."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class CheckUnavailable(RuntimeError):
    """A check could not be made now (DNS down): neither sent nor refused."""


def deliverable_address(email: str) -> str:
    """The address in the ASCII form to send to; `Undeliverable("invalid_address")` otherwise."""
    try:
        checked = validate_email(email, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise Undeliverable("invalid_address", str(exc)) from None
    return checked.ascii_email or checked.normalized


def is_role_account(address: str) -> bool:
    """info@, sales@, noreply@ ... (a `+tag` or `-` / `.` spelling variants count too)."""
    local = address.rsplit("@", 1)[0].split("+", 1)[0].lower()
    return local in ROLE_LOCAL_PARTS or local.replace(".", "-").replace("_", "-") in ROLE_LOCAL_PARTS


def is_disposable(domain: str) -> bool:
    labels = domain.lower().rstrip(".").split(".")
    return any(".".join(labels[i:]) in blocklist for i in range(len(labels) - 1))


async def check_mx(domain: str, resolver: dns.asyncresolver.Resolver, *, timeout: float = 5.0) -> None:
    """Whether the domain accepts mail (see the module docstring)."""
    try:
        answer = await resolver.resolve(domain, "MX", lifetime=timeout)
    except dns.resolver.NXDOMAIN:
        raise Undeliverable("no_such_domain", f"{domain} does not exist (DNS)") from None
    except dns.resolver.NoAnswer:
        await _implicit_mx(domain, resolver, timeout)
        return
    except dns.exception.DNSException as exc:
        raise CheckUnavailable(f"MX lookup of {domain} failed: {exc}") from None
    if all(record.exchange == dns.name.root for record in answer):
        raise Undeliverable("null_mx", f"{domain} publishes a null MX: it accepts no mail (RFC 7505)")


async def _implicit_mx(domain: str, resolver: dns.asyncresolver.Resolver, timeout: float) -> None:
    """No MX: the domain's own A or AAAA record is its mail host (RFC 5321 §5.1)."""
    for rdtype in ("A", "AAAA"):
        try:
            await resolver.resolve(domain, rdtype, lifetime=timeout)
            return
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            continue
        except dns.exception.DNSException as exc:
            raise CheckUnavailable(f"address lookup of {domain} failed: {exc}") from None
    raise Undeliverable("no_mx", f"{domain} has neither an MX nor an address record")
