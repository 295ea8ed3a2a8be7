"""A real Neo4j 5.26 server (Community) from Maven Central on Java 17.

build(): the runtime dependency closure of org.neo4j:neo4j (tests/testenv/neo4j/pom.xml) is copied by Maven into
<cache>/neo4j-<version>/lib once. start(): an instance directory (NEO4J_HOME) gets a `lib` link to the cache, its
own conf/neo4j.conf (loopback, free ports, auth on, small memory), fresh data and a random initial password; the
server runs in the foreground (`Neo4jCommand console`) in its own process group.

Besides the shared instance of `testenv.py up`, tests that must stop the server or change its password start a
private one so they never disturb other tests:

    sys.path.insert(0, "tests/testenv"); from components.neo4j_server import Neo4jInstance
    with private_instance(tmp_path / "neo4j", extra_conf={...}) as inst: ...   # inst.stop(), inst.start(), inst.env()

Command line (what the NEO4J_CTL wrapper calls; NEO4J_ADMIN runs neo4j-admin directly):

    PYTHONPATH=tests/testenv python -m components.neo4j_server ctl HOME start|stop|restart|status
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import shlex
import shutil
import sys
import time
from pathlib import Path

from .base import (Component, Context, TestEnvError, free_port, kill_group, pid_alive, port_open, run, spawn,
                   wait_until)

NEO4J_VERSION = "5.26.31"
POM_DIR = Path(__file__).resolve().parents[1] / "neo4j"
START_TIMEOUT = 180
SERVER_MAIN = "org.neo4j.server.startup.Neo4jCommand"
ADMIN_MAIN = "org.neo4j.server.startup.Neo4jAdminCommand"

# JVM flags of the neo4j.conf shipped with 5.26 (the --add-opens lines are required on Java 17).
JVM_ADDITIONAL = [
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
]


def cache_home(cache_dir: Path) -> Path:
    return cache_dir / f"neo4j-{NEO4J_VERSION}"


def java_home() -> str:
    """Neo4j 5.26 runs on Java 17; prefer it over any newer default JDK."""
    for candidate in (os.environ.get("NEO4J_JAVA_HOME"), "/usr/lib/jvm/java-17-openjdk-amd64",
                      os.environ.get("JAVA_HOME")):
        if candidate and Path(candidate, "bin", "java").exists():
            return candidate
    java = shutil.which("java")
    if not java:
        raise TestEnvError("neo4j: no Java 17 found; install openjdk-17-jre-headless or set NEO4J_JAVA_HOME")
    return str(Path(java).resolve().parents[1])


def build_lib(cache_dir: Path, log=print) -> Path:
    """Copy the server's runtime jars into the cache once (warm: no-op). Returns the lib directory."""
    home = cache_home(cache_dir)
    lib = home / "lib"
    if (home / ".complete").exists():
        return lib
    home.mkdir(parents=True, exist_ok=True)
    with open(home.parent / f"neo4j-{NEO4J_VERSION}.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another checkout may be building the same cache right now
        if (home / ".complete").exists():
            return lib
        if not shutil.which("mvn"):
            raise TestEnvError("neo4j: mvn is missing; install Maven (apt-get install maven)")
        log(f"neo4j: fetching org.neo4j:neo4j:{NEO4J_VERSION} and its runtime dependencies with Maven")
        staging = home / "lib.partial"
        shutil.rmtree(staging, ignore_errors=True)
        run(["mvn", "-q", "-B", "-f", POM_DIR / "pom.xml", "dependency:copy-dependencies", "-DincludeScope=runtime",
             f"-Dneo4j.version={NEO4J_VERSION}", f"-DoutputDirectory={staging}"],
            "neo4j: mvn dependency:copy-dependencies", timeout=1800)
        if not (staging / f"neo4j-{NEO4J_VERSION}.jar").exists():
            raise TestEnvError(f"neo4j: Maven did not deliver neo4j-{NEO4J_VERSION}.jar into {staging}")
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
        (home / ".complete").write_text(NEO4J_VERSION + "\n")
    return lib


class Neo4jInstance:
    """One Neo4j server: its home directory holds conf/, data/, logs/, the console log and instance.json."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.info = json.loads((self.home / "instance.json").read_text()) \
            if (self.home / "instance.json").exists() else {}

    # --- layout -------------------------------------------------------------------------------------------------
    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def console_log(self) -> Path:
        return self.home / "console.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "server.pid"

    @property
    def bolt_port(self) -> int:
        return self.info["bolt_port"]

    @property
    def http_port(self) -> int:
        return self.info["http_port"]

    @property
    def password(self) -> str:
        return self.info["password"]

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    def java_env(self) -> dict:
        jhome = self.info.get("java_home") or java_home()
        return {"NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.conf_dir), "JAVA_HOME": jhome,
                "PATH": f"{jhome}/bin:{os.environ.get('PATH', '')}"}

    def java_cmd(self, main_class: str, *args) -> list:
        return [Path(self.java_env()["JAVA_HOME"], "bin", "java"), "-cp", f"{self.home / 'lib'}/*", main_class,
                *args]

    # --- creation -----------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, home: Path, lib: Path | None = None, extra_conf: dict | None = None,
               password: str | None = None) -> "Neo4jInstance":
        """A fresh instance: new ports, new data, the initial password set (the server is not started)."""
        home = Path(home)
        if lib is None:
            lib = build_lib(Path(os.environ.get("NEO4J_AKS_CACHE", Path.home() / ".cache" / "neo4j-azure-aks")))
        for sub in ("data", "logs", "run", "conf", "plugins", "import"):
            shutil.rmtree(home / sub, ignore_errors=True)
        home.mkdir(parents=True, exist_ok=True)
        link = home / "lib"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(lib, target_is_directory=True)
        # token_urlsafe may start with "-", which neo4j-admin set-initial-password takes for an option (a CI flake).
        info = {"bolt_port": free_port(), "http_port": free_port(), "version": NEO4J_VERSION,
                "password": password or "n" + secrets.token_urlsafe(18), "java_home": java_home(),
                "extra_conf": extra_conf or {}}
        (home / "instance.json").write_text(json.dumps(info, indent=2))
        os.chmod(home / "instance.json", 0o600)
        inst = cls(home)
        inst.write_conf()
        inst.set_initial_password()
        return inst

    def write_conf(self, extra_conf: dict | None = None) -> None:
        """neo4j.conf: loopback only, this instance's ports, auth on, memory small enough for a 2-core CI box."""
        if extra_conf is not None:
            self.info["extra_conf"] = extra_conf
            (self.home / "instance.json").write_text(json.dumps(self.info, indent=2))
        settings = {
            "server.default_listen_address": "127.0.0.1",
            "server.default_advertised_address": "127.0.0.1",
            "server.bolt.listen_address": f"127.0.0.1:{self.bolt_port}",
            "server.bolt.advertised_address": f"127.0.0.1:{self.bolt_port}",
            "server.http.listen_address": f"127.0.0.1:{self.http_port}",
            "server.http.advertised_address": f"127.0.0.1:{self.http_port}",
            "server.https.enabled": "false",
            "server.directories.import": str(self.home / "import"),
            "dbms.security.auth_enabled": "true",
            "server.memory.heap.initial_size": "256m",
            "server.memory.heap.max_size": "512m",
            "server.memory.pagecache.size": "64m",
            "dbms.usage_report.enabled": "false",
            "db.shutdown_transaction_end_timeout": "2s",
            **self.info.get("extra_conf", {}),
        }
        lines = ["# Written by tests/testenv/components/neo4j_server.py"]
        lines += [f"{key}={value}" for key, value in settings.items()]
        lines += [f"server.jvm.additional={flag}" for flag in JVM_ADDITIONAL]
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "neo4j.conf").write_text("\n".join(lines) + "\n")

    def set_initial_password(self) -> None:
        try:
            run(self.java_cmd(ADMIN_MAIN, "dbms", "set-initial-password", self.password),
                "neo4j: set-initial-password", env=self.java_env(), cwd=self.home, timeout=300)
        except TestEnvError as err:  # its message repeats the command line, password included
            raise TestEnvError(str(err).replace(self.password, "********")) from None

    # --- process ------------------------------------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        pid = self.pid()
        return bool(pid) and pid_alive(pid) and port_open(self.bolt_port)

    def start(self, timeout: float = START_TIMEOUT) -> int:
        """Start the server in the foreground of its own process group; return once Bolt answers a query."""
        if self.is_running():
            return self.pid()
        with open(self.console_log, "a", encoding="utf-8") as out:
            out.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting\n")
        pid = spawn(self.java_cmd(SERVER_MAIN, "console"), self.console_log, env=self.java_env(), cwd=self.home)
        self.pid_file.write_text(f"{pid}\n")
        wait_until(self.answers_bolt, timeout, f"neo4j {NEO4J_VERSION} on Bolt port {self.bolt_port}",
                   self.console_log, pid, interval=0.25)
        return pid

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            kill_group(pid, timeout=30)
        self.pid_file.unlink(missing_ok=True)

    def answers_bolt(self) -> bool:
        """Bolt opens before the databases are online; ready means a query on the default database runs."""
        if not port_open(self.bolt_port):
            return False
        try:
            import neo4j  # pylint: disable=import-outside-toplevel
        except ImportError:  # the port is the best signal left
            return True
        try:
            with neo4j.GraphDatabase.driver(self.uri, auth=("neo4j", self.password),
                                            connection_timeout=2) as driver:
                driver.execute_query("RETURN 1")
            return True
        except Exception:  # pylint: disable=broad-except  # any driver error means "not yet"
            return False

    def admin(self, *args: str, timeout: float = 600) -> str:
        return run(self.java_cmd(ADMIN_MAIN, *args), "neo4j-admin " + " ".join(args), env=self.java_env(),
                   cwd=self.home, timeout=timeout)

    def write_wrappers(self, python: str = sys.executable) -> dict:
        """NEO4J_ADMIN (neo4j-admin with this instance's jars/conf) and NEO4J_CTL (start|stop|restart|status)."""
        java_env = self.java_env()
        admin = self.home / "neo4j-admin"
        admin.write_text(
            "#!/bin/sh\n# neo4j-admin of the test Neo4j (same jars and conf as the server). Written by testenv.\n"
            # NEO4J_CONF from the caller wins, as with the distribution's bin/neo4j-admin (a trial load elsewhere).
            + "".join(f"export {k}=\"${{{k}:-{shlex.quote(v)}}}\"\n" if k == "NEO4J_CONF"
                      else f"export {k}={shlex.quote(v)}\n" for k, v in java_env.items())
            + f'exec {shlex.quote(str(Path(java_env["JAVA_HOME"], "bin", "java")))} -cp '
            + f'{shlex.quote(str(self.home / "lib"))}/\'*\' {ADMIN_MAIN} "$@"\n')
        ctl = self.home / "neo4j-ctl"
        ctl.write_text(
            "#!/bin/sh\n# start|stop|restart|status of the test Neo4j. Written by testenv.\n"
            f"export PYTHONPATH={shlex.quote(str(Path(__file__).resolve().parents[1]))}\n"
            f'exec {shlex.quote(python)} -c "import sys; from components.neo4j_server import main; sys.exit(main())" '
            f'ctl {shlex.quote(str(self.home))} "$@"\n')
        for path in (admin, ctl):
            os.chmod(path, 0o700)
        return {"NEO4J_ADMIN": str(admin), "NEO4J_CTL": str(ctl)}

    def env(self) -> dict:
        return {
            "NEO4J_URI": self.uri,
            "NEO4J_HTTP_URI": f"http://127.0.0.1:{self.http_port}",
            "NEO4J_USERNAME": "neo4j",
            "NEO4J_PASSWORD": self.password,
            "NEO4J_HOME": str(self.home),
            "NEO4J_CONF": str(self.conf_dir),
            "NEO4J_VERSION": NEO4J_VERSION,
        }


