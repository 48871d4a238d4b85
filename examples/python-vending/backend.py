#!/usr/bin/env python3
"""A Glase vending backend, written to be read: seed 000 (the unattended purchase) end to end.

    GLASE_URL=http://127.0.0.1:7070/extclientproxy/service/v2 \\
        python3 backend.py --listen 127.0.0.1:8000 --idle-timeout 60s

Python 3 standard library only. Where each step of seed 000 lives:

    1-3   create_purchase   POST /seqr/createPurchase: claim the machine, sendInvoice
    5-8   refresh           getPaymentStatus (on a notification, or polled); RESERVED unlocks
    9-11  vend              updateInvoice with the chosen rows, commitReservation for their total
          cancel_idle       cancelInvoice when the customer walks away (the idle timer)

/driver/machines/... is the machine driver: test-build glue through which the conformance
suite plays the vending machine. State lives in SQLite in memory because this is an example;
your backend keeps it in its database and, after a restart, asks getPaymentStatus about every
purchase still open.
"""

import argparse
import json
import os
import re
import secrets
import sqlite3
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from glase_soap import Glase, invoice_xml, money, with_retries

# Demo fixtures: what the conformance suite's scenarios assume (scenarios/README.md).
MACHINES = {
    "machine-1": ("Lobby: drinks and snacks", "EUR", [
        ("cola", "Cola 0.33 l", "2.50"), ("crisps", "Crisps", "1.75"),
        ("water", "Water 0.5 l", "1.20"), ("chocolate", "Chocolate bar", "2.00")]),
    "machine-2": ("Coffee corner", "EUR", [
        ("espresso", "Espresso", "1.80"), ("cappuccino", "Cappuccino", "2.90"), ("tea", "Tea", "1.50")]),
}
# Glase reverses a reservation whose status nobody fetched within 20 s of the customer's
# confirmation. Notifications can be lost, so we also poll, well inside that.
STATUS_POLL_INTERVAL = 2.0
# The UPS gives createPurchase 10 s in all: sendInvoice must answer well before that.
SEND_INVOICE_TIMEOUT = 5.0
OPEN = ("reserved", "unlocked", "vending")   # a purchase in these states holds its machine
ENDED = {"CANCELED": "canceled", "CANCELLED": "canceled", "FAILED": "failed"}  # seed 000 writes CANCELLED

GLASE = DB = None
IDLE_TIMEOUT, PUBLIC_URL = 60.0, ""
# One lock per machine: whatever happens to a machine's purchase (a notification, the poll,
# the idle timer, a vend) happens one at a time. With several servers, lock the purchase's
# row in your database instead (SELECT ... FOR UPDATE).
MACHINE_LOCKS = {token: threading.Lock() for token in MACHINES}


