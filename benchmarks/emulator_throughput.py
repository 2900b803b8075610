"""Figures for the emulator itself: requests per second at 1 and 8 concurrent clients.

Two workloads against one emulator: a KV value read (GET .../values/{key}) and a DNS list page
(GET /zones/{id}/dns_records?per_page=100&page=P, P random) in a zone of 20,000 records; plus a DNS
lookup by name (?name=...), the call a single-record module makes. Also the emulator's own CPU time per
request and its share of one core: the server is one Python process (one core at most, the GIL), so on a
small machine its throughput is capped by the CPU the clients leave it. Each client is its own process with
one keep-alive connection (so the clients' own GIL does not cap the figure); requests/s is the total
over the run, latency percentiles over every request. Not a test: it asserts only that every call
answered 200, and prints figures.

    .venv/bin/python benchmarks/emulator_throughput.py [--records 20000] [--seconds 5] [--clients 1 8]
"""
import argparse
import http.client
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.support.emulator import EmulatorProcess  # noqa: E402


def _request(connection, token, method, path, body=None):
    headers = {"Authorization": "Bearer " + token}
    if body is not None:
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    return response.status, data


def _client(args):
    host, port, token, paths, seconds, seed = args
    rng = random.Random(seed)
    connection = http.client.HTTPConnection(host, port, timeout=60)
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        path = rng.choice(paths)
        started = time.monotonic()
        status, _data = _request(connection, token, "GET", path)
        latencies.append(time.monotonic() - started)
        failures += status != 200
    connection.close()
    return latencies, failures


def _cpu_seconds(pid):
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(emulator, paths, clients, seconds):
    pid = emulator._process.pid
    with multiprocessing.Pool(clients) as pool:
        cpu = _cpu_seconds(pid)
        started = time.monotonic()
        results = pool.map(_client, [(emulator.host, emulator.port, emulator.token, paths, seconds, index)
                                     for index in range(clients)])
        elapsed = time.monotonic() - started
        cpu = _cpu_seconds(pid) - cpu
    latencies = sorted(latency for result, _failures in results for latency in result)
    failures = sum(failures for _result, failures in results)
    if failures:
        raise SystemExit("%d calls did not answer 200" % failures)

    def percentile(fraction):
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000
    return {"rps": len(latencies) / elapsed, "p50": percentile(0.50), "p99": percentile(0.99), "n": len(latencies),
            "cpu_ms": cpu * 1000 / max(1, len(latencies)), "cpu_share": cpu / elapsed}


def setup(emulator, records):
    connection = http.client.HTTPConnection(emulator.host, emulator.port, timeout=600)
    token, account = emulator.token, emulator.account_id
    status, data = _request(connection, token, "GET", "/client/v4/zones?name=example.com")
    zone_id = json.loads(data)["result"][0]["id"]
    for start in range(0, records, 3500):
        posts = [{"type": "A", "name": "host%05d" % index, "content": "10.%d.%d.%d" % (index // 62500, index // 250 % 250, index % 250 + 1),
                  "ttl": 300} for index in range(start, min(records, start + 3500))]
        status, data = _request(connection, token, "POST", "/client/v4/zones/%s/dns_records/batch" % zone_id, {"posts": posts})
        if status != 200:
            raise SystemExit("batch failed: %s" % data[:500])
    base = "/client/v4/accounts/%s/storage/kv/namespaces" % account
    status, data = _request(connection, token, "POST", base, {"title": "bench-throughput"})
    namespace = json.loads(data)["result"]["id"]
    connection.request("PUT", "%s/%s/values/greeting" % (base, namespace), body=b"hello world",
                       headers={"Authorization": "Bearer " + token})
    connection.getresponse().read()
    connection.close()
    pages = max(1, records // 100)
    return {
        "KV value read": ["%s/%s/values/greeting" % (base, namespace)],
        "DNS page (100 of %d)" % records: [
            "/client/v4/zones/%s/dns_records?per_page=100&page=%d" % (zone_id, page) for page in range(1, pages + 1)],
        "DNS lookup by name": ["/client/v4/zones/%s/dns_records?name=host%05d.example.com&type=A" % (zone_id, index)
                               for index in range(0, records, max(1, records // 500))],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, \
            EmulatorProcess(data_dir=os.path.join(work, "emu"), zones=["example.com:pro"]) as emulator:
        workloads = setup(emulator, args.records)
        print("%-28s %8s %10s %9s %9s %8s %13s %11s" % ("workload", "clients", "req/s", "p50 ms", "p99 ms", "x 1",
                                                        "server cpu/req", "server cpu"))
        for label, paths in workloads.items():
            single = None
            for clients in args.clients:
                figures = run(emulator, paths, clients, args.seconds)
                single = single or figures["rps"]
                print("%-28s %8d %10.0f %9.1f %9.1f %8.2f %10.2f ms %10.0f%%"
                      % (label, clients, figures["rps"], figures["p50"], figures["p99"], figures["rps"] / single,
                         figures["cpu_ms"], 100 * figures["cpu_share"]))


if __name__ == "__main__":
    main()
