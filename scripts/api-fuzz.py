#!/usr/bin/env python3
"""Schema fuzzing of the HTTP API with schemathesis (SECURITY-TESTS.md, check R1).

Starts the `parley` binary on its embedded default in a temporary directory, signs up two
users, and runs schemathesis against the server's own /v1/openapi.json: as a logged-in user,
and anonymously. Every check must pass: no 5xx, every status documented, every response
matching its schema, schema-valid input accepted and schema-invalid input refused.

Usage: scripts/api-fuzz.py PATH_TO_PARLEY_BINARY SCHEMATHESIS_EXECUTABLE
Environment: PARLEY_FUZZ_EXAMPLES (default 100), PARLEY_FUZZ_SEED (default fixed, so a run is
reproducible; set another to explore).
"""

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.request

PASSWORD = "a long fuzzing passphrase"
# Which operations each run may call. Logging out would end the session the other operations
# are fuzzed with; the WebSocket upgrade is not a request/response schemathesis can check (the
# API tests cover it). Sign-up gets a run of its own: its password rules (not a common
# password, not containing the handle) cannot be written in JSON Schema, so a schema-valid
# sign-up may rightly be refused and that one check is off for it.
SIGN_UP = ["--include-path", "/v1/accounts", "--exclude-checks", "positive_data_acceptance"]
AUTHENTICATED = ["--exclude-path", "/v1/sessions/current", "--exclude-path", "/v1/stream", "--exclude-path", "/v1/accounts"]
ANONYMOUS = ["--exclude-path", "/v1/stream", "--exclude-path", "/v1/accounts"]


def start_server(binary, workdir):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PARLEY_HTTP__LISTEN": "127.0.0.1:0",
        # The fuzzer is one client sending thousands of requests: lift the per-client budgets.
        "PARLEY_HTTP__AUTH_ATTEMPTS_BURST": "1000000",
        "PARLEY_HTTP__AUTH_ATTEMPTS_PER_MINUTE": "1000000",
        "PARLEY_LIMITS__SEND_BURST": "1000000",
        "PARLEY_LIMITS__NEW_CONVERSATIONS_BURST": "1000000",
        "PARLEY_LOG": "warn",
    }
    server = subprocess.Popen([binary, "serve"], cwd=workdir, env=env, stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        sys.stderr.write(line)
        if line.startswith("Parley is listening on "):
            # Keep draining its log, or a full pipe would stall the server.
            threading.Thread(target=lambda: [sys.stderr.write(rest) for rest in server.stderr], daemon=True).start()
            return server, line.split()[-1]
    raise SystemExit(f"parley exited before listening (status {server.wait()})")


def post(url, body, context, token=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, context=context) as response:
        return json.load(response)


def run_schemathesis(schemathesis, workdir, base, ca_file, extra):
    examples = os.environ.get("PARLEY_FUZZ_EXAMPLES", "100")
    seed = os.environ.get("PARLEY_FUZZ_SEED", "20261126")
    command = [
        schemathesis, "--config-file", os.path.join(workdir, "schemathesis.toml"),
        "run", f"{base}/v1/openapi.json", "--url", base, "--tls-verify", ca_file,
        "--max-examples", examples, "--seed", seed, "--generation-database", "none", *extra,
    ]
    printable = [part if not part.startswith("Authorization:") else "Authorization: [redacted]" for part in command]
    print("+", " ".join(printable), flush=True)
    return subprocess.run(command, cwd=workdir).returncode


def main():
    binary, schemathesis = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory() as workdir:
        server, base = start_server(binary, workdir)
        try:
            ca_file = os.path.join(workdir, "data", "tls", "ca.pem")
            context = ssl.create_default_context(cafile=ca_file)
            for handle in ["fuzz_user", "fuzz_peer"]:
                post(f"{base}/v1/accounts", {"handle": handle, "email": f"{handle}@example.org", "password": PASSWORD, "accepted_policy_version": 1}, context)
            token = post(f"{base}/v1/sessions", {"login": "fuzz_user", "password": PASSWORD}, context)["token"]
            conversation = post(f"{base}/v1/conversations", {"with": "fuzz_peer", "my_role": "buyer"}, context, token)["id"]
            # Message operations take the user's real conversation, so their bodies and queries
            # are fuzzed past the participant check instead of all ending in 404.
            with open(os.path.join(workdir, "schemathesis.toml"), "w") as config:
                config.write(f'[parameters]\n"path.id" = "{conversation}"\n')
            run = lambda extra: run_schemathesis(schemathesis, workdir, base, ca_file, extra)
            failures = run(["-H", f"Authorization: Bearer {token}", *AUTHENTICATED])
            failures += run(ANONYMOUS)
            failures += run(SIGN_UP)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    if failures:
        raise SystemExit("schemathesis found problems (see above)")


if __name__ == "__main__":
    main()