def log(*parts):
    print(datetime.now().strftime("%H:%M:%S.%f")[:-3], *parts, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- storage

SCHEMA = """
CREATE TABLE machine  (token TEXT PRIMARY KEY, name TEXT, currency TEXT, in_service INTEGER DEFAULT 1,
                       purchase_id TEXT);           -- the purchase holding the machine, if any
CREATE TABLE product  (machine TEXT, sku TEXT, name TEXT, price TEXT);
CREATE TABLE purchase (id TEXT PRIMARY KEY, machine TEXT, notify_token TEXT UNIQUE, amount TEXT,
                       currency TEXT, invoice_ref TEXT, version INTEGER DEFAULT 0,
                       state TEXT,                  -- reserved, unlocked, vending; paid, canceled, failed
                       touched REAL, polled REAL);  -- for the idle timer and the fallback poll
CREATE TABLE vend     (id TEXT PRIMARY KEY, machine TEXT, purchase_id TEXT, selection TEXT,
                       state TEXT,                  -- pending, paid, canceled, rejected
                       total TEXT, rows TEXT, ers_reference TEXT, note TEXT);
"""


class Db:
    """One SQLite connection shared by every thread, one statement or transaction at a time."""

    def __init__(self):
        self.conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.executescript(SCHEMA)
        self.lock = threading.Lock()

    def rows(self, sql, *args):
        with self.lock:
            return self.conn.execute(sql, args).fetchall()

    def row(self, sql, *args):
        return next(iter(self.rows(sql, *args)), None)

    def execute(self, sql, *args):
        with self.lock:
            return self.conn.execute(sql, args).rowcount

    @contextmanager
    def transaction(self):
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise


def purchase(purchase_id):
    return DB.row("SELECT * FROM purchase WHERE id = ?", purchase_id)


def finish(purchase_id, state):
    """Ends a purchase (paid, canceled or failed) and frees its machine, in one transaction."""
    with DB.transaction() as c:
        c.execute("UPDATE purchase SET state = ? WHERE id = ?", (state, purchase_id))
        c.execute("UPDATE machine SET purchase_id = NULL WHERE purchase_id = ?", (purchase_id,))
    log(f"purchase {purchase_id} {state}; machine free")


def touch(purchase_id, state=None):
    """Restarts the purchase's idle timer; optionally moves it to `state`."""
    DB.execute("UPDATE purchase SET touched = ?, state = COALESCE(?, state) WHERE id = ?",
               time.monotonic(), state, purchase_id)


def polled(purchase_id):
    DB.execute("UPDATE purchase SET polled = ? WHERE id = ?", time.monotonic(), purchase_id)


# ------------------------------------------------------ steps 1-3: createPurchase

def create_purchase(body):
    """The UPS tells us a customer scanned a machine's QR code. Returns the JSON to answer,
    always with HTTP 200: {"invoiceReferenceId"} or {"errorCode"}."""
    try:
        request = json.loads(body, parse_float=Decimal)   # 20.00 stays exact: money is never a float
        # Two dialects: the seed's {"token", "amount": 20.00} and the older public
        # document's {"reservationToken", "reservationAmount": "20.00"}.
        token = request.get("token", request.get("reservationToken"))
        amount = Decimal(str(request.get("amount", request.get("reservationAmount"))))
        currency = request.get("currency")
        if not isinstance(token, str) or not amount.is_finite():
            raise ValueError("no token or amount")
    except (ValueError, TypeError, AttributeError, ArithmeticError) as error:
        log(f"createPurchase: unreadable request ({error})")
        return {"errorCode": "SYSTEM_ERROR"}

    machine = DB.row("SELECT * FROM machine WHERE token = ?", token)
    if machine is None or not machine["in_service"]:
        return {"errorCode": "DEVICE_UNAVAILABLE"}
    if currency != machine["currency"]:
        return {"errorCode": "SYSTEM_ERROR"}   # we cannot sell in another currency
    if amount < min(Decimal(p["price"]) for p in DB.rows("SELECT price FROM product WHERE machine = ?", token)):
        return {"errorCode": "INSUFFICIENT_FUNDS"}   # not even the cheapest product
    reserve = amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN)

    # Claim the machine *before* calling Glase, with one conditional UPDATE: two customers who
    # scan at the same moment both get here, and exactly one of them changes the row. The other
    # gets DEVICE_IN_USE at once, and no invoice is ever made for it.
    purchase_id, notify_token, now = "vp-" + secrets.token_hex(6), secrets.token_urlsafe(16), time.monotonic()
    with DB.transaction() as c:
        claimed = c.execute("UPDATE machine SET purchase_id = ? WHERE token = ? AND purchase_id IS NULL"
                            " AND in_service = 1", (purchase_id, token)).rowcount == 1
        if claimed:
            c.execute("INSERT INTO purchase (id, machine, notify_token, amount, currency, state, touched, polled)"
                      " VALUES (?, ?, ?, ?, ?, 'reserved', ?, ?)",
                      (purchase_id, token, notify_token, str(reserve), currency, now, now))
    if not claimed:
        in_service = DB.row("SELECT in_service FROM machine WHERE token = ?", token)["in_service"]
        return {"errorCode": "DEVICE_IN_USE" if in_service else "DEVICE_UNAVAILABLE"}

    # Hold the machine's lock until the reference is stored: a notification can arrive before
    # sendInvoice has even answered, and must then wait for it.
    with MACHINE_LOCKS[token]:
        try:
            invoice = invoice_xml(
                title=machine["name"], client_invoice_id=purchase_id, cashier_id=token,
                rows=[{"description": f"Reservation at {machine['name']}", "quantity": 1, "total": reserve}],
                total=reserve, currency=currency,   # RESERVATION_REQUIRED, at most the amount offered
                # A secret token per purchase: the URL says which purchase to ask about, nothing more.
                notification_url=f"{PUBLIC_URL}/seqr/notify/{notify_token}")
            reply = GLASE.send_invoice(invoice, timeout=SEND_INVOICE_TIMEOUT)
            reference = reply.fields.get("invoiceReference") if reply.ok else None
            if not reference:
                # Never send it again: if Glase made the invoice and only its answer was lost, a
                # second sendInvoice makes a second invoice. Nobody knows the first one's reference,
                # so nobody can pay it. The customer may simply scan again.
                log(f"purchase {purchase_id}: sendInvoice failed: {reply}")
                finish(purchase_id, "failed")
                return {"errorCode": "INVOICING_ERROR"}
            DB.execute("UPDATE purchase SET invoice_ref = ?, touched = ?, polled = ? WHERE id = ?",
                       reference, time.monotonic(), time.monotonic(), purchase_id)
        except Exception:
            finish(purchase_id, "failed")   # never leave the machine claimed by a broken purchase
            raise
    log(f"purchase {purchase_id} at {token}: invoice {reference}, {reserve} {currency}")
    return {"invoiceReferenceId": reference}


