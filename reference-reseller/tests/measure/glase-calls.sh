#!/bin/bash
# How many Glase calls the reference reseller makes for (A) 2400 unpaid public checkouts
# and (B) a burst of 3000 notification POSTs for one vending purchase. Manual measurement,
# not run by the tests; needs curl and python3.
#
#   cargo build -p mock-glase -p reference-reseller
#   reference-reseller/tests/measure/glase-calls.sh [path/to/reference-reseller]
set -u
BIN=${CARGO_TARGET_DIR:-target}/debug
RESELLER=${1:-$BIN/reference-reseller}
D=$(mktemp -d)
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
start() {
    GP=$(port); RP=$(port); G=http://127.0.0.1:$GP; R=http://127.0.0.1:$RP
    rm -f $D/db.sqlite*
    $BIN/mock-glase --listen 127.0.0.1:$GP > $D/mock.out 2>&1 & MOCK=$!
    RUST_LOG=warn $RESELLER --glase-url $G/extclientproxy/service/v2 --listen 127.0.0.1:$RP \
        --database $D/db.sqlite > $D/reseller.out 2>&1 & RES=$!
    sleep 1.5
}
stop() { kill $RES $MOCK; wait $RES $MOCK 2>/dev/null; }
status_calls() {  # getPaymentStatus requests in the journal (of invoice $1, or all), after ms $2
    curl -s "$G/control/journal.jsonl" | python3 -c '
import json,sys
invoice, after, n = sys.argv[1], int(sys.argv[2]), 0
for line in sys.stdin:
    e = json.loads(line)
    if e.get("kind") == "soapRequest" and e.get("operation") == "getPaymentStatus" \
       and (invoice == "" or e.get("invoice") == invoice) and e["at"] >= after: n += 1
print(n)' "$1" "$2"
}
now_ms() { python3 -c 'import time;print(int(time.time()*1000))'; }

# (A) 2400 checkouts nobody pays; the default shop polls every 1 s.
start
seq 2400 | xargs -P 16 -I{} curl -s -o /dev/null -X POST $R/driver/shop/checkout \
    -H 'content-type: application/json' -d '{"items":[{"sku":"cable","quantity":1}]}'
sleep 3; t0=$(now_ms); sleep 5
echo "(A) 2400 unpaid checkouts: $(( $(status_calls "" $t0) / 5 )) getPaymentStatus/s (5 s window)"
stop

# (B) one purchase unlocked, then 3000 notification POSTs to its notificationUrl while
# Glase takes 200 ms to answer getPaymentStatus.
start
curl -s -X PUT $G/control/merchants/glase-demo -H 'content-type: application/json' \
    -d "{\"createPurchaseUrl\":\"$R/seqr/createPurchase\"}" >/dev/null
REF=$(curl -s -X POST $G/control/customer/scan -H 'content-type: application/json' \
    -d '{"qr":"HTTP://SEQR.SE/000/ups?w=glase-demo&t=machine-1"}' \
    | python3 -c 'import json,sys;print(json.load(sys.stdin)["purchase"]["invoiceReference"])')
curl -s -X POST $G/control/customer/confirm -H 'content-type: application/json' \
    -d "{\"invoiceReference\":\"$REF\"}" >/dev/null
sleep 1
URL=$(curl -s $G/control/invoices/$REF | python3 -c 'import json,sys;print(json.load(sys.stdin)["invoice"]["notificationUrl"])')
curl -s -X POST $G/control/faults -H 'content-type: application/json' \
    -d '{"operation":"getPaymentStatus","delay":"200ms"}' >/dev/null
t0=$(now_ms)
python3 - "$URL" <<'P'
import sys, threading, time, urllib.request
url, left, lock = sys.argv[1], [3000], threading.Lock()
def post():
    while True:
        with lock:
            if left[0] == 0: return
            left[0] -= 1
        urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b"")).read()
start = time.time(); threads = [threading.Thread(target=post) for _ in range(64)]
[t.start() for t in threads]; [t.join() for t in threads]
print(f"    (the 3000 POSTs took {time.time() - start:.1f} s)")
P
sleep 2; a=$(status_calls $REF $t0); sleep 8; b=$(status_calls $REF $t0)
echo "(B) 3000 notifications: $a getPaymentStatus calls 2 s after the burst, $b after 10 s"
stop
rm -rf $D
