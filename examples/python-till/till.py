#!/usr/bin/env python3
"""Indie Tills AB: a point-of-sale till backend for Glase, standard library only.

Environment:
  GLASE_URL        Glase SOAP endpoint (default http://127.0.0.1:7070/extclientproxy/service/v2)
  PAYMENT_WINDOW   seconds a sale waits for the customer before it is cancelled (default 30)
  TILL_PORT        driver port on 127.0.0.1 (default 8765)
  TILL_DB          SQLite file (default: python-till.db in the system's temporary folder)
  TILL_MISTAKE     deliberate faults for testing the suite, comma-separated:
                   poll3 (poll every 3 s), no-receipt, no-assign, no-unregister, stop10
"""
import base64
import json
import os
import re
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import glase  # noqa: E402
from glase import GlaseError, money, param_map  # noqa: E402

GLASE_URL = os.environ.get("GLASE_URL", "http://127.0.0.1:7070/extclientproxy/service/v2")
PAYMENT_WINDOW = float(os.environ.get("PAYMENT_WINDOW", "30"))
PORT = int(os.environ.get("TILL_PORT", "8765"))
DB_PATH = os.environ.get("TILL_DB", os.path.join(tempfile.gettempdir(), "python-till.db"))
MISTAKES = set(filter(None, os.environ.get("TILL_MISTAKE", "").split(",")))
POLL_INTERVAL = 3.0 if "poll3" in MISTAKES else 1.0
GLASE_TIMEOUT = float(os.environ.get("GLASE_TIMEOUT", "10"))
POLL_TIMEOUT = 3.0          # a status answer slower than this is treated as lost

COMPANY = "Indie Tills AB"
SYSTEM = "indietill-1.0"
EXTERNAL_TERMINAL_ID = "indie-till-1"
SEQR_ID = os.environ.get("TILL_SEQR_ID", "INDIETILL1")
QR_CODE = "HTTP://SEQR.SE/Q" + SEQR_ID
CURRENCY = "EUR"
CASHIER = "till-1"
RESELLER = {"id": "glase-demo", "userId": "9900", "password": "demo1234"}

CATALOGUE = {
    "coffee": ("Coffee", Decimal("3.50")),
    "bun": ("Cinnamon bun", Decimal("2.90")),
    "juice": ("Orange juice", Decimal("4.20")),
}
CENT = Decimal("0.01")


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def fmt(d):
    return str(Decimal(d).quantize(CENT))


def now_iso():
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="milliseconds")


class ApiError(Exception):
    def __init__(self, status, message, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


# --------------------------------------------------------------------------- storage

class Store:
    def __init__(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.lock = threading.RLock()
        with self.lock:
            self.db.executescript(
                """
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT);
                CREATE TABLE IF NOT EXISTS sales (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT UNIQUE NOT NULL, state TEXT NOT NULL, reason TEXT,
                    invoice_reference TEXT, ers_reference TEXT, total TEXT NOT NULL,
                    currency TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0,
                    rows TEXT NOT NULL, created_at REAL NOT NULL, window_ends REAL,
                    receipt_sent INTEGER NOT NULL DEFAULT 0, terminal_id TEXT);
                CREATE TABLE IF NOT EXISTS refunds (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, sale_id TEXT NOT NULL,
                    amount TEXT NOT NULL, state TEXT NOT NULL, ers_reference TEXT,
                    error TEXT, requested_at TEXT NOT NULL);
                """
            )

    def get(self, k, default=None):
        with self.lock:
            row = self.db.execute("SELECT v FROM kv WHERE k=?", (k,)).fetchone()
            return row[0] if row else default

    def put(self, **kv):
        with self.lock:
            for k, v in kv.items():
                if v is None:
                    self.db.execute("DELETE FROM kv WHERE k=?", (k,))
                else:
                    self.db.execute("INSERT OR REPLACE INTO kv VALUES (?,?)", (k, str(v)))

    def next_counter(self):
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            n = int(self.get("counter", "0")) + 1
            self.db.execute("INSERT OR REPLACE INTO kv VALUES ('counter', ?)", (str(n),))
            self.db.execute("COMMIT")
            return n

    def sale(self, sale_id):
        with self.lock:
            cur = self.db.execute("SELECT * FROM sales WHERE id=?", (sale_id,))
            row = cur.fetchone()
            return dict(zip([c[0] for c in cur.description], row)) if row else None

    def sales_where(self, where, args=()):
        with self.lock:
            cur = self.db.execute("SELECT * FROM sales WHERE %s ORDER BY seq" % where, args)
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]

    def update_sale(self, sale_id, only_if_state=None, **fields):
        """Update a sale; with only_if_state, only when it is still in that state. True if changed."""
        with self.lock:
            sets = ", ".join("%s=?" % k for k in fields)
            args = list(fields.values()) + [sale_id]
            sql = "UPDATE sales SET %s WHERE id=?" % sets
            if only_if_state:
                sql += " AND state=?"
                args.append(only_if_state)
            return self.db.execute(sql, args).rowcount == 1

    def refunds(self, sale_id):
        with self.lock:
            cur = self.db.execute("SELECT * FROM refunds WHERE sale_id=? ORDER BY seq", (sale_id,))
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]