# ------------------------------------------- steps 5-8: notification, status, unlock

def on_notification(notify_token):
    """A notification carries no data and anyone can POST to the URL: it only means "something
    may have changed, ask". So it never unlocks anything by itself: refresh asks Glase."""
    found = DB.row("SELECT id, machine FROM purchase WHERE notify_token = ?", notify_token)
    if found is not None:
        with MACHINE_LOCKS[found["machine"]]:
            refresh(found["id"])


def fetch_status(p):
    """getPaymentStatus, asked again while Glase is busy: the answer's fields, {} if none."""
    reply = with_retries(lambda: GLASE.get_payment_status(p["invoice_ref"], p["version"]))
    if not reply.ok:
        log(f"purchase {p['id']}: getPaymentStatus: {reply}")
        return {}
    # Echo the latest version in the next getPaymentStatus (spec 4).
    DB.execute("UPDATE purchase SET version = MAX(version, ?) WHERE id = ?",
               int(reply.fields.get("version") or 0), p["id"])
    return reply.fields


def refresh(purchase_id):
    """Asks Glase how the purchase stands and acts on the answer: the only place a machine is
    unlocked. Caller holds the machine's lock."""
    p = purchase(purchase_id)
    if p["state"] not in ("reserved", "unlocked") or not p["invoice_ref"]:
        return   # over (a late or repeated notification changes nothing), or not invoiced yet
    polled(purchase_id)
    status = fetch_status(p).get("status")
    if status == "RESERVED" and p["state"] == "reserved":
        touch(purchase_id, "unlocked")   # the idle timer starts again for choosing
        log(f"purchase {purchase_id}: RESERVED, {p['machine']} unlocked")
    elif status in ENDED:
        finish(purchase_id, ENDED[status])   # cancelled in the app, wallet too low, reversed


# --------------------------------------------- the idle timer and the fallback poll

def cancel_and_release(p):
    """cancelInvoice, then frees the machine once the invoice is surely over; returns whether
    it is. Caller holds the machine's lock."""
    reply = with_retries(lambda: GLASE.cancel_invoice(p["invoice_ref"]))
    if reply.ok or reply.code == 95:   # 95 INVOICE_ALREADY_CANCELED
        finish(p["id"], "canceled")
        return True
    # 51: the customer is confirming right now; no answer: we do not know. The status decides.
    log(f"purchase {p['id']}: cancelInvoice: {reply}")
    refresh(p["id"])
    return purchase(p["id"])["state"] not in OPEN


def cancel_idle(purchase_id):
    """The customer walked away, before or after confirming: give the reservation back."""
    p = purchase(purchase_id)
    if p["state"] not in ("reserved", "unlocked") or time.monotonic() - p["touched"] < IDLE_TIMEOUT:
        return
    if p["state"] == "reserved":
        refresh(purchase_id)   # maybe they did confirm and the notification was lost: ask first
        if purchase(purchase_id)["state"] != "reserved":
            return
    log(f"purchase {purchase_id}: idle for {IDLE_TIMEOUT:g} s, cancelling")
    if not cancel_and_release(p) and purchase(purchase_id)["state"] == p["state"]:
        DB.execute("UPDATE purchase SET touched = ? WHERE id = ?", time.monotonic() - IDLE_TIMEOUT + 1, purchase_id)


