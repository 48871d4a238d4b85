"""A small, hand-written SOAP 1.1 client for the Glase Payment API (document/literal).

Standard library only. Requests are built as text with escaping; answers are parsed with
xml.etree and read by local name, so any prefix the server chooses is fine.
"""
import http.client
import socket
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from decimal import Decimal
from xml.sax.saxutils import escape

NS = "http://external.interfaces.ers.seamless.com/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


class GlaseError(Exception):
    """Glase refused (non-zero resultCode or SOAP fault) or did not answer."""

    def __init__(self, operation, message, result_code=None, lost=False, fields=None):
        super().__init__(message)
        self.operation = operation
        self.result_code = result_code
        self.lost = lost          # True when we do not know whether Glase acted
        self.fields = fields or {}

    def __str__(self):
        return "%s failed: %s" % (self.operation, self.args[0])


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _el(name, value):
    """One element; value is str/int/Decimal, a list of (name, value) pairs, or None (omitted)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "<%s>%s</%s>" % (name, "".join(_el(n, v) for n, v in value), name)
    return "<%s>%s</%s>" % (name, escape(str(value)), name)


def money(value, currency):
    """An amount element's children: currency then value (WSDL order), value as #.##."""
    return [("currency", currency), ("value", "%s" % Decimal(value).quantize(Decimal("0.01")))]


def _to_dict(elem):
    """Element -> str (leaf) or dict of children (repeated names become lists)."""
    children = list(elem)
    if not children:
        return (elem.text or "")
    out = {}
    for c in children:
        key = _local(c.tag)
        val = _to_dict(c)
        if key in out:
            if not isinstance(out[key], list):
                out[key] = [out[key]]
            out[key].append(val)
        else:
            out[key] = val
    return out


class Client:
    def __init__(self, url, client_id, next_reference, timeout=10.0, log=None):
        self.url = url
        self.client_id = client_id
        self.next_reference = next_reference  # callable returning a fresh clientReference
        self.timeout = timeout
        self.log = log or (lambda *a: None)

    def context(self, principal_id, principal_type, password, user_id=None):
        principal = [("id", principal_id), ("type", principal_type)]
        if user_id is not None:
            principal.append(("userId", user_id))
        return [
            ("channel", "WS"),
            ("clientId", self.client_id),
            ("clientReference", self.next_reference()),
            ("clientRequestTimeout", 0),
            ("initiatorPrincipalId", principal),
            ("password", password),
        ]

    def call(self, operation, context, body, timeout=None, ok_codes=(0,)):
        """Send one request; return the <return> content as a dict.

        Raises GlaseError for a fault, a non-zero resultCode not in ok_codes, or no answer.
        """
        inner = _el("context", context) + "".join(_el(n, v) for n, v in body)
        envelope = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="%s" xmlns:ext="%s">'
            "<soapenv:Header/><soapenv:Body><ext:%s>%s</ext:%s></soapenv:Body></soapenv:Envelope>"
            % (SOAP_ENV, NS, operation, inner, operation)
        ).encode("utf-8")
        req = urllib.request.Request(
            self.url, data=envelope, method="POST",
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as e:  # a SOAP fault comes as HTTP 500
            payload = e.read()
            if not payload:
                raise GlaseError(operation, "Glase answered HTTP %d" % e.code, lost=True)
        except (urllib.error.URLError, http.client.HTTPException, socket.timeout, OSError) as e:
            raise GlaseError(operation, "no answer from Glase (%s)" % e, lost=True)
        try:
            root = ET.fromstring(payload)
        except ET.ParseError as e:
            raise GlaseError(operation, "unreadable answer from Glase (%s)" % e, lost=True)
        body_el = next((c for c in root if _local(c.tag) == "Body"), None)
        if body_el is None or not len(body_el):
            raise GlaseError(operation, "answer without a SOAP body", lost=True)
        first = body_el[0]
        if _local(first.tag) == "Fault":
            d = _to_dict(first)
            raise GlaseError(operation, "SOAP fault %s: %s" % (d.get("faultcode"), d.get("faultstring")))
        ret = next((c for c in first if _local(c.tag) == "return"), None)
        result = _to_dict(ret) if ret is not None else {}
        if not isinstance(result, dict):
            result = {}
        try:
            code = int(str(result.get("resultCode", "")).strip())
        except ValueError:
            raise GlaseError(operation, "answer without a resultCode", lost=True)
        self.log("%s -> %d %s" % (operation, code, result.get("resultDescription", "")))
        if code not in ok_codes:
            raise GlaseError(
                operation,
                "Glase answered resultCode %d %s" % (code, result.get("resultDescription", "")),
                result_code=code, fields=result,
            )
        result["resultCode"] = code
        return result


def param_map(pairs):
    """The WSDL's parameterMap: parameters/parameter/entry{key,value}*."""
    return [("parameter", [("entry", [("key", k), ("value", v)]) for k, v in pairs])]
