"""Sending email: the transport interface (`sender`), SMTP (`smtp`), DKIM (`signing`), message
building with the RFC 8058 headers (`message`), deliverability checks (`checks`), the exactly-once
outbox with caps and the kill switch (`outbox`), and the loop that ties them (`dispatch`).

The CLI's `cmo send` uses it today; the service's send routes are to use the same pieces.
"""