def ticker():
    """The backend's own clock, in one thread: the fallback status poll, the idle timer, and
    vends whose commit outcome is not known yet."""
    while True:
        time.sleep(0.25)
        for p in DB.rows("SELECT * FROM purchase WHERE state IN (?, ?, ?) AND invoice_ref IS NOT NULL", *OPEN):
            lock = MACHINE_LOCKS[p["machine"]]
            if not lock.acquire(blocking=False):
                continue   # a request is working on this machine: look again next tick
            try:
                now = time.monotonic()
                if p["state"] != "vending" and now - p["touched"] >= IDLE_TIMEOUT:
                    cancel_idle(p["id"])
                elif p["state"] == "reserved" and now - p["polled"] >= STATUS_POLL_INTERVAL:
                    refresh(p["id"])   # in case the notification was lost
                elif p["state"] == "vending" and now - p["polled"] >= STATUS_POLL_INTERVAL:
                    resolve_vend(p["id"])
            except Exception:
                traceback.print_exc()
            finally:
                lock.release()


# -------------------------------------------- steps 9-11: the customer chooses, we charge

def vend(token, body):
    """POST /driver/machines/{token}/vend {"vendId"?, "items"}: the customer chose (an empty
    list: nothing). Returns (HTTP status, JSON)."""
    try:
        request = json.loads(body or b"{}")
        vend_id = request.get("vendId") or "v-" + secrets.token_hex(6)
        rows = parse_selection(token, request.get("items"))
        if not isinstance(vend_id, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", vend_id):
            raise ValueError("vendId: 1-64 letters, digits, - _ . :")
    except (ValueError, AttributeError) as error:
        return 400, {"error": str(error)}
    selection = json.dumps([[r["sku"], r["quantity"]] for r in rows])

    with MACHINE_LOCKS[token]:
        known = DB.row("SELECT * FROM vend WHERE id = ?", vend_id)
        if known is not None:   # the machine asks again (it lost our answer): never a second vend
            if known["machine"] != token or known["selection"] != selection:
                return 409, {"error": "this vendId belongs to another vend", "vendId": vend_id}
            if known["state"] == "pending":
                resolve_vend(known["purchase_id"])
            return vend_answer(vend_id)
        holder = DB.row("SELECT purchase_id FROM machine WHERE token = ?", token)["purchase_id"]
        p = purchase(holder) if holder else None
        if p is None or p["state"] != "unlocked":
            return 409, {"error": f"machine {token} is not unlocked", "vendId": vend_id}
        touch(p["id"])
        total = sum((Decimal(r["total"]) for r in rows), Decimal("0"))
        if total > Decimal(p["amount"]):   # stays unlocked: the customer may choose less
            return 409, {"error": f"the choice costs {total}, {p['amount']} is reserved", "vendId": vend_id}
        if not rows:   # nothing chosen: give the reservation back now, not after the idle timeout
            if not cancel_and_release(p):
                return 502, {"error": "cancelInvoice failed; the idle timer tries again", "vendId": vend_id}
            return 200, {"outcome": "canceled", "vendId": vend_id, "purchaseId": p["id"], "rows": [],
                         "invoiceReference": p["invoice_ref"], "total": "0.00", "currency": p["currency"]}
        # Record the vend before Glase hears of it: however its answer gets lost, the machine
        # can ask again with its vendId and learn the outcome.
        with DB.transaction() as c:
            c.execute("INSERT INTO vend (id, machine, purchase_id, selection, state, total, rows)"
                      " VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                      (vend_id, token, p["id"], selection, money(total), json.dumps(rows)))
            c.execute("UPDATE purchase SET state = 'vending' WHERE id = ?", (p["id"],))
        charge(p, vend_id, rows, total)
        log(f"vend {vend_id} at {token}: {DB.row('SELECT state FROM vend WHERE id = ?', vend_id)['state']}")
        return vend_answer(vend_id)


def charge(p, vend_id, rows, total):
    """updateInvoice with what was chosen, then commitReservation for exactly its total."""
    invoice = invoice_xml(title=MACHINES[p["machine"]][0], client_invoice_id=p["id"], cashier_id=p["machine"],
                          rows=rows, total=total, currency=p["currency"])
    # Step 10 first: the customer sees in the app what they pay for, and no commit goes out
    # without it. The same update is safe to send again while Glase is busy.
    update = with_retries(lambda: GLASE.update_invoice(p["invoice_ref"], invoice))
    if not update.ok:
        status = fetch_status(p).get("status")
        if status in ENDED:
            return end_vend(p, vend_id, "canceled", note=f"the reservation ended {status}")
        return end_vend(p, vend_id, "rejected", note=f"updateInvoice failed: {update}")
    end_vend(p, vend_id, *commit(p, total))


def commit(p, total):
    """Step 11, never charging twice. Returns (vend state, ersReference, note)."""
    for attempt in range(3):
        reply = GLASE.commit_reservation(p["invoice_ref"], total, p["currency"])
        if reply.ok:
            return "paid", reply.fields.get("ersReference"), None
        if not reply.retryable and reply.code != 96:
            return "rejected", None, f"Glase refused the commit: {reply}"   # nothing was charged
        # No answer, a transient error, or 96 (the invoice is not RESERVED any more): the commit
        # may well have happened. Never send it again blindly: ask what the invoice is now.
        status = fetch_status(p)
        if status.get("status") == "PAID":
            return "paid", status.get("ersReference"), None
        if status.get("status") in ENDED:
            return "canceled", None, f"the reservation ended {status['status']}"
        if status.get("status") != "RESERVED":
            return "pending", None, f"commit outcome not known yet ({reply})"
        time.sleep(0.5 * (attempt + 1))   # still RESERVED: that commit did not happen; send it again
    return "pending", None, "Glase did not take the commit yet"


def end_vend(p, vend_id, state, ers=None, note=None):
    """Records how a vend ended, and what that means for the purchase and its machine."""
    DB.execute("UPDATE vend SET state = ?, ers_reference = ?, note = ? WHERE id = ?", state, ers, note, vend_id)
    if state in ("paid", "canceled"):
        finish(p["id"], state)
    elif state == "rejected":   # nothing charged: the customer may choose again
        touch(p["id"], "unlocked")
    # "pending": the purchase stays "vending" until resolve_vend knows more


def resolve_vend(purchase_id):
    """A vend whose commit outcome is not known: settle it from getPaymentStatus."""
    p = purchase(purchase_id)
    vend = DB.row("SELECT * FROM vend WHERE purchase_id = ? AND state = 'pending'", purchase_id)
    if p["state"] != "vending" or vend is None:
        return
    polled(purchase_id)
    status = fetch_status(p)
    if status.get("status") == "PAID":
        end_vend(p, vend["id"], "paid", status.get("ersReference"))
    elif status.get("status") in ENDED:
        end_vend(p, vend["id"], "canceled", note=f"the reservation ended {status['status']}")
    elif status.get("status") == "RESERVED":   # the commit never reached Glase: finish the vend
        end_vend(p, vend["id"], *commit(p, Decimal(vend["total"])))


def parse_selection(token, items):
    """[{"sku", "quantity"}] -> invoice rows, priced from our catalogue (never from the request)."""
    catalogue = {p["sku"]: p for p in DB.rows("SELECT * FROM product WHERE machine = ?", token)}
    if not isinstance(items, list):
        raise ValueError("items must be a list")
    rows = []
    for item in items:
        sku, quantity = (item.get("sku"), item.get("quantity", 1)) if isinstance(item, dict) else (None, 0)
        if sku not in catalogue or type(quantity) is not int or not 1 <= quantity <= 100:
            raise ValueError(f"bad item {item!r}")
        price = Decimal(catalogue[sku]["price"])
        rows.append({"sku": sku, "description": catalogue[sku]["name"], "quantity": quantity,
                     "unitPrice": money(price), "total": money(price * quantity)})
    return rows


def vend_answer(vend_id):
    v = DB.row("SELECT * FROM vend WHERE id = ?", vend_id)
    if v["state"] != "paid":
        return (409 if v["state"] == "canceled" else 502), {"error": v["note"], "vendId": vend_id,
                                                            "state": v["state"]}
    p = purchase(v["purchase_id"])   # paid: the machine dispenses now, and only now
    return 200, {"outcome": "paid", "vendId": vend_id, "purchaseId": p["id"], "invoiceReference": p["invoice_ref"],
                 "ersReference": v["ers_reference"], "total": v["total"], "currency": p["currency"],
                 "rows": json.loads(v["rows"])}


# ------------------------------------------------------------ the machine driver (test glue)

def machine_view(token):
    m = DB.row("SELECT * FROM machine WHERE token = ?", token)
    p = purchase(m["purchase_id"]) if m["purchase_id"] else None
    view = {"token": token, "name": m["name"], "inService": bool(m["in_service"]), "currency": m["currency"],
            "state": p["state"] if p else ("idle" if m["in_service"] else "out-of-service"),
            "products": [dict(sku=r["sku"], name=r["name"], price=r["price"])
                         for r in DB.rows("SELECT * FROM product WHERE machine = ? ORDER BY rowid", token)]}
    if p is not None:
        view["purchaseId"] = p["id"]
        if p["invoice_ref"]:   # once sendInvoice answered
            view["invoiceReference"] = p["invoice_ref"]
        if p["state"] != "reserved":   # once unlocked
            view["reservedAmount"] = p["amount"]
    return view


def set_in_service(token, in_service):
    # Only an idle machine changes: never take a machine away from a customer using it.
    if DB.execute("UPDATE machine SET in_service = ? WHERE token = ? AND purchase_id IS NULL",
                  int(in_service), token) == 0:
        return 409, {"error": f"a purchase holds machine {token}"}
    return 200, machine_view(token)


# ----------------------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0].strip("/").split("/")
        if path == ["driver", "machines"]:
            return self.send(200, {"machines": [machine_view(token) for token in MACHINES]})
        if path[:2] == ["driver", "machines"] and len(path) == 3 and path[2] in MACHINES:
            return self.send(200, machine_view(path[2]))
        self.send(404, {"error": "not found"})

    def do_POST(self):
        path = self.path.split("?")[0].strip("/").split("/")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path == ["seqr", "createPurchase"]:
            try:
                answer = create_purchase(body)
            except Exception:
                traceback.print_exc()
                answer = {"errorCode": "SYSTEM_ERROR"}
            return self.send(200, answer)   # always 200 and JSON, errors too
        if path[:2] == ["seqr", "notify"] and len(path) == 3:
            # Answer 200 at once, then ask Glase: Glase waits for this answer, not for our work.
            self.send(200, None)
            return threading.Thread(target=on_notification, args=(path[2],), daemon=True).start()
        if path[:2] == ["driver", "machines"] and len(path) == 4 and path[2] in MACHINES:
            try:
                if path[3] == "vend":
                    return self.send(*vend(path[2], body))
                if path[3] in ("out-of-service", "in-service"):
                    return self.send(*set_in_service(path[2], path[3] == "in-service"))
            except Exception:
                traceback.print_exc()
                return self.send(500, {"error": "internal error"})
        self.send(404, {"error": "not found"})

    def send(self, status, answer):
        data = b"" if answer is None else json.dumps(answer).encode("utf-8")
        self.send_response(status)
        if answer is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass   # log() says what matters


def seconds(text):
    """'60', '60s', '500ms', '2m' -> seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 60s, 500ms, 2m)")
    return float(match[1]) * {"ms": 0.001, "s": 1, None: 1, "m": 60}[match[2]]


def main():
    global GLASE, DB, IDLE_TIMEOUT, PUBLIC_URL
    env = os.environ.get
    parser = argparse.ArgumentParser(description="A Glase vending backend, written to be read.")
    parser.add_argument("--listen", default=env("LISTEN", "127.0.0.1:8000"), help="HOST:PORT (env LISTEN)")
    parser.add_argument("--glase-url", default=env("GLASE_URL", "http://127.0.0.1:7070/extclientproxy/service/v2"),
                        help="Glase's SOAP URL (env GLASE_URL, which glase-conformance --start sets)")
    parser.add_argument("--idle-timeout", type=seconds, default=env("IDLE_TIMEOUT", "60s"),
                        help="cancel a reservation nobody uses after this (env IDLE_TIMEOUT; default 60s)")
    parser.add_argument("--public-url", default=env("PUBLIC_URL"),
                        help="how Glase reaches us, for notificationUrl (env PUBLIC_URL; default http://LISTEN)")
    args = parser.parse_args()
    IDLE_TIMEOUT, PUBLIC_URL = args.idle_timeout, (args.public_url or f"http://{args.listen}").rstrip("/")
    GLASE = Glase(args.glase_url, env("GLASE_TERMINAL_ID", "demo-terminal"), env("GLASE_TERMINAL_PASSWORD", "demo1234"),
                  client_id=env("GLASE_CLIENT_ID", "Example Vending AB"))
    DB = Db()
    for token, (name, currency, products) in MACHINES.items():
        DB.execute("INSERT INTO machine (token, name, currency) VALUES (?, ?, ?)", token, name, currency)
        for sku, product_name, price in products:
            DB.execute("INSERT INTO product VALUES (?, ?, ?, ?)", token, sku, product_name, price)
    threading.Thread(target=ticker, daemon=True).start()
    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Handler)
    log(f"listening on http://{args.listen}; Glase {args.glase_url}; idle timeout {IDLE_TIMEOUT:g} s")
    server.serve_forever()


if __name__ == "__main__":
    main()
