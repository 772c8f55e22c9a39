"""Finds personal data and credentials in free text: emails, phone numbers, street addresses, IP
addresses and secrets (tokens, keys, passwords).

Why hand-written: the maintained detectors (presidio, scrubadub, detect-secrets, phonenumbers) are
not dependencies of this project, and what we need is narrow — masking log lines, flagging drafts
that quote third parties, masking artifact fields. The patterns are tuned for *developer* text,
where the usual false positives live: versions (`1.2.3.4`, `v2.0.0.1`), dates, times, commit SHAs,
numeric GitHub ids, `git@github.com:org/repo` remotes and `icon@2x.png` files must never be reported.
Each candidate is validated after matching (digit counts, `ipaddress` parsing, date shapes,
context words), because a regex alone cannot tell a phone number from a build number.

Findings never overlap: when two kinds claim the same characters, the higher-priority kind wins
(secret > email > ip > phone > address), so `https://user:pass@host` is one secret, not an email.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, get_args

PiiKind = Literal["secret", "email", "ip", "phone", "address"]
PII_KINDS: tuple[PiiKind, ...] = get_args(PiiKind)  # also the priority order of overlapping findings
PERSONAL_KINDS: frozenset[PiiKind] = frozenset({"email", "ip", "phone", "address"})


@dataclass(frozen=True)
class Finding:
    """One piece of personal data or one secret: what it is, where it is, and the matched text."""

    kind: PiiKind
    start: int
    end: int
    text: str
    detail: str = ""  # e.g. "github_token", "ipv6", "po_box": which pattern found it

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end


# --- secrets ---------------------------------------------------------------------------------------
# (detail, pattern, group): `group` is the part that is the secret (a Bearer header keeps its scheme).
_SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str], int], ...] = tuple(
    (detail, re.compile(pattern, flags), group)
    for detail, pattern, flags, group in (
        ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL, 0),
        ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{30,255}\b", 0, 0),
        ("github_token", r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b", 0, 0),
        ("cmo_api_key", r"\bcmo_sk_[A-Za-z0-9_-]{16,}", 0, 0),
        ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{20,}", 0, 0),
        ("aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b", 0, 0),
        ("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", 0, 0),
        ("slack_webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+", 0, 0),
        ("jwt", r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", 0, 0),
        (
            "authorization",
            r"""\bAuthorization["']?\s*[:=]\s*["']?(?:(?:Bearer|Basic|Digest|token)\s+)?(?!(?:Bearer|Basic|Digest|token)\b)([^\s"'`,;]{6,})""",
            re.IGNORECASE,
            1,
        ),
        ("authorization", r"\b(?:Bearer|Basic)\s+((?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,})", 0, 1),
        ("url_password", r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@", re.IGNORECASE, 1),
        (
            "assignment",
            r"""(?<![\w.-])[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"""
            r"""|credentials?)["']?\s*[:=]\s*["']?([^\s"'&,;)}\]]{3,})""",
            re.IGNORECASE,
            1,
        ),
    )
)
# An assignment (or an Authorization header) whose value is a placeholder ("Bearer <key>"), a
# reference or a plain word from config/logs is not a secret.
_NOT_A_SECRET = re.compile(
    r"^(?:none|null|nil|true|false|yes|no|unset|empty|required|optional|redacted|\*+|x+|\[\w+\]|<[^>]*>|\$\{?\w+\}?|\d{1,6})$",
    re.IGNORECASE,
)

# --- emails ----------------------------------------------------------------------------------------
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@(?:[\w-]+\.)+([A-Za-z]{2,})\b(?![\w-])")
_FILE_SUFFIXES = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "js", "ts", "css", "json", "yaml", "yml", "toml", "lock", "txt", "html"}
)
_SCP_REMOTE = re.compile(r":[\w.~-]*/")  # git@github.com:org/repo.git is a remote, not a mailbox

# --- IP addresses ----------------------------------------------------------------------------------
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])")
_VERSION_CONTEXT = re.compile(r"(?:\bv|\bversion\s*:?\s*|\brelease\s+|\bbuild\s+|[=<>~^@]=?\s*|-)$", re.IGNORECASE)

# --- phone numbers ---------------------------------------------------------------------------------
_SEP = r"[ \t.\-/]"
_PHONE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("international", re.compile(rf"(?<![\w+])(?:\+|00)\d{{1,3}}(?:{_SEP}?\(0?\d{{1,4}}\))?(?:{_SEP}?\d{{1,5}}){{1,6}}(?![\w])")),
    ("north_american", re.compile(r"(?<![\w.\-/+])(?:\([2-9]\d\d\)\s?|[2-9]\d\d[.\- ])[2-9]\d\d[.\- ]\d{4}(?![\w.\-/])")),
    ("national", re.compile(rf"(?<![\w.\-/+])0\d{{1,4}}(?:{_SEP}\(?\d{{2,8}}\)?){{1,4}}(?![\w.\-/])")),
    (
        "labelled",
        re.compile(
            r"(?:\b(?:tel|phone|mobile|cell|fax|telefon|telefono|teléfono|téléphone|tél|handy|whatsapp|gsm)\b\.?\s*"
            r"(?:\([^)]{0,12}\)\s*)?[:.]?\s*)(\+?\d[\d ()./\-]{5,20}\d)",
            re.IGNORECASE,
        ),
    ),
)
_DATE_PREFIX = re.compile(r"^(?:\d{4}([./-])\d{1,2}\1\d{1,2}|\d{1,2}([./-])\d{1,2}\2\d{2,4})(?![./-]?\d)")
_DOTTED_FR = re.compile(r"^0\d(?:\.\d{2}){4}$")  # 06.12.34.56.78; other dotted runs are versions

# --- street addresses ------------------------------------------------------------------------------
_CAP = r"[A-ZÀ-ÖØ-Þ][\w'’.\-]*"
_ADDRESS_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "street_en",
        re.compile(
            rf"\b\d{{1,5}}[A-Za-z]?\s+(?:{_CAP}\s+){{1,4}}"
            r"(?:(?:Street|Avenue|Road|Boulevard|Lane|Drive|Court|Place|Way|Square|Terrace|Parkway|Highway)\b"
            r"|(?:St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Sq|Pkwy|Hwy)\b\.?)"
        ),
    ),
    (
        "street_de_nl",
        re.compile(
            r"(?<![\w\-])[A-ZÄÖÜ][\wäöüß\-]*(?i:straße|strasse|str\.|gasse|weg|platz|allee|straat|laan|plein|gracht"
            r"|kade|singel|dijk)\s+\d{1,4}(?:\s?[a-zA-Z])?\b"
        ),
    ),
    (
        "street_de_words",
        re.compile(rf"(?<![\w'’.\-]){_CAP}\s+(?:Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse)\s+\d{{1,4}}(?:\s?[a-zA-Z])?\b"),
    ),
    (
        "street_fr",
        re.compile(
            r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|allée|impasse|chemin|quai)\s+"
            rf"(?:de\s+la\s+|de\s+l['’]|du\s+|des\s+|de\s+|d['’])?{_CAP}(?:\s+{_CAP}){{0,3}}"
        ),
    ),
    (
        "street_es",
        re.compile(
            r"\b(?:Calle|C/|Avenida|Avda\.?|Plaza|Paseo|Camino|Carrera|Ronda)\s+(?:de\s+(?:la\s+|los\s+|las\s+)?|del\s+)?"
            rf"{_CAP}(?:\s+{_CAP}){{0,3}},?\s+(?:n[º°o]\.?\s*)?\d{{1,4}}\b"
        ),
    ),
    (
        "po_box",
        re.compile(
            r"(?:\bP\.?\s?O\.?\s?Box|\bPost\s+Office\s+Box|\bPostfach|\bBo[îi]te\s+postale|\bB\.P\.|\bApartado(?:\s+de\s+Correos)?"
            r"|\bPostbus)\s+\d{1,6}\b",
            re.IGNORECASE,
        ),
    ),
)


def _secrets(text: str) -> Iterator[Finding]:
    for detail, pattern, group in _SECRET_PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(group)
            if detail in ("assignment", "authorization") and _NOT_A_SECRET.match(value):
                continue
            yield Finding("secret", match.start(group), match.end(group), value, detail)


def _emails(text: str) -> Iterator[Finding]:
    for match in _EMAIL.finditer(text):
        if match.group(1).lower() in _FILE_SUFFIXES or _SCP_REMOTE.match(text, match.end()):
            continue
        yield Finding("email", match.start(), match.end(), match.group(0))


def _looks_like_version(text: str, start: int) -> bool:
    return _VERSION_CONTEXT.search(text[max(0, start - 12) : start]) is not None


def _ips(text: str) -> Iterator[Finding]:
    for pattern, parse, detail in ((_IPV4, ipaddress.IPv4Address, "ipv4"), (_IPV6, ipaddress.IPv6Address, "ipv6")):
        for match in pattern.finditer(text):
            candidate = match.group(0)
            try:
                address = parse(candidate)
            except ValueError:
                continue
            if address.is_loopback or address.is_unspecified or address.is_multicast:
                continue  # never a person's address: 127.0.0.1, 0.0.0.0, ::1 are in every dev log
            if detail == "ipv4" and _looks_like_version(text, match.start()):
                continue
            if detail == "ipv6" and not any(len(group) >= 3 for group in candidate.split(":")):
                continue  # `a::b`, `ab:cd:ef` read as IPv6 but are code
            yield Finding("ip", match.start(), match.end(), candidate, detail)


def _phones(text: str) -> Iterator[Finding]:
    for detail, pattern in _PHONE_PATTERNS:
        for match in pattern.finditer(text):
            group = 1 if pattern.groups else 0
            candidate = match.group(group).rstrip()
            digits = sum(c.isdigit() for c in candidate)
            minimum = 9 if detail == "national" else 8 if detail == "international" else 7
            if not minimum <= digits <= 15 or _DATE_PREFIX.match(candidate):
                continue
            if detail == "international" and candidate.startswith("00") and candidate.isdigit():
                continue  # an unseparated 00… run is an id far more often than a dialled number
            if detail == "national" and candidate.count(".") >= 2 and not _DOTTED_FR.match(candidate):
                continue
            if candidate.count(".") >= 2 and _looks_like_version(text, match.start()):
                continue
            yield Finding("phone", match.start(group), match.start(group) + len(candidate), candidate, detail)


def _addresses(text: str) -> Iterator[Finding]:
    for detail, pattern in _ADDRESS_PATTERNS:
        for match in pattern.finditer(text):
            yield Finding("address", match.start(), match.end(), match.group(0), detail)


_DETECTORS: dict[PiiKind, Callable[[str], Iterator[Finding]]] = {
    "secret": _secrets,
    "email": _emails,
    "ip": _ips,
    "phone": _phones,
    "address": _addresses,
}


def find_pii(text: str, kinds: Iterable[PiiKind] = PII_KINDS) -> list[Finding]:
    """Every finding of the requested kinds, in text order, without overlaps (see the module doc).
    All kinds are detected even when fewer are asked for, so the answer for one kind does not
    depend on the filter (a password in a URL is never reported as an email)."""
    wanted = set(kinds)
    accepted: list[Finding] = []
    remaining = text  # accepted spans blanked out, so a phone cannot run on into an IP it touches
    for kind in PII_KINDS:
        for finding in sorted(_DETECTORS[kind](remaining), key=lambda f: (f.start, -(f.end - f.start))):
            if all(finding.end <= other.start or finding.start >= other.end for other in accepted):
                accepted.append(finding)
                remaining = remaining[: finding.start] + "\x00" * (finding.end - finding.start) + remaining[finding.end :]
    return sorted((f for f in accepted if f.kind in wanted), key=lambda f: f.start)


def replace_pii(text: str, replacement: Callable[[Finding], str], kinds: Iterable[PiiKind] = PII_KINDS) -> str:
    """`text` with every finding replaced by `replacement(finding)`."""
    findings = find_pii(text, kinds)
    if not findings:
        return text
    parts: list[str] = []
    position = 0
    for finding in findings:
        parts += [text[position : finding.start], replacement(finding)]
        position = finding.end
    return "".join(parts) + text[position:]


def redact_secrets(text: str) -> str:
    """`text` with every secret replaced by `[secret]` (error bodies, anything echoed to a client)."""
    return replace_pii(text, lambda _finding: "[secret]", kinds=("secret",))


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def personal_data_except(text: str, own: Iterable[str | None]) -> list[Finding]:
    """Personal data in `text` that is not part of `own` (contact details someone published about
    themselves): an email, address or IP counts as own when it appears in one of them (case and
    spacing aside), a phone number when its last nine digits do (`+49 30 1234567` = `030 1234567`)."""
    known = [" ".join(value.split()).casefold() for value in own if value]
    known_digits = [_digits(value) for value in known]

    def is_own(finding: Finding) -> bool:
        if finding.kind == "phone":
            return any(_digits(finding.text)[-9:] in digits for digits in known_digits)
        normal = " ".join(finding.text.split()).casefold()
        return any(normal in value for value in known)

    return [finding for finding in find_pii(text, PERSONAL_KINDS) if not is_own(finding)]
