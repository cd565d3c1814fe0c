#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# make demo: start enos-sim on a free port, run c_examples/report against it
# (authenticate, two reports), show what the simulator recorded, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEMO_PK=MuGsF6W4 DEMO_DK=15bBZlRknc DEMO_SECRET=sMgTXBUvDNeWGAJWnDcT
exec test/c/with-sim.sh --one -- bash -c '
  echo "enos-sim is listening on $ENOS_SIM_ADDR with device $DEMO_PK/$DEMO_DK"
  echo "\$ build/report $ENOS_SIM_ADDR $DEMO_PK $DEMO_DK <secret> temperature=21.5 humidity=40"
  echo
  rc=0
  build/report "$ENOS_SIM_ADDR" "$DEMO_PK" "$DEMO_DK" "$DEMO_SECRET" "temperature=21.5" "humidity=40" || rc=$?
  echo
  echo "what enos-sim recorded (its --log, one JSON line per accepted message):"
  if command -v python3 >/dev/null; then
    python3 -c "
import base64, json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(\"  sequence %d  %s  payload %r\" % (r[\"sequence\"], r[\"topic\"], base64.b64decode(r[\"payload\"] or \"\").decode(\"utf-8\", \"replace\")))
" "$ENOS_SIM_LOG"
  else
    sed "s/^/  /" "$ENOS_SIM_LOG"
  fi
  echo
  echo "To report to a real EnOS: build/report coap-<your-enos-host> PRODUCT_KEY DEVICE_KEY DEVICE_SECRET PAYLOAD..."
  exit $rc'
