"""Bring the local test environment up, report it, or tear it down.

    python tests/testenv/testenv.py up [--only kube,neo4j,azurite,arm]   start what is not running (reuses the rest)
    python tests/testenv/testenv.py status                                 what runs, with ports, as JSON
    python tests/testenv/testenv.py env                                    path of the env file (sh syntax)
    python tests/testenv/testenv.py down [--only azurite]                  stop everything (or those), leave no process

State lives in $TESTENV_STATE_DIR (default: <repo>/.testenv); slow builds are cached in
$NEO4J_AKS_CACHE (default: ~/.cache/neo4j-azure-aks), keyed by version.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from components import COMPONENTS  # noqa: E402  pylint: disable=wrong-import-position
from components.base import Context, TestEnvError, read_json  # noqa: E402  pylint: disable=wrong-import-position
from bicep_cli import bicep_env  # noqa: E402  pylint: disable=wrong-import-position

REPO = Path(__file__).resolve().parents[2]


def context(verbose: bool = True) -> Context:
    state_dir = Path(os.environ.get("TESTENV_STATE_DIR", REPO / ".testenv")).resolve()
    cache_dir = Path(os.environ.get("NEO4J_AKS_CACHE", Path.home() / ".cache" / "neo4j-azure-aks")).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    return Context(repo=REPO, state_dir=state_dir, cache_dir=cache_dir, verbose=verbose)


def _state_file(ctx: Context) -> Path:
    return ctx.state_dir / "state.json"


def load_state(ctx: Context) -> dict:
    return read_json(_state_file(ctx), {})


def save_state(ctx: Context, state: dict) -> None:
    tmp = _state_file(ctx).with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    tmp.replace(_state_file(ctx))
    write_env_files(ctx, state)


def write_env_files(ctx: Context, state: dict) -> None:
    """One env file for shells (env.sh) and one for programs (env.json)."""
    env = {"TESTENV_STATE_DIR": str(ctx.state_dir), "TESTENV_BIN_DIR": str(ctx.bin_dir)}
    for name in COMPONENTS:
        env.update(state.get(name, {}).get("env", {}))
    env.update(bicep_env())  # the real Bicep CLI (tests/testenv/bicep_cli.py): .bicep templates compile
    path_dirs = ":".join([str(ctx.bin_dir)] + ([str(Path(env["BICEP_BIN"]).parent)] if "BICEP_BIN" in env else []))
    path_value = f"{path_dirs}:{os.environ.get('PATH', '')}"
    lines = ["# Written by tests/testenv/testenv.py; source it: . .testenv/env.sh"]
    lines += [f"export {k}={shlex.quote(str(v))}" for k, v in sorted(env.items())]
    lines.append(f'export PATH={shlex.quote(path_dirs)}:"$PATH"')
    (ctx.state_dir / "env.sh").write_text("\n".join(lines) + "\n")
    (ctx.state_dir / "env.json").write_text(json.dumps({**env, "PATH": path_value}, indent=2, sort_keys=True))
    os.chmod(ctx.state_dir / "env.sh", 0o600)
    os.chmod(ctx.state_dir / "env.json", 0o600)


def up(ctx: Context, only: list[str]) -> dict:
    state = load_state(ctx)
    for name, component in COMPONENTS.items():
        if only and name not in only:
            continue
        current = state.get(name)
        # Components later in the order read what earlier ones exported (the ARM double needs KUBECONFIG).
        for earlier in state.values():
            ctx.env.update(earlier.get("env", {}))
        if current and component.is_running(ctx, current):
            ctx.log(f"{name}: already running, reused")
            continue
        if current:
            ctx.log(f"{name}: stale state found, replacing it")
            component.stop(ctx, current)
            state.pop(name, None)
        started = time.monotonic()
        component.build(ctx)
        state[name] = component.start(ctx)
        ctx.log(f"{name}: up in {time.monotonic() - started:.1f}s")
        save_state(ctx, state)
    save_state(ctx, state)
    return state


def down(ctx: Context, only: list[str] | None = None) -> None:
    """Stop every component, or only the named ones (the others keep running; `up` starts them again)."""
    state = load_state(ctx)
    for name in reversed(list(COMPONENTS)):
        if name in state and (not only or name in only):
            ctx.log(f"{name}: stopping")
            COMPONENTS[name].stop(ctx, state.pop(name))
            save_state(ctx, state)
    if not only:
        _state_file(ctx).unlink(missing_ok=True)


def status(ctx: Context) -> dict:
    state = load_state(ctx)
    return {name: {"running": bool(state.get(name)) and COMPONENTS[name].is_running(ctx, state[name]),
                   **{k: v for k, v in state.get(name, {}).items() if k != "env"}}
            for name in COMPONENTS}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("--only", default="", help="comma-separated components: " + ",".join(COMPONENTS))
    args = parser.parse_args(argv)
    ctx = context()
    only = [c for c in args.only.split(",") if c]
    unknown = set(only) - set(COMPONENTS)
    if unknown:
        parser.error(f"--only: unknown component(s) {sorted(unknown)}; choose from {list(COMPONENTS)}")
    try:
        if args.command == "up":
            started = time.monotonic()
            up(ctx, only)
            ctx.log(f"environment ready in {time.monotonic() - started:.1f}s; env file: {ctx.state_dir / 'env.sh'}")
        elif args.command == "down":
            down(ctx, only)
        elif args.command == "status":
            print(json.dumps(status(ctx), indent=2, sort_keys=True))
        else:
            print(ctx.state_dir / "env.sh")
    except TestEnvError as err:
        print(f"testenv: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