STORE = Store(DB_PATH)
CLIENT = glase.Client(
    GLASE_URL, COMPANY, lambda: "%s-%d" % (SYSTEM, STORE.next_counter()),
    timeout=GLASE_TIMEOUT, log=lambda m: log("glase:", m),
)
REG_LOCK = threading.Lock()     # one registration change at a time


# --------------------------------------------------------------------------- terminal

def terminal():
    """(terminalId, password) of the registered terminal, or None."""
    tid, pw = STORE.get("terminal_id"), STORE.get("terminal_password")
    if tid and pw and STORE.get("glase_registered") == "1":
        return tid, pw
    return None


def is_registered():
    return terminal() is not None and STORE.get("sticker_assigned") == "1"


def as_terminal():
    t = terminal()
    if not t:
        raise ApiError(409, "the till is not registered")
    return CLIENT.context(t[0], "TERMINALID", t[1])


def forget_terminal_if_unknown(err):
    """Glase no longer knows the terminal (a fresh Glase, or unregistered elsewhere)."""
    if err.result_code in (20, 29, 33):
        log("Glase does not accept the terminal (%s): registration forgotten" % err.result_code)
        STORE.put(glase_registered="0", sticker_assigned="0")


def pending_sales():
    return STORE.sales_where("state='pending'")


def busy():
    """Why the till's registration may not change now, or None."""
    if pending_sales():
        return "a sale is pending: finish or cancel it first"
    if STORE.sales_where("state='paid' AND receipt_sent=0"):
        return "a paid sale's receipt is still being submitted"
    return None


def register():
    with REG_LOCK:
        if busy():
            raise ApiError(409, busy())
        password = STORE.get("terminal_password") or secrets.token_urlsafe(18)
        STORE.put(terminal_password=password)
        try:
            res = CLIENT.call(
                "registerTerminal",
                CLIENT.context(RESELLER["id"], "RESELLERUSER", RESELLER["password"], RESELLER["userId"]),
                [("externalTerminalId", EXTERNAL_TERMINAL_ID), ("password", password),
                 ("name", "Indie till 1 (%s)" % SEQR_ID)],
            )
        except GlaseError as e:
            raise ApiError(502, str(e))
        tid = (res.get("terminalId") or "").strip()
        if not tid:
            raise ApiError(502, "registerTerminal failed: Glase answered no terminalId")
        STORE.put(terminal_id=tid, glase_registered="1", sticker_assigned="0")
        if "no-assign" not in MISTAKES:
            try:
                CLIENT.call("assignSeqrId", CLIENT.context(tid, "TERMINALID", password),
                            [("seqrId", SEQR_ID)])
            except GlaseError as e:
                raise ApiError(502, str(e))
        # a fresh registration starts the till "idle": remember the last sale before it
        with STORE.lock:
            last = STORE.db.execute("SELECT COALESCE(MAX(seq),0) FROM sales").fetchone()[0]
        STORE.put(sticker_assigned="1", registered_after_seq=last)
        log("registered as terminal", tid, "sticker", SEQR_ID)


