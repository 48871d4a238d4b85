#!/bin/bash
# `glase-conformance load` against the reference reseller as an external process that is
# killed with SIGKILL every 1-2 s while the flows run (and restarted on the same database
# and port), with Glase answering late or not at all now and then (fault injection on the
# load's embedded mock). Manual measurement, not run by the tests; prints the load's
# verdict (its invariants) and writes load-report.json into a temporary directory.
#
#   cargo build -p glase-conformance -p reference-reseller
#   reference-reseller/tests/measure/kill-under-load.sh [path/to/reference-reseller]
set -u
BIN=${CARGO_TARGET_DIR:-target}/debug
RESELLER=${1:-$BIN/reference-reseller}
D=$(mktemp -d)
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RP=$(port); GP=$(port)
cat > $D/reseller.toml <<T
glase_url = "http://127.0.0.1:$GP/extclientproxy/service/v2"
listen = "127.0.0.1:$RP"
database = "$D/db.sqlite"
glase_timeout = "1s"
[vending]
idle_timeout = "1s"
status_poll_interval = "1s"
[webshop]
unpaid_timeout = "5s"
poll_interval = "500ms"
T
start() { RUST_LOG=warn $RESELLER --config $D/reseller.toml --machines 40 >>$D/reseller.out 2>&1 & PID=$!; }
start
sleep 1
$BIN/glase-conformance load --create-purchase-url http://127.0.0.1:$RP/seqr/createPurchase \
    --machine-driver http://127.0.0.1:$RP --shop-driver http://127.0.0.1:$RP --glase-listen 127.0.0.1:$GP \
    --machines 40 --customers 80 --duration 20s --concurrency 16 --drain 20s --seed 5 --out $D > $D/load.out 2>&1 &
LOAD=$!
sleep 2
for fault in '{"operation":"sendInvoice","delay":"1500ms","probability":0.05}' \
             '{"operation":"sendInvoice","dropConnection":true,"probability":0.03}' \
             '{"operation":"commitReservation","delay":"1500ms","probability":0.05}' \
             '{"operation":"commitReservation","dropConnection":true,"probability":0.03}' \
             '{"operation":"getPaymentStatus","delay":"300ms","probability":0.05}'; do
    curl -s -X POST http://127.0.0.1:$GP/control/faults -H 'content-type: application/json' -d "$fault" >/dev/null
done
END=$((SECONDS + 18)); KILLS=0
while [ $SECONDS -lt $END ]; do
    sleep 1.$((RANDOM % 9))
    kill -9 $PID; wait $PID 2>/dev/null; KILLS=$((KILLS + 1))
    sleep 0.$((RANDOM % 3))
    start
done
wait $LOAD; STATUS=$?
kill $PID; wait $PID 2>/dev/null
grep -E "flows in" $D/load.out
sed -n '/Invariants:/,$p' $D/load.out
echo "$KILLS kills; load exit $STATUS; report and logs in $D"