@contextlib.contextmanager
def private_instance(home: Path, extra_conf: dict | None = None):
    """A started instance of its own (fresh ports, data and password) for tests that stop it or change it."""
    inst = Neo4jInstance.create(home, extra_conf=extra_conf)
    try:
        inst.start()
        yield inst
    finally:
        inst.stop()


class Neo4jServer(Component):
    name = "neo4j"

    def build(self, ctx: Context) -> None:
        build_lib(ctx.cache_dir, ctx.log)

    def start(self, ctx: Context) -> dict:
        home = ctx.component_dir(self.name)
        inst = Neo4jInstance(home)
        if inst.info and inst.is_running():
            # Its state entry was lost (e.g. two `up` runs raced on state.json): adopt it rather than wipe its data.
            ctx.log(f"neo4j: adopting the server already running on Bolt port {inst.bolt_port}")
            pid = inst.pid()
        else:
            inst = Neo4jInstance.create(home, build_lib(ctx.cache_dir, ctx.log))
            ctx.log(f"neo4j: starting {NEO4J_VERSION} on Bolt port {inst.bolt_port}")
            pid = inst.start()
        return {"pids": [pid], "bolt_port": inst.bolt_port, "http_port": inst.http_port,
                "env": {**inst.env(), **inst.write_wrappers()}}

    def is_running(self, ctx: Context, state: dict) -> bool:
        # NEO4J_CTL may have restarted the server (new pid): the instance's pid file is the truth.
        return Neo4jInstance(ctx.component_dir(self.name)).is_running()

    def stop(self, ctx: Context, state: dict) -> None:
        Neo4jInstance(ctx.component_dir(self.name)).stop()
        for pid in state.get("pids", []):
            kill_group(pid)


def _ctl(inst: Neo4jInstance, action: str) -> int:
    if action in ("stop", "restart"):
        inst.stop()
        print("stopped")
    if action in ("start", "restart"):
        try:
            inst.start()
        except TestEnvError as err:
            print(err, file=sys.stderr)
            return 1
        # The moment Bolt answered, for time-to-detect measurements.
        print(f"started {time.time():.3f}")
    if action == "status":
        running = inst.is_running()
        print("running" if running else "stopped")
        return 0 if running else 3
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Control a test Neo4j instance.")
    sub = parser.add_subparsers(dest="command", required=True)
    ctl = sub.add_parser("ctl")
    ctl.add_argument("home")
    ctl.add_argument("action", choices=["start", "stop", "restart", "status"])
    args = parser.parse_args(argv)
    inst = Neo4jInstance(Path(args.home))
    if not inst.info:
        print(f"{args.home}: not a test Neo4j instance (no instance.json)", file=sys.stderr)
        return 2
    return _ctl(inst, args.action)


if __name__ == "__main__":
    sys.exit(main())