def unregister():
    with REG_LOCK:
        if busy():
            raise ApiError(409, busy())
        t = terminal()
        if not t:
            STORE.put(sticker_assigned="0")
            return
        if "no-unregister" not in MISTAKES:
            try:
                CLIENT.call("unregisterTerminal", CLIENT.context(t[0], "TERMINALID", t[1]), [])
            except GlaseError as e:
                if e.result_code not in (29, 33):   # unknown / already unregistered: done
                    raise ApiError(502, str(e))
        # forget the password: a later registration sets a new one
        STORE.put(glase_registered="0", sticker_assigned="0", terminal_password=None)
        log("unregistered terminal", t[0])


def till_document():
    after = int(STORE.get("registered_after_seq", "0"))
    latest = []
    if is_registered():
        latest = STORE.sales_where("seq = (SELECT MAX(seq) FROM sales WHERE seq > ?)", (after,))
    state, sale_id = "idle", None
    if latest:
        sale_id = latest[0]["id"]
        state = {"pending": "waiting"}.get(latest[0]["state"], latest[0]["state"])
    return {
        "registered": is_registered(),
        "terminalId": STORE.get("terminal_id"),
        "externalTerminalId": EXTERNAL_TERMINAL_ID,
        "seqrId": SEQR_ID,
        "qrCode": QR_CODE,
        "state": state,
        "saleId": sale_id,
    }


def check_stored_registration():
    """After a restart: is the stored terminal still known to this Glase? A status query for
    a reference that cannot exist answers 54 for a live terminal, 29/33/20 otherwise."""
    t = terminal()
    if not t:
        return
    try:
        CLIENT.call("getPaymentStatus", CLIENT.context(t[0], "TERMINALID", t[1]),
                    [("invoiceReference", "0"), ("invoiceVersion", 0)], timeout=5)
    except GlaseError as e:
        if e.result_code in (20, 29, 33):
            forget_terminal_if_unknown(e)
            for s in pending_sales():
                STORE.update_sale(s["id"], "pending", state="failed",
                                  reason="Glase no longer knows this till's terminal")
            return
        if e.result_code != 54:
            log("stored registration not checked:", e)
            return
    log("stored registration", t[0], "is live")


# --------------------------------------------------------------------------- sales

def sale_document(s):
    refunds = STORE.refunds(s["id"])
    total = Decimal(s["total"])
    refunded = sum((Decimal(r["amount"]) for r in refunds if r["state"] == "done"), Decimal(0))
    doc = {
        "saleId": s["id"],
        "state": s["state"],
        "invoiceReference": s["invoice_reference"],
        "total": fmt(total),
        "currency": s["currency"],
        "refunded": fmt(refunded),
        "version": s["version"],
        "rows": json.loads(s["rows"]),
        "refunds": [refund_document(r) for r in refunds],
    }
    if s["reason"]:
        doc["reason"] = s["reason"]
    if s["ers_reference"]:
        doc["ersReference"] = s["ers_reference"]
    return doc


def refund_document(r):
    d = {"amount": r["amount"], "state": r["state"], "requestedAt": r["requested_at"]}
    if r["ers_reference"]:
        d["ersReference"] = r["ers_reference"]
    if r["error"]:
        d["error"] = r["error"]
    return d


