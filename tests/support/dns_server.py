"""A tiny authoritative DNS server on 127.0.0.1 (UDP, a thread) for the MX checks: dnspython parses
each query and builds its answer from `records`; unknown names are NXDOMAIN, names under `failing`
answer SERVFAIL."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.asyncresolver
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset


@contextmanager
def dns_server(
    records: dict[str, dict[str, list[str]]], failing: frozenset[str] = frozenset()
) -> Iterator[dns.asyncresolver.Resolver]:
    """Serve `records` ({"acme.dev": {"MX": ["10 mx.acme.dev."]}}); yields a resolver that asks only it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def answer(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        if name in failing:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            values = records[name].get(dns.rdatatype.to_text(question.rdtype), [])
            if values:
                response.answer.append(dns.rrset.from_text_list(question.name, 300, "IN", question.rdtype, values))
        return response

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            sock.sendto(answer(dns.message.from_wire(wire)).to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = sock.getsockname()[1]
    resolver.lifetime = 2.0
    try:
        yield resolver
    finally:
        stop.set()
        thread.join()
        sock.close()
