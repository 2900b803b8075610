"""``python -m emulator``: start the local Cloudflare API and serve until SIGTERM or SIGINT."""
import argparse
import ipaddress
import secrets
import signal
import sys
import threading

from emulator import DEFAULT_ACCOUNT_ID, DEFAULT_ACCOUNT_NAME, DEFAULT_PORT, DEFAULT_TOKEN, DEFAULT_ZONE
from emulator.server import API_PREFIX, EmulatorServer, build_state


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m emulator", description="Local Cloudflare v4 API emulator")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on; 0 picks a free one (default %(default)s)")
    parser.add_argument("--data-dir", default=".emulator-data", help="directory of the SQLite state (default %(default)s)")
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID, help="account ensured at start (default %(default)s)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="API token ensured at start, valid for every account")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default %(default)s). Anything but a loopback address exposes "
                             "the API (with the well-known default token) and the admin API (behind its token) to "
                             "the network: a loud warning says so")
    parser.add_argument("--zone", action="append", dest="zones", metavar="NAME",
                        help="zone ensured in the account at start, NAME or NAME:PLAN (free, pro, business, "
                             "enterprise); repeatable (default: %s on the free plan)" % DEFAULT_ZONE)
    parser.add_argument("--quiet", action="store_true", help="do not log one line per request to stderr")
    parser.add_argument("--no-admin", dest="admin", action="store_false",
                        help="serve no admin API: /__emulator/* answers 404 like an unknown route (as Cloudflare does), "
                             "to rehearse live mode (docs/dev/live-mode.md); the edge runtime's own calls still work")
    parser.add_argument("--edge-port", type=int, default=None, metavar="P",
                        help="also run the deployed Workers in workerd on 127.0.0.1:P (0 picks a free port; "
                             "default: no edge). Needs node and emulator/runtime/node_modules (scripts/bootstrap.sh)")
    parser.add_argument("--edge-timeout", type=float, default=60, metavar="S",
                        help="seconds the edge runtime may take to start (default %(default)s)")
    return parser.parse_args(argv)


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def warn_exposed(host, port, default_token):
    lines = [
        "!" * 78,
        "WARNING: the cfops emulator listens on %s port %d, NOT a loopback address:" % (host or "every interface", port),
        "  every machine that can reach this port can call its Cloudflare API%s," % (
            " with the well-known default token (pass --token)" if default_token else ""),
        "  read and write its KV, D1 and R2 data, and try the admin API (it needs <data-dir>/admin-token).",
        "  Use --host 127.0.0.1 (the default) unless this exposure is what you want.",
        "!" * 78,
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    state = build_state(args.data_dir, args.account_id, args.token, DEFAULT_ACCOUNT_NAME, log_requests=not args.quiet,
                        zones=args.zones or [DEFAULT_ZONE], admin=args.admin)
    state.edge_credential = secrets.token_urlsafe(32)  # new at every start, known to this process and the edge only
    server = EmulatorServer((args.host, args.port), state)
    stopping = threading.Event()

    def stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="emulator-http", daemon=True)
    serving.start()
    bound, port = server.server_address[0], server.server_address[1]
    if not is_loopback(bound):
        warn_exposed(bound, port, args.token == DEFAULT_TOKEN)
    edge = None
    if args.edge_port is not None:
        from emulator.runtime import EdgeError, EdgeRuntime  # noqa: PLC0415 - API-only runs never load the runtime
        try:
            edge = EdgeRuntime(state.store, port, args.edge_port, args.data_dir, args.edge_timeout,
                               credential=state.edge_credential).start()
        except EdgeError as exc:
            print("cfops emulator: %s" % exc, file=sys.stderr, flush=True)
            server.shutdown()
            server.server_close()
            return 1
        state.edge = edge  # for /__emulator/edge (emulator/bindings.py)
    # The address really bound (0.0.0.0 or [::] when listening on every interface), not a reassuring 127.0.0.1.
    print("cfops emulator ready: http://%s:%d%s" % ("[%s]" % bound if ":" in bound else bound, port, API_PREFIX), flush=True)
    if edge is not None:
        print("cfops emulator edge: %s" % edge.url, flush=True)
    while not stopping.wait(0.5):
        pass
    if edge is not None:
        edge.stop()
    server.shutdown()
    server.server_close()
    state.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