def parse_basket(body):
    if not isinstance(body, dict) or not isinstance(body.get("items"), list) or not body["items"]:
        raise ApiError(400, "the basket needs a non-empty list `items`")
    quantities = {}
    for item in body["items"]:
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
            raise ApiError(400, "each item needs a `sku`")
        sku = item["sku"]
        if sku not in CATALOGUE:
            raise ApiError(400, "unknown product %r" % sku)
        q = item.get("quantity", 1)
        if isinstance(q, bool) or not isinstance(q, (int, Decimal)) or q != int(q) or not 1 <= q <= 99:
            raise ApiError(400, "quantity of %r must be a whole number from 1 to 99" % sku)
        quantities[sku] = quantities.get(sku, 0) + int(q)
    if any(q > 99 for q in quantities.values()):
        raise ApiError(400, "at most 99 of a product")
    rows = []
    for sku, q in quantities.items():
        name, price = CATALOGUE[sku]
        rows.append({"sku": sku, "name": name, "quantity": q,
                     "unitPrice": fmt(price), "total": fmt(price * q)})
    return rows


def create_sale(body):
    rows = parse_basket(body)
    if not is_registered():
        register()
    total = sum((Decimal(r["total"]) for r in rows), Decimal(0))
    sale_id = "S%s" % secrets.token_hex(5)
    tid = terminal()[0]
    with STORE.lock:
        STORE.db.execute(
            "INSERT INTO sales (id, state, total, currency, rows, created_at, terminal_id) "
            "VALUES (?, 'pending', ?, ?, ?, ?, ?)",
            (sale_id, fmt(total), CURRENCY, json.dumps(rows), time.time(), tid))
    invoice = [
        ("paymentMode", "IMMEDIATE_DEBIT"),
        ("acknowledgmentMode", "NO_ACKNOWLEDGMENT"),
        ("issueDate", now_iso()),
        ("title", "Indie Tills sale %s" % sale_id),
        ("clientInvoiceId", sale_id),
        ("invoiceRows", [("invoiceRow", [
            ("itemDescription", r["name"]),
            ("itemQuantity", r["quantity"]),
            ("itemSKU", r["sku"]),
            ("itemTotalAmount", money(r["total"], CURRENCY)),
            ("itemUnitPrice", money(r["unitPrice"], CURRENCY)),
        ]) for r in rows]),
        ("totalAmount", money(total, CURRENCY)),
        ("cashierId", CASHIER),
    ]
    try:
        res = CLIENT.call("sendInvoice", as_terminal(), [("invoice", invoice)])
        ref = (res.get("invoiceReference") or "").strip()
        if not ref:
            raise GlaseError("sendInvoice", "Glase answered no invoiceReference")
    except GlaseError as e:
        forget_terminal_if_unknown(e)
        STORE.update_sale(sale_id, state="failed", reason=str(e))
        raise ApiError(502, str(e), saleId=sale_id)
    STORE.update_sale(sale_id, invoice_reference=ref, window_ends=time.time() + PAYMENT_WINDOW)
    start_poller(sale_id)
    log("sale", sale_id, "invoice", ref, "total", fmt(total))
    return {"saleId": sale_id, "invoiceReference": ref, "qrCode": QR_CODE,
            "total": fmt(total), "currency": CURRENCY}


def get_sale(sale_id):
    s = STORE.sale(sale_id)
    if not s:
        raise ApiError(404, "no sale %r" % sale_id)
    return s


# --------------------------------------------------------------------------- polling

