# Sourced by the bench scripts: starts a vgpu-mediator and waits until it listens.
# start_mediator MEDIATOR_BINARY CONFIG LOG: sets mediator_pid and mediator_port (the first
# endpoint's); fails showing the log when the mediator is not listening within 10 s.
start_mediator() {
  local binary=$1 config=$2 log=$3 ready=$2.ready.json
  rm -f "$ready"
  "$binary" --config "$config" --ready-file "$ready" 2>"$log" &
  mediator_pid=$!
  for _ in $(seq 100); do
    [ -s "$ready" ] && break
    kill -0 "$mediator_pid" 2>/dev/null || break  # it exited: no point waiting
    sleep 0.1
  done
  if [ ! -s "$ready" ]; then
    echo "vgpu-mediator ($config) did not start; its log:" >&2
    cat "$log" >&2
    return 1
  fi
  mediator_port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['endpoints'][0].rsplit(':',1)[1])" "$ready")
}
