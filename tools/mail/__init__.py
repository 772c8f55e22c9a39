"""Sending email: the transport interface (`sender`), SMTP (`smtp`), DKIM (`signing`), message
building with the RFC 8058 headers (`message`), deliverability checks (`checks`), the exactly-once
outbox with caps and the kill switch (`outbox`), which step of a sequence is due (`sequence`), the
loop that ties them (`dispatch`), and what comes back: bounces, complaints and replies (`inbox`).

The CLI's `cmo send` and `cmo inbox import` use it today; the service's send routes are to use the
same pieces (with an outbox in its own database).
"""
