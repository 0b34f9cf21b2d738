#!/usr/bin/env python3
"""Install, start, health-check, reset and stop the AWS emulators mamori is tested against.

Two engines, both run on the host (no Docker):

  moto        moto server, pinned in moto-requirements.txt (default engine)
  localstack  LocalStack community, pinned in localstack-requirements.txt (needs Python >= 3.12)

Each engine is installed into its own ignored virtualenv under `.venv/` at the repository root, the
first time it is needed. `start` picks a free loopback port, starts the server in its own process group,
waits until it is healthy and prints two lines on stdout:

  endpoint=http://127.0.0.1:PORT
  pid=PID

Usage:
  python3 localstack/emulator.py install ENGINE
  python3 localstack/emulator.py start ENGINE [--port N] [--owner-pid PID] [--propagation-delay SECONDS]
  python3 localstack/emulator.py health ENGINE --endpoint URL
  python3 localstack/emulator.py reset ENGINE --endpoint URL --pid PID
  python3 localstack/emulator.py stop --pid PID
  python3 localstack/emulator.py root-console moto --endpoint URL --account ID [--mfa none|virtual|hardware]
        [--access-key true|false] [--password true|false] [--signed-in-days-ago N]
  python3 localstack/emulator.py propagation-delay moto --endpoint URL --account ID --seconds N
  python3 localstack/emulator.py trail-delivery moto --endpoint URL --account ID --trail NAME_OR_ARN [--region R]
        [--s3-error TEXT] [--cloudwatch-logs-error TEXT] [--delivered-hours-ago N] [--logging-started-hours-ago N]
  python3 localstack/emulator.py confirm-subscription moto --endpoint URL --account ID --topic-arn ARN --subscriber ENDPOINT
  python3 localstack/emulator.py enable-region moto --endpoint URL --account ID --region REGION
  python3 localstack/emulator.py project-vpc moto --endpoint URL --account ID [--region REGION]

`root-console` plays, on moto, what only the root user can do in the AWS console (enrol an MFA device,
create or delete its access keys, sign in): see shims/emulator_shims/root_user.py. With
`--access-key true` it prints `access_key_id=AKIAROOT<ACCOUNT>`: requests signed with that key (any
secret) act as the account's root user. `trail-delivery` sets what CloudTrail reports about a trail's
deliveries (an error, the last delivery N hours ago: shims/emulator_shims/cloudtrail_delivery_status.py);
`confirm-subscription` plays the recipient who confirms an e-mail or HTTPS subscription
(shims/emulator_shims/sns_subscription_confirmation.py). `enable-region` sends `account:EnableRegion`,
which the shim shims/emulator_shims/region_opt_in.py adds to moto. `project-vpc` makes what a team's
network stack would have made before mamori runs: a VPC (10.20.0.0/16) with two private subnets in two
availability zones, each with a route table of its own, and prints their ids (EC2 API calls, as the
AWS CLI would send them).

`propagation-delay` gives one account a propagation delay of its own (test scaffolding: a test of one
rule then does not depend on how fast the machine is); see shims/emulator_shims/propagation_delay.py.

`--propagation-delay SECONDS` turns on the shims that model AWS's eventual consistency (a new IAM
role, KMS key or instance profile refused by the services that use it, bucket configuration reads
lagging behind writes) for that many seconds; see shims/emulator_shims/propagation_delay.py.

`--owner-pid` ties the server's life to another process (a test binary): a small watchdog stops the
server once that process is gone, so an aborted test run never leaves an emulator behind.

Known behaviours handled here: LocalStack ignores SIGTERM (stop falls back to SIGKILL after a grace
period) and prints "Ready." even when its port is already taken (start checks that the process it
started is the one listening on the port).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENVS = ROOT / ".venv"
STATE = ROOT / ".venv" / "run"

ENGINES = {
    "moto": {"requirements": HERE / "moto-requirements.txt", "min_python": (3, 9)},
    "localstack": {"requirements": HERE / "localstack-requirements.txt", "min_python": (3, 12)},
}

# Services LocalStack is asked to start: those mamori's controls call.
LOCALSTACK_SERVICES = "sts,iam,kms,ec2,s3,s3control,ssm,logs,cloudwatch,sns,cloudtrail,organizations,route53"


def fail(message: str) -> None:
    print(f"emulator: {message}", file=sys.stderr)
    sys.exit(1)


def python_version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def find_python(minimum: tuple[int, int]) -> str:
    """A Python interpreter at least `minimum`: $MAMORI_PYTHON, then PATH, then pyenv's versions."""
    candidates = []
    if os.environ.get("MAMORI_PYTHON"):
        candidates.append(os.environ["MAMORI_PYTHON"])
    candidates += ["python3.13", "python3.12", "python3"]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")), reverse=True)
    candidates += sorted(glob.glob("/root/.pyenv/versions/3.1[2-9]*/bin/python3"), reverse=True)
    for candidate in candidates:
        version = python_version(candidate)
        if version and version >= minimum:
            return candidate
    fail(f"no Python >= {minimum[0]}.{minimum[1]} found (set MAMORI_PYTHON to one)")
    return ""  # unreachable