def fetch_status(sale_id):
    """One getPaymentStatus for a pending sale; applies what Glase says. Returns the status."""
    s = STORE.sale(sale_id)
    if s["state"] != "pending":
        return None
    try:
        res = CLIENT.call("getPaymentStatus", as_terminal(),
                          [("invoiceReference", s["invoice_reference"]),
                           ("invoiceVersion", s["version"])], timeout=POLL_TIMEOUT)
    except ApiError:
        return None
    except GlaseError as e:
        if e.result_code == 54:
            STORE.update_sale(sale_id, "pending", state="failed", reason="Glase does not know the invoice")
        elif e.result_code in (20, 29, 33):
            forget_terminal_if_unknown(e)
            STORE.update_sale(sale_id, "pending", state="failed", reason=str(e))
        else:
            log("status of", sale_id, "not fetched:", e)
        return None
    status = (res.get("status") or "").strip().upper()
    try:
        version = max(int(str(res.get("version", "0")).strip() or 0), s["version"])
    except ValueError:
        version = s["version"]
    STORE.update_sale(sale_id, version=version)
    if status == "PAID":
        ers = (res.get("ersReference") or "").strip()
        if STORE.update_sale(sale_id, "pending", state="paid", ers_reference=ers, reason=None):
            log("sale", sale_id, "paid, ersReference", ers)
            submit_receipt(sale_id)
    elif status in ("CANCELED", "CANCELLED"):
        STORE.update_sale(sale_id, "pending", state="canceled", reason="canceled at Glase (by the customer or reversed)")
    elif status == "FAILED":
        STORE.update_sale(sale_id, "pending", state="failed", reason="the payment failed at Glase")
    return status


def submit_receipt(sale_id):
    if "no-receipt" in MISTAKES:
        STORE.update_sale(sale_id, receipt_sent=1)     # (mistake) believes it is done
        return
    s = STORE.sale(sale_id)
    if s["receipt_sent"] or not s["ers_reference"]:
        return
    rows = "".join("<tr><td>%d &times; %s</td><td>%s</td></tr>" % (r["quantity"], r["name"], r["total"])
                   for r in json.loads(s["rows"]))
    html = ("<html><body><h1>%s</h1><table>%s</table><p>Total %s %s</p><p>Payment %s</p></body></html>"
            % (COMPANY, rows, s["total"], s["currency"], s["ers_reference"]))
    for attempt in range(3):
        try:
            CLIENT.call("submitPaymentReceipt", as_terminal(), [
                ("ersReference", s["ers_reference"]),
                ("receiptDocument", [("mimeType", "text/html"),
                                     ("receiptData", base64.b64encode(html.encode()).decode()),
                                     ("receiptType", "RECEIPT")]),
            ])
            break
        except GlaseError as e:
            log("receipt for", sale_id, "failed:", e)
            if not e.lost:
                break                    # Glase answered: retrying will not change its mind
            time.sleep(1)
        except ApiError:
            return
    STORE.update_sale(sale_id, receipt_sent=1)


def cancel_invoice(sale_id, reason):
    """cancelInvoice for a pending sale. Returns None on success, else the GlaseError."""
    s = STORE.sale(sale_id)
    try:
        CLIENT.call("cancelInvoice", as_terminal(), [("invoiceReference", s["invoice_reference"])])
    except GlaseError as e:
        if e.result_code == 54:
            STORE.update_sale(sale_id, "pending", state="failed", reason="Glase does not know the invoice")
        return e
    STORE.update_sale(sale_id, "pending", state="canceled", reason=reason)
    return None


def poll_loop(sale_id):
    s = STORE.sale(sale_id)
    window_ends = s["window_ends"] or (s["created_at"] + PAYMENT_WINDOW)
    started = time.monotonic()
    tick = 0
    while True:
        s = STORE.sale(sale_id)
        if not s or s["state"] != "pending":
            return
        if "stop10" in MISTAKES and time.monotonic() - started > 10:
            log("sale", sale_id, ": (mistake) polling stopped")
            return
        status = fetch_status(sale_id)
        if status in ("PAID", "CANCELED", "CANCELLED", "FAILED"):
            return
        if time.time() >= window_ends and STORE.sale(sale_id)["state"] == "pending":
            err = cancel_invoice(sale_id, "the payment window ran out")
            if err is None:
                log("sale", sale_id, "canceled: payment window ran out")
                return
            log("sale", sale_id, "window over, cancel refused:", err)
            if err.result_code in (50, 95):
                fetch_status(sale_id)      # paid just now / closed already: learn which
                continue
            # 51 (the customer is confirming) or no answer: keep polling and try again
        tick += 1
        delay = started + tick * POLL_INTERVAL - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def start_poller(sale_id):
    threading.Thread(target=poll_loop, args=(sale_id,), name="poll-" + sale_id, daemon=True).start()


