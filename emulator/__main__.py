"""``python -m emulator``: start the local Cloudflare API and serve until SIGTERM or SIGINT."""
import argparse
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
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--zone", action="append", dest="zones", metavar="NAME",
                        help="zone ensured in the account at start; repeatable (default: %s)" % DEFAULT_ZONE)
    parser.add_argument("--quiet", action="store_true", help="do not log one line per request to stderr")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    state = build_state(args.data_dir, args.account_id, args.token, DEFAULT_ACCOUNT_NAME, log_requests=not args.quiet,
                        zones=args.zones or [DEFAULT_ZONE])
    server = EmulatorServer((args.host, args.port), state)
    stopping = threading.Event()

    def stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="emulator-http", daemon=True)
    serving.start()
    host = "127.0.0.1" if args.host in ("", "0.0.0.0", "::") else args.host
    port = server.server_address[1]
    print("cfops emulator ready: http://%s:%d%s" % (host, port, API_PREFIX), flush=True)
    while not stopping.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    state.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