def venv_dir(engine: str) -> Path:
    return VENVS / engine


def install(engine: str) -> Path:
    """Create the engine's venv and install its pinned requirements, unless that is already done."""
    spec = ENGINES[engine]
    venv = venv_dir(engine)
    requirements = spec["requirements"].read_text()
    stamp = venv / ".installed-requirements"
    if stamp.exists() and stamp.read_text() == requirements:
        return venv
    python = find_python(spec["min_python"])
    print(f"emulator: installing {engine} into {venv} with {python}", file=sys.stderr)
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["-r", str(spec["requirements"])], check=True, stdout=sys.stderr)
    stamp.write_text(requirements)
    return venv


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def health_url(engine: str, endpoint: str) -> str:
    return endpoint + ("/moto-api/data.json" if engine == "moto" else "/_localstack/health")


def healthy(engine: str, endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(health_url(engine, endpoint), timeout=2) as response:
            if response.status != 200:
                return False
            body = response.read()
    except (urllib.error.URLError, OSError, ValueError):
        return False
    if engine == "localstack":
        try:
            services = json.loads(body).get("services", {})
        except ValueError:
            return False
        return bool(services)
    return True


def listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port` (IPv4 and IPv6), read from /proc/net."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def process_tree(pid: int) -> set[int]:
    """`pid` and its descendants."""
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        parts = text.rsplit(")", 1)[1].split()
        children.setdefault(int(parts[1]), []).append(int(stat.split("/")[2]))
    tree, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current not in tree:
            tree.add(current)
            todo.extend(children.get(current, []))
    return tree


def owns_port(pid: int, port: int) -> bool:
    """True when the process tree of `pid` holds the socket listening on `port`."""
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    if not wanted:
        return False
    for member in process_tree(pid):
        for fd in glob.glob(f"/proc/{member}/fd/*"):
            try:
                if os.readlink(fd) in wanted:
                    return True
            except OSError:
                continue
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop(pid: int, grace: float = 3.0) -> None:
    """Stop the process group of `pid`: SIGTERM, then SIGKILL after `grace` seconds (LocalStack ignores SIGTERM)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.1)


def server_command(engine: str, venv: Path, port: int, workdir: Path, propagation_delay: float) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    env["MAMORI_EMULATOR_PROPAGATION_SECONDS"] = str(propagation_delay)
    # shims/sitecustomize.py loads the shims (shims/emulator_shims/, listed in README.md) into the server process.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE / "shims"), env.get("PYTHONPATH")]))
    if engine == "moto":
        env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        return [str(venv / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], env
    (workdir / "fs").mkdir(parents=True, exist_ok=True)
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    env.update({
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "OVERRIDE_IN_DOCKER": "0",
        "FILESYSTEM_ROOT": str(workdir / "fs"),
        "TMPDIR": str(workdir / "tmp"),
        "DNS_ADDRESS": "0",
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "SERVICES": LOCALSTACK_SERVICES,
        "EAGER_SERVICE_LOADING": "0",
    })
    return [str(venv / "bin" / "python"), "-m", "localstack.runtime.main"], env


def watchdog(owner: int, server: int) -> None:
    """Fork a detached process that stops `server` once `owner` has exited."""
    if os.fork() != 0:
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    while alive(owner) and alive(server):
        time.sleep(0.5)
    stop(server)
    os._exit(0)


def prune_state(keep_for: float = 86400) -> None:
    """Remove the state folders (server log, LocalStack's files) of servers that stopped more than
    `keep_for` seconds ago, so that a day's logs stay for a look after a failed run."""
    if not STATE.is_dir():
        return
    now = time.time()
    for workdir in STATE.iterdir():
        pid_file = workdir / "pid"
        try:
            running = pid_file.is_file() and alive(int(pid_file.read_text()))
            stale = now - workdir.stat().st_mtime > keep_for
        except (OSError, ValueError):
            continue
        if stale and not running:
            shutil.rmtree(workdir, ignore_errors=True)


def start(engine: str, port: int | None, owner: int | None, timeout: float, propagation_delay: float = 0) -> tuple[str, int]:
    venv = install(engine)
    prune_state()
    port = port or free_port()
    if port_in_use(port):
        fail(f"port {port} is already taken")
    workdir = STATE / f"{engine}-{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    command, env = server_command(engine, venv, port, workdir, propagation_delay)
    log = open(workdir / "server.log", "wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True, cwd=workdir)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"{engine} exited with {process.returncode} before it was healthy; see {workdir / 'server.log'}")
        if healthy(engine, endpoint):
            if not owns_port(process.pid, port):
                stop(process.pid)
                fail(f"{engine} reports healthy but another process holds port {port}")
            (workdir / "pid").write_text(str(process.pid))
            if owner:
                watchdog(owner, process.pid)
            return endpoint, process.pid
        time.sleep(0.1)
    stop(process.pid)
    fail(f"{engine} was not healthy after {timeout:.0f}s; see {workdir / 'server.log'}")
    return "", 0  # unreachable


def reset(engine: str, endpoint: str, pid: int | None) -> tuple[str, int | None]:
    """moto: its reset endpoint. LocalStack has none: restart it on the same port."""
    if engine == "moto":
        request = urllib.request.Request(endpoint + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=60):
            pass
        return endpoint, pid
    if pid is None:
        fail("resetting localstack needs --pid (it is restarted)")
    port = int(endpoint.rsplit(":", 1)[1])
    stop(pid)
    return start(engine, port, None, 120)


def emulator_call(endpoint: str, account: str, service: str, region: str, body: bytes, content_type: str,
                  path: str = "/", target: str | None = None) -> bytes:
    """Sends one API call to the emulator for `account`, signed for `service` in `region` as far as
    moto looks (it reads the credential scope, not the signature), and returns the response body.
    Emulator-only actions (test scaffolding) and ordinary calls alike."""
    headers = {
        "Content-Type": content_type,
        "x-moto-account-id": account,
        "Authorization": f"AWS4-HMAC-SHA256 Credential=mamori-emulator/20260101/{region}/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    if target:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(endpoint + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()
    except urllib.error.HTTPError as e:
        fail(f"{service} {path}: HTTP {e.code}: {e.read().decode(errors='replace')}")


def query_call(endpoint: str, account: str, service: str, region: str, params: dict[str, str]) -> ET.Element:
    """An AWS Query API call (IAM, EC2, SNS): form parameters in, the XML answer out."""
    body = urllib.parse.urlencode(params).encode()
    return ET.fromstring(emulator_call(endpoint, account, service, region, body, "application/x-www-form-urlencoded"))


def xml_text(answer: ET.Element, name: str, required: bool = True) -> str:
    """The text of the first element called `name` (any namespace) in an API answer."""
    for element in answer.iter():
        if element.tag.rsplit("}", 1)[-1] == name:
            return element.text or ""
    if required:
        fail(f"no <{name}> in the emulator's answer: {ET.tostring(answer, encoding='unicode')}")
    return ""


def root_console(endpoint: str, account: str, settings: dict[str, str]) -> None:
    """Sends the shim's emulator-only `MamoriEmulatorRootConsole` action for `account`; prints
    `access_key_id=...` when the root user then has an access key (any secret goes with it)."""
    answer = query_call(endpoint, account, "iam", "us-east-1", {"Action": "MamoriEmulatorRootConsole", "Version": "2010-05-08", **settings})
    key = xml_text(answer, "AccessKeyId", required=False)
    if key:
        print(f"access_key_id={key}")


def propagation_delay(endpoint: str, account: str, seconds: float) -> None:
    """Gives `account` a propagation delay of its own (shims/emulator_shims/propagation_delay.py)."""
    query_call(endpoint, account, "iam", "us-east-1", {"Action": "MamoriEmulatorPropagationDelay", "Version": "2010-05-08", "Seconds": str(seconds)})


def trail_delivery(endpoint: str, account: str, region: str, settings: dict[str, object]) -> None:
    """Sends the shim's emulator-only `MamoriEmulatorTrailDelivery` action (shims/emulator_shims/cloudtrail_delivery_status.py)."""
    emulator_call(endpoint, account, "cloudtrail", region, json.dumps(settings).encode(), "application/x-amz-json-1.1",
                  target="CloudTrail_20131101.MamoriEmulatorTrailDelivery")


def confirm_subscription(endpoint: str, account: str, region: str, topic_arn: str, subscriber: str) -> None:
    """Plays the recipient confirming a subscription (shims/emulator_shims/sns_subscription_confirmation.py)."""
    query_call(endpoint, account, "sns", region, {"Action": "MamoriEmulatorConfirmSubscription", "Version": "2010-03-31",
                                                  "TopicArn": topic_arn, "Endpoint": subscriber})
def enable_region(endpoint: str, account: str, region: str) -> None:
    """`account:EnableRegion` for `account` (moto gets it from the region_opt_in shim)."""
    body = json.dumps({"RegionName": region}).encode()
    emulator_call(endpoint, account, "account", "us-east-1", body, "application/json", "/enableRegion")


def project_vpc(endpoint: str, account: str, region: str) -> None:
    """A project VPC: two private subnets in two zones, a route table each; prints what it made."""
    ec2 = lambda params: query_call(endpoint, account, "ec2", region, {"Version": "2016-11-15", **params})  # noqa: E731
    vpc = xml_text(ec2({"Action": "CreateVpc", "CidrBlock": "10.20.0.0/16", "TagSpecification.1.ResourceType": "vpc",
                        "TagSpecification.1.Tag.1.Key": "Name", "TagSpecification.1.Tag.1.Value": "project"}), "vpcId")
    print(f"vpc={vpc} 10.20.0.0/16")
    for number, zone in enumerate(["a", "b"], start=1):
        zone = region + zone
        cidr = f"10.20.{number}.0/24"
        subnet = xml_text(ec2({"Action": "CreateSubnet", "VpcId": vpc, "CidrBlock": cidr, "AvailabilityZone": zone}), "subnetId")
        table = xml_text(ec2({"Action": "CreateRouteTable", "VpcId": vpc}), "routeTableId")
        ec2({"Action": "AssociateRouteTable", "RouteTableId": table, "SubnetId": subnet})
        print(f"subnet={subnet} {zone} {cidr} private, route table {table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["install", "start", "health", "reset", "stop", "root-console", "propagation-delay",
                                           "trail-delivery", "confirm-subscription", "enable-region", "project-vpc"])
    parser.add_argument("engine", nargs="?", choices=sorted(ENGINES))
    parser.add_argument("--port", type=int)
    parser.add_argument("--owner-pid", type=int)
    parser.add_argument("--endpoint")
    parser.add_argument("--pid", type=int)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--propagation-delay", type=float, default=0)
    parser.add_argument("--account")
    parser.add_argument("--mfa", choices=["none", "virtual", "hardware"])
    parser.add_argument("--access-key", choices=["true", "false"])
    parser.add_argument("--password", choices=["true", "false"])
    parser.add_argument("--signed-in-days-ago", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--region")
    parser.add_argument("--trail")
    parser.add_argument("--s3-error")
    parser.add_argument("--cloudwatch-logs-error")
    parser.add_argument("--delivered-hours-ago", type=int)
    parser.add_argument("--logging-started-hours-ago", type=int)
    parser.add_argument("--topic-arn")
    parser.add_argument("--subscriber")
    args = parser.parse_args()
    if args.action != "stop" and not args.engine:
        fail(f"{args.action} needs an engine: {', '.join(sorted(ENGINES))}")
    if args.action == "install":
        print(install(args.engine))
    elif args.action == "start":
        endpoint, pid = start(args.engine, args.port, args.owner_pid, args.timeout, args.propagation_delay)
        print(f"endpoint={endpoint}\npid={pid}", flush=True)
    elif args.action == "health":
        if not args.endpoint:
            fail("health needs --endpoint")
        ok = healthy(args.engine, args.endpoint)
        print("healthy" if ok else "unhealthy")
        sys.exit(0 if ok else 1)
    elif args.action == "reset":
        if not args.endpoint:
            fail("reset needs --endpoint")
        endpoint, pid = reset(args.engine, args.endpoint, args.pid)
        print(f"endpoint={endpoint}\npid={pid}")
    elif args.action == "root-console":
        if args.engine != "moto" or not args.endpoint or not args.account:
            fail("root-console needs the moto engine, --endpoint and --account")
        settings = {
            "Mfa": args.mfa,
            "AccessKey": args.access_key,
            "Password": args.password,
            "SignedInDaysAgo": None if args.signed_in_days_ago is None else str(args.signed_in_days_ago),
        }
        root_console(args.endpoint, args.account, {k: v for k, v in settings.items() if v is not None})
    elif args.action == "propagation-delay":
        if args.engine != "moto" or not args.endpoint or not args.account or args.seconds is None:
            fail("propagation-delay needs the moto engine, --endpoint, --account and --seconds")
        propagation_delay(args.endpoint, args.account, args.seconds)
    elif args.action == "trail-delivery":
        if args.engine != "moto" or not args.endpoint or not args.account or not args.trail:
            fail("trail-delivery needs the moto engine, --endpoint, --account and --trail")
        settings = {
            "Name": args.trail,
            "S3Error": args.s3_error,
            "CloudWatchLogsError": args.cloudwatch_logs_error,
            "DeliveredHoursAgo": args.delivered_hours_ago,
            "LoggingStartedHoursAgo": args.logging_started_hours_ago,
        }
        trail_delivery(args.endpoint, args.account, args.region or "us-east-1", {k: v for k, v in settings.items() if v is not None})
    elif args.action == "confirm-subscription":
        if args.engine != "moto" or not args.endpoint or not args.account or not args.topic_arn or not args.subscriber:
            fail("confirm-subscription needs the moto engine, --endpoint, --account, --topic-arn and --subscriber")
        confirm_subscription(args.endpoint, args.account, args.region or "us-east-1", args.topic_arn, args.subscriber)
    elif args.action in ("enable-region", "project-vpc"):
        if args.engine != "moto" or not args.endpoint or not args.account:
            fail(f"{args.action} needs the moto engine, --endpoint and --account")
        if args.action == "enable-region":
            if not args.region:
                fail("enable-region needs --region")
            enable_region(args.endpoint, args.account, args.region)
        else:
            project_vpc(args.endpoint, args.account, args.region or "us-east-1")
    elif args.action == "stop":
        if not args.pid:
            fail("stop needs --pid")
        stop(args.pid)


if __name__ == "__main__":
    main()