# --------------------------------------------------------------------------- cashier actions

def cashier_cancel(sale_id):
    s = get_sale(sale_id)
    if s["state"] in ("canceled", "failed"):
        return sale_document(s)
    if s["state"] == "paid":
        raise ApiError(409, "the sale is paid: refund it instead")
    if not s["invoice_reference"]:
        raise ApiError(409, "the invoice is still being sent")
    err = cancel_invoice(sale_id, "canceled by the cashier")
    if err is None or err.result_code == 54:
        return sale_document(get_sale(sale_id))
    if err.result_code == 50:
        threading.Thread(target=fetch_status, args=(sale_id,), daemon=True).start()
        raise ApiError(409, "the customer has just paid (%s)" % err)
    if err.result_code == 51:
        raise ApiError(409, "the customer is confirming the payment: try again (%s)" % err)
    if err.result_code == 95:
        threading.Thread(target=fetch_status, args=(sale_id,), daemon=True).start()
        raise ApiError(409, "Glase closed the invoice already (%s)" % err)
    raise ApiError(502, str(err))


def parse_amount(value):
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ApiError(400, "amount must be a decimal string such as \"2.50\"")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ApiError(400, "amount %r is not a number" % value)
    if not d.is_finite() or d <= 0 or d != d.quantize(CENT):
        raise ApiError(400, "amount must be above 0 with at most two decimals")
    return d.quantize(CENT)


def refund(sale_id, body):
    if body is not None and not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    amount = body.get("amount") if body else None
    amount = parse_amount(amount) if amount is not None else None
    if get_sale(sale_id)["state"] == "paid" and not is_registered():
        register()          # the till was unregistered since the payment
    context = as_terminal()
    with STORE.lock:
        s = get_sale(sale_id)
        if s["state"] != "paid":
            raise ApiError(409, "only a paid sale can be refunded (it is %s)" % s["state"])
        committed = sum((Decimal(r["amount"]) for r in STORE.refunds(sale_id) if r["state"] != "rejected"),
                        Decimal(0))
        remaining = Decimal(s["total"]) - committed
        if amount is None:
            amount = remaining
        if remaining <= 0:
            raise ApiError(409, "the sale is refunded in full")
        if amount > remaining:
            raise ApiError(409, "%s is more than the %s left of the payment" % (fmt(amount), fmt(remaining)))
        cur = STORE.db.execute(
            "INSERT INTO refunds (sale_id, amount, state, requested_at) VALUES (?, ?, 'requested', ?)",
            (sale_id, fmt(amount), now_iso()))
        refund_seq = cur.lastrowid
    status, state, ers, error = 201, "done", None, None
    try:
        res = CLIENT.call("refundPayment", context, [
            ("ersReference", s["ers_reference"]),
            ("invoice", [("title", "Refund of sale %s" % sale_id),
                         ("totalAmount", money(amount, s["currency"])),
                         ("cashierId", CASHIER)]),
        ])
        ers = (res.get("ersReference") or "").strip() or None
    except GlaseError as e:
        error = str(e)
        state = "unknown" if e.lost else "rejected"
        status = 409 if e.result_code == 98 else 502
    with STORE.lock:
        STORE.db.execute("UPDATE refunds SET state=?, ers_reference=?, error=? WHERE seq=?",
                         (state, ers, error, refund_seq))
    if status != 201:
        raise ApiError(status, error, saleId=sale_id)
    doc = sale_document(get_sale(sale_id))
    committed = sum((Decimal(r["amount"]) for r in doc["refunds"] if r["state"] != "rejected"), Decimal(0))
    this = next(refund_document(r) for r in STORE.refunds(sale_id) if r["seq"] == refund_seq)
    return {"saleId": sale_id, "refund": this, "refunded": doc["refunded"],
            "remaining": fmt(Decimal(doc["total"]) - committed), "refunds": doc["refunds"]}


