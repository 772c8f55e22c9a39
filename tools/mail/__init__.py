"""Sending email: the transport interface (`sender`), SMTP (`smtp`), DKIM (`signing`), message
building with the RFC 8058 headers (`message`), deliverability checks (`checks`), the exactly-once
outbox with caps and the kill switch (`outbox`), which step of a sequence is due (`sequence`), the
loop that ties them (`dispatch`), and what comes back: bounces, complaints and replies (`inbox`).

The CLI's `cmo send` and `cmo inbox import` use it with the SQLite outbox; the service's send routes
(`api.services.sends`) run the same loop over an outbox in the service database (`OutboxStore`).
"""
