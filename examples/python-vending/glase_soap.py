"""The five Glase Payment API (SOAP 1.1) calls a vending backend needs.

Python 3 standard library only. Glase speaks SOAP 1.1, document/literal: every call is
a POST of an envelope to one URL, and every answer carries a numeric `resultCode`
(0 is success). A generated client (JAX-WS, .NET `svcutil`, PHP `SoapClient`) does the
same from the WSDL at `<GLASE_URL>?wsdl`; what matters is what goes *into* the calls
(the client context, the invoice) and how the answers are read, which is this file.
"""

import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from decimal import Decimal
from xml.sax.saxutils import escape

NS = "http://external.interfaces.ers.seamless.com/"

# Result codes after which Glase did nothing and asking again later is right:
# 90 SYSTEM_ERROR, 93 SYSTEM_BUSY, 94 SERVICE_UNAVAILABLE (spec 3.5).
TRANSIENT_CODES = {90, 93, 94}


class Reply:
    """A Glase answer. `code` is the resultCode, or None when there was no usable answer
    (connection refused or dropped, timeout, HTTP error, SOAP fault). After None you do
    not know whether Glase did the call: see commit_reservation's caller in backend.py."""

    def __init__(self, code, fields=None, error=""):
        self.code, self.fields, self.error = code, fields or {}, error

    @property
    def ok(self):
        return self.code == 0

    @property
    def retryable(self):
        return self.code is None or self.code in TRANSIENT_CODES

    def __str__(self):
        if self.code is None:
            return f"no answer ({self.error})"
        return f"resultCode {self.code} {self.fields.get('resultDescription', '')}".strip()


def with_retries(call, attempts=3, pause=0.5):
    """Runs `call()` until it gets a definite answer, at most `attempts` times. Only for
    calls that are safe to repeat: getPaymentStatus, updateInvoice (the same rows again),
    cancelInvoice (a repeat answers 95 INVOICE_ALREADY_CANCELED). Never sendInvoice (a
    second invoice) nor commitReservation (ask getPaymentStatus instead)."""
    reply = call()
    for attempt in range(1, attempts):
        if not reply.retryable:
            break
        time.sleep(pause * attempt)
        reply = call()
    return reply


def money(value):
    """Money is decimal text with two decimals, never a float."""
    return str(Decimal(value).quantize(Decimal("0.01")))


def amount_xml(tag, value, currency):
    return f"<{tag}><currency>{currency}</currency><value>{money(value)}</value></{tag}>"


def invoice_xml(*, title, client_invoice_id, cashier_id, rows, total, currency,
                payment_mode="RESERVATION_REQUIRED", notification_url=None):
    """An invoice (spec 3.3). The rows' itemTotalAmount must add up to totalAmount; title,
    clientInvoiceId, cashierId and issueDate are documented as required."""
    issue_date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    row_xml = "".join(
        "<invoiceRow>"
        f"<itemDescription>{escape(r['description'])}</itemDescription>"
        f"<itemQuantity>{r['quantity']}</itemQuantity>"
        + (f"<itemSKU>{escape(r['sku'])}</itemSKU>" if r.get("sku") else "")
        + amount_xml("itemTotalAmount", r["total"], currency)
        + (amount_xml("itemUnitPrice", r["unitPrice"], currency) if r.get("unitPrice") else "")
        + "</invoiceRow>"
        for r in rows)
    return (
        "<invoice>"
        f"<paymentMode>{payment_mode}</paymentMode>"
        "<acknowledgmentMode>NO_ACKNOWLEDGMENT</acknowledgmentMode>"
        f"<issueDate>{issue_date}</issueDate>"
        f"<title>{escape(title)}</title>"
        f"<clientInvoiceId>{escape(client_invoice_id)}</clientInvoiceId>"
        f"<invoiceRows>{row_xml}</invoiceRows>"
        + amount_xml("totalAmount", total, currency)
        + f"<cashierId>{escape(cashier_id)}</cashierId>"
        + (f"<notificationUrl>{escape(notification_url)}</notificationUrl>" if notification_url else "")
        + "</invoice>")


class Glase:
    def __init__(self, url, terminal_id, password, client_id, timeout=10.0):
        self.url, self.terminal_id, self.password = url, terminal_id, password
        self.client_id, self.timeout = client_id, timeout

    def _context(self):
        # Every request: clientRequestTimeout 0 (the protocol requires it; give up with
        # your HTTP client's own timeout instead), a clientId, and a clientReference
        # (at most 32 characters, unique: a UUID's 32 hex digits).
        return (
            "<context><channel>WS</channel>"
            f"<clientId>{escape(self.client_id)}</clientId>"
            f"<clientReference>{uuid.uuid4().hex}</clientReference>"
            "<clientRequestTimeout>0</clientRequestTimeout>"
            f"<initiatorPrincipalId><id>{escape(self.terminal_id)}</id><type>TERMINALID</type>"
            "</initiatorPrincipalId>"
            f"<password>{escape(self.password)}</password></context>")

    def call(self, operation, body, timeout=None):
        envelope = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:ext="{NS}"><soapenv:Body>'
            f"<ext:{operation}>{self._context()}{body}</ext:{operation}>"
            "</soapenv:Body></soapenv:Envelope>").encode("utf-8")
        request = urllib.request.Request(self.url, data=envelope, method="POST", headers={
            "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as answer:
                data = answer.read()
        except urllib.error.HTTPError as error:  # 500 with a SOAP fault, 503, ...
            return Reply(None, error=f"HTTP {error.code}")
        except (OSError, ValueError) as error:  # refused, dropped, timed out
            return Reply(None, error=f"{type(error).__name__}: {error}")
        try:
            root = ET.fromstring(data)
        except ET.ParseError:
            return Reply(None, error="the answer is not XML")
        # Children of <return> are unqualified; only their local names matter.
        result = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "return"), None)
        if result is None:
            return Reply(None, error="no <return> in the answer")
        fields = {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in result}
        try:
            return Reply(int(fields.get("resultCode", "")), fields)
        except ValueError:
            return Reply(None, fields, error="no resultCode")

    # --- the operations of seed 000 ---

    def send_invoice(self, invoice, timeout=None):
        return self.call("sendInvoice", invoice, timeout)

    def get_payment_status(self, reference, version=0):
        return self.call("getPaymentStatus", f"<invoiceReference>{escape(reference)}</invoiceReference>"
                                             f"<invoiceVersion>{int(version)}</invoiceVersion>")

    def update_invoice(self, reference, invoice):
        return self.call("updateInvoice", f"<invoiceReference>{escape(reference)}</invoiceReference>{invoice}")

    def commit_reservation(self, reference, amount, currency):
        return self.call("commitReservation", f"<invoiceReference>{escape(reference)}</invoiceReference>"
                                              + amount_xml("amount", amount, currency))

    def cancel_invoice(self, reference):
        return self.call("cancelInvoice", f"<invoiceReference>{escape(reference)}</invoiceReference>")