def close_period():
    t = terminal()
    if not t:
        raise ApiError(409, "the till is not registered")
    try:
        res = CLIENT.call("markTransactionPeriod", CLIENT.context(t[0], "TERMINALID", t[1]),
                          [("parameters", param_map([("TERMINALID", t[0])]))])
    except GlaseError as e:
        raise ApiError(502, str(e))
    period = (res.get("transactionPeriodId") or "").strip() or None
    return {"transactionPeriodId": period, "closedAt": now_iso()}


def period_report(period_id):
    t = terminal()
    if not t:
        raise ApiError(409, "the till is not registered")
    try:
        res = CLIENT.call("executeReport", CLIENT.context(t[0], "TERMINALID", t[1]), [
            ("reportId", "Reconciliation/STD_RECON_006.xml"),
            ("language", "en"),
            ("parameters", param_map([("transactionPeriodId", period_id), ("TERMINALID", t[0])])),
        ])
    except GlaseError as e:
        if e.result_code == 2:
            raise ApiError(409, "the report is not ready yet: try again in a few seconds")
        raise ApiError(502, str(e))
    report = res.get("report") or {}
    content = report.get("contentString") or ""
    if report.get("content"):
        try:
            content = base64.b64decode("".join(report["content"].split())).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            pass
    return {"title": report.get("title"), "mimeType": report.get("mimeType"), "content": content}


# --------------------------------------------------------------------------- HTTP driver

ROUTES = [
    ("GET", r"/driver/pos/till", lambda m, b: (200, till_document())),
    ("POST", r"/driver/pos/register", lambda m, b: (register(), (200, till_document()))[1]),
    ("POST", r"/driver/pos/unregister", lambda m, b: (unregister(), (200, till_document()))[1]),
    ("POST", r"/driver/pos/sales", lambda m, b: (201, create_sale(b))),
    ("GET", r"/driver/pos/sales/([^/]+)", lambda m, b: (200, sale_document(get_sale(m.group(1))))),
    ("POST", r"/driver/pos/sales/([^/]+)/cancel", lambda m, b: (200, cashier_cancel(m.group(1)))),
    ("POST", r"/driver/pos/sales/([^/]+)/refund", lambda m, b: (201, refund(m.group(1), b))),
    ("POST", r"/driver/pos/close", lambda m, b: (200, close_period())),
    ("GET", r"/driver/pos/periods/([^/]+)/report", lambda m, b: (200, period_report(m.group(1)))),
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt_, *args):
        log("http:", fmt_ % args)

    def _send(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method):
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = None
            if raw.strip():
                try:
                    body = json.loads(raw, parse_float=Decimal)
                except ValueError:
                    raise ApiError(400, "the body is not JSON")
            known = False
            for meth, pattern, fn in ROUTES:
                m = re.fullmatch(pattern, path)
                if not m:
                    continue
                known = True
                if meth == method:
                    status, doc = fn(m, body)
                    return self._send(status, doc)
            raise ApiError(405 if known else 404, "no such call: %s %s" % (method, path))
        except ApiError as e:
            return self._send(e.status, e.body)
        except Exception as e:  # a bug: say so rather than drop the connection
            log("error:", repr(e))
            return self._send(500, {"error": "internal error: %r" % e})

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")


def resume():
    """After a restart: keep polling pending sales, send receipts that were not sent."""
    for s in STORE.sales_where("state='pending'"):
        if not s["invoice_reference"]:
            STORE.update_sale(s["id"], "pending", state="failed",
                              reason="the till stopped while sending the invoice")
        else:
            start_poller(s["id"])
    for s in STORE.sales_where("state='paid' AND receipt_sent=0"):
        threading.Thread(target=submit_receipt, args=(s["id"],), daemon=True).start()


def main():
    log("Indie till on 127.0.0.1:%d, Glase %s, window %ss, mistakes %s"
        % (PORT, GLASE_URL, PAYMENT_WINDOW, sorted(MISTAKES) or "none"))
    check_stored_registration()
    resume()
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
