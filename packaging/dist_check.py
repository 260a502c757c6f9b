#!/usr/bin/env python3
"""Consumer checks for the artifacts of `make dist`: each installed the way its users install it,
in an empty temporary project, with cargo and rustc off PATH, then used on a real token.

    dist_check.py --dist dist --work target/dist-check [--only python,node,c,go]

- Python: a fresh venv, `pip install <wheel> fastapi uvicorn` (binary wheels only), a FastAPI app
  with `BearerAuth` served by uvicorn: 200 with a valid token, 401 without one and with a forged one.
- Node: a fresh npm project, `npm install` of the tarballs and express, an Express app with
  `jwtAuth`: the same three answers; the addon must come from the platform package.
- C: the tarball unpacked, a program built with `pkg-config --cflags --libs jwtgate` against it,
  linked dynamically (NEEDED libjwtgate.so.ABI, found through the tree's lib/) and statically
  (no libjwtgate.so needed): the valid token accepted, the forged one refused.
- C on aarch64 (when make dist built it, and qemu-user and Debian's aarch64 libc are here): the
  same program cross-compiled with zig through pkg-config, run under qemu.
- Go: a fresh module that `go get`s github.com/jwtgate/jwtgate-go from dist/goproxy
  (GOPROXY=file://..., an empty module cache) and serves its Middleware: the same three answers;
  then the same program built with -tags jwtgate_pkgconfig against the C tarball.

The token and configuration are the first valid case of tests/vectors/valid.json (tokens valid
until 2100); the forged token is that token with its signature's last 8 characters replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSUMERS = Path(__file__).resolve().parent / "consumers"
RUST_TOOLS = ("cargo", "rustc", "rustup")


class CheckFailed(Exception):
    pass


def no_rust_path(work: Path) -> str:
    """PATH with every directory that holds cargo, rustc or rustup replaced by a copy (symlinks)
    of its other programs, so the checks see every tool but those."""
    farm_root = work / "path-without-rust"
    shutil.rmtree(farm_root, ignore_errors=True)
    dirs = []
    for i, d in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        p = Path(d)
        if not p.is_dir():
            continue
        if not any((p / t).exists() for t in RUST_TOOLS):
            dirs.append(d)
            continue
        farm = farm_root / str(i)
        farm.mkdir(parents=True)
        for f in p.iterdir():
            if f.name in RUST_TOOLS or f.name.startswith(("cargo-", "rust-", "rustc-")):
                continue
            (farm / f.name).symlink_to(f)
        dirs.append(str(farm))
    path = os.pathsep.join(dirs)
    for tool in RUST_TOOLS:
        if shutil.which(tool, path=path):
            raise CheckFailed(f"{tool} is still on the checks' PATH")
    return path


def run(cmd: list[str], env: dict, cwd: Path, **kw) -> subprocess.CompletedProcess:
    shown = [str(c) if len(str(c)) < 100 else str(c)[:40] + "..." for c in cmd]
    print("  $", " ".join(shown), flush=True)
    result = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, text=True, capture_output=True, **kw)
    if result.returncode != 0 and kw.get("check", True) is not False:
        raise CheckFailed(f"{cmd[0]} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str | None) -> tuple[int, str, str]:
    """Status, body and WWW-Authenticate of a GET."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode(), r.headers.get("WWW-Authenticate", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("WWW-Authenticate", "")


def serve_and_probe(cmd: list[str], env: dict, cwd: Path, port: int | None, case: dict) -> None:
    """Start a server, wait for it, and expect 200 / 401 / 401."""
    server = subprocess.Popen([str(c) for c in cmd], env=env, cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        if port is None:  # the server prints PORT=n
            line = server.stdout.readline() if server.stdout else ""
            m = re.search(r"PORT=(\d+)", line)
            if not m:
                raise CheckFailed(f"the server did not print its port: {line!r}")
            port = int(m.group(1))
        url = f"http://127.0.0.1:{port}/items"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body, _ = get(url, case["token"])
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    out = server.stdout.read() if server.stdout else ""
                    raise CheckFailed(f"the server never answered:\n{out[-3000:]}")
                time.sleep(0.2)
        expect(status == 200 and case["sub"] in body, f"valid token: {status} {body[:200]}")
        status, body, challenge = get(url, None)
        expect(status == 401 and challenge.startswith("Bearer"), f"no token: {status} {challenge} {body[:200]}")
        # RFC 6750 §3.1: the challenge names the error (Express's default handler sends an HTML body).
        status, body, challenge = get(url, case["forged"])
        expect(status == 401 and 'error="invalid_token"' in challenge, f"forged token: {status} {challenge} {body[:200]}")
        print(f"  200 with the token, 401 without, 401 forged ({url})")
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise CheckFailed(what)


def the_case() -> dict:
    vectors = json.loads((ROOT / "tests/vectors/valid.json").read_text())
    case = next(c for c in vectors["cases"] if c["expect"].get("valid"))
    token = case["token"]
    return {
        "config": vectors["configs"][case["config"]],
        "token": token,
        "forged": token[:-8] + ("AAAAAAAA" if not token.endswith("AAAAAAAA") else "BBBBBBBB"),
        "sub": case["expect"]["claims"]["sub"],
    }


def camel(config: dict) -> dict:
    return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): v for k, v in config.items()}


# ---------------------------------------------------------------------------------------------


def check_python(dist: Path, work: Path, env: dict, case: dict) -> None:
    wheel = next(dist.glob("jwtgate-*_x86_64.whl"))  # this machine's; make dist may add aarch64
    (work / "config.json").write_text(json.dumps(case["config"]))
    shutil.copy(CONSUMERS / "fastapi_app.py", work / "app.py")
    run([sys.executable, "-m", "venv", work / "venv"], env, work)
    py = work / "venv/bin/python"
    run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--only-binary", ":all:",
         wheel, "fastapi", "uvicorn"], env, work)
    shown = run([py, "-c", "import jwtgate, importlib.metadata as m; print(jwtgate.__file__); "
                 "print(sorted(f.name for f in m.files('jwtgate') if 'licenses' in str(f)))"], env, work).stdout
    expect(str(work / "venv") in shown, f"jwtgate not imported from the venv: {shown}")
    expect("LICENSE" in shown and "THIRD_PARTY_NOTICES.md" in shown, f"licenses missing from the wheel: {shown}")
    port = free_port()
    serve_and_probe([py, "-m", "uvicorn", "app:app", "--port", str(port), "--log-level", "warning"],
                    {**env, "JWTGATE_CONFIG": str(work / "config.json")}, work, port, case)


def check_node(dist: Path, work: Path, env: dict, case: dict) -> None:
    # The main package and this machine's platform package: npm refuses to install a tarball
    # whose os/cpu do not match (EBADPLATFORM), as it skips such optional dependencies.
    tarballs = sorted((dist / "npm").glob("jwtgate-[0-9]*.tgz")) + sorted((dist / "npm").glob("jwtgate-linux-x64-gnu-*.tgz"))
    (work / "package.json").write_text(json.dumps({"name": "consumer", "private": True, "version": "1.0.0"}))
    (work / "config.json").write_text(json.dumps(camel(case["config"])))
    shutil.copy(CONSUMERS / "express_app.js", work / "app.js")
    run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *tarballs, "express@5"], env, work)
    expect(not list((work / "node_modules/jwtgate").glob("*.node")), "the main package carries an addon")
    loaded = run(["node", "-e", "require('jwtgate'); console.log(Object.keys(require.cache).find(f => f.endsWith('.node')))"],
                 env, work).stdout
    expect("node_modules/jwtgate-linux-x64-gnu/" in loaded, f"the addon did not come from the platform package: {loaded}")
    for f in ("LICENSE", "THIRD_PARTY_NOTICES.md"):
        expect((work / "node_modules/jwtgate" / f).exists() and (work / "node_modules/jwtgate-linux-x64-gnu" / f).exists(),
               f"{f} missing from a package")
    serve_and_probe(["node", "app.js"], {**env, "JWTGATE_CONFIG": str(work / "config.json")}, work, None, case)


def check_c(dist: Path, work: Path, env: dict, case: dict) -> None:
    tarball = next(dist.glob("libjwtgate-*-x86_64-linux-gnu.tar.gz"))
    with tarfile.open(tarball) as t:
        t.extractall(work, filter="data")
    tree = next(p for p in work.iterdir() if p.name.startswith("libjwtgate-"))
    env = {**env, "PKG_CONFIG_PATH": str(tree / "lib/pkgconfig")}
    (work / "config.json").write_text(json.dumps(case["config"]))
    shutil.copy(CONSUMERS / "main.c", work / "main.c")
    for f in ("LICENSE", "THIRD_PARTY_NOTICES.md"):
        expect((tree / "share/doc/jwtgate" / f).exists(), f"{f} missing from the tarball")
    pc = lambda *a: run(["pkg-config", *a, "jwtgate"], env, work).stdout.split()  # noqa: E731
    cc = os.environ.get("CC", "cc")
    run([cc, "-std=c11", "-Wall", "-Werror", "main.c", *pc("--cflags", "--libs"), "-o", "check-dynamic"], env, work)
    static_libs = [("-l:libjwtgate.a" if f == "-ljwtgate" else f) for f in pc("--static", "--libs")]
    run([cc, "-std=c11", "-Wall", "-Werror", "main.c", *pc("--cflags"), *static_libs, "-o", "check-static"], env, work)
    soname = re.search(r"SONAME.*\[(.*)\]", run(["readelf", "-d", tree / "lib/libjwtgate.so"], env, work).stdout)
    needed_dyn = run(["readelf", "-d", "check-dynamic"], env, work).stdout
    needed_static = run(["readelf", "-d", "check-static"], env, work).stdout
    expect(soname is not None and f"[{soname.group(1)}]" in needed_dyn, f"dynamic: does not need the SONAME {soname}")
    expect("libjwtgate" not in needed_static, "static: still needs libjwtgate.so")
    libdir = pc("--variable=libdir")[0]
    for binary, extra in (("check-dynamic", {"LD_LIBRARY_PATH": libdir}), ("check-static", {})):
        ok = run([f"./{binary}", "config.json", case["token"]], {**env, **extra}, work, check=False)
        expect(ok.returncode == 0 and case["sub"] in ok.stdout, f"{binary}: valid token: {ok.returncode} {ok.stdout} {ok.stderr}")
        bad = run([f"./{binary}", "config.json", case["forged"]], {**env, **extra}, work, check=False)
        expect(bad.returncode == 1 and "refused" in bad.stdout, f"{binary}: forged token: {bad.returncode} {bad.stdout} {bad.stderr}")
        print(f"  {binary}: valid token accepted, forged refused ({ok.stdout.split(':')[0]})")


def check_c_aarch64(dist: Path, work: Path, env: dict, case: dict) -> None:
    """The aarch64 tarball (make dist DIST_AARCH64=1), when this machine can run it: built with
    zig as the cross compiler through pkg-config, run under qemu-user with Debian's aarch64 libc
    (apt: qemu-user libc6-arm64-cross). Skipped, and said so, otherwise."""
    tarballs = list(dist.glob("libjwtgate-*-aarch64-linux-gnu.tar.gz"))
    sysroot = Path("/usr/aarch64-linux-gnu")
    zig = ZIG_CC
    missing = [what for what, ok in (("the aarch64 tarball (make dist DIST_AARCH64=1)", tarballs), ("qemu-aarch64", shutil.which("qemu-aarch64", path=env["PATH"])),
                                     (str(sysroot), sysroot.is_dir()), ("zig (--zig-cc)", zig)) if not ok]
    if missing:
        print(f"  skipped, missing: {', '.join(missing)}")
        return
    with tarfile.open(tarballs[0]) as t:
        t.extractall(work, filter="data")
    tree = next(p for p in work.iterdir() if p.name.startswith("libjwtgate-"))
    env = {**env, "PKG_CONFIG_PATH": str(tree / "lib/pkgconfig")}
    (work / "config.json").write_text(json.dumps(case["config"]))
    shutil.copy(CONSUMERS / "main.c", work / "main.c")
    pc = lambda *a: run(["pkg-config", *a, "jwtgate"], env, work).stdout.split()  # noqa: E731
    cc = [*zig, "-target", "aarch64-linux-gnu.2.17"]
    run([*cc, "-std=c11", "main.c", *pc("--cflags", "--libs"), "-o", "check-dynamic"], env, work)
    static_libs = [("-l:libjwtgate.a" if f == "-ljwtgate" else f) for f in pc("--static", "--libs")]
    run([*cc, "-std=c11", "main.c", *pc("--cflags"), *static_libs, "-o", "check-static"], env, work)
    qemu = ["qemu-aarch64", "-L", str(sysroot), "-E", f"LD_LIBRARY_PATH={tree / 'lib'}"]
    for binary in ("check-dynamic", "check-static"):
        ok = run([*qemu, f"./{binary}", "config.json", case["token"]], env, work, check=False)
        expect(ok.returncode == 0 and case["sub"] in ok.stdout, f"{binary}: valid token: {ok.returncode} {ok.stdout} {ok.stderr}")
        bad = run([*qemu, f"./{binary}", "config.json", case["forged"]], env, work, check=False)
        expect(bad.returncode == 1 and "refused" in bad.stdout, f"{binary}: forged token: {bad.returncode} {bad.stdout} {bad.stderr}")
        print(f"  {binary} (aarch64, qemu): valid token accepted, forged refused")


def check_go(dist: Path, work: Path, env: dict, case: dict) -> None:
    env = {
        **env,
        "GOPROXY": f"file://{(dist / 'goproxy').resolve()}",
        "GONOSUMDB": "github.com/jwtgate/*",  # not on sum.golang.org; go.sum still pins the zip
        "GOFLAGS": "-mod=mod",
        "GOMODCACHE": str(work / "modcache"),  # empty: the module must come from the proxy
        "GOTOOLCHAIN": "local",
        # The go command indexes module-cache packages in GOCACHE by path@version, taking a
        # version's content as immutable; each `make dist` republishes the same version, so the
        # index would describe an older zip (its file list, seen here: a new file ignored).
        "GODEBUG": "goindex=0",
        "CGO_ENABLED": "1",
    }
    (work / "config.json").write_text(json.dumps(case["config"]))
    shutil.copy(CONSUMERS / "main.go", work / "main.go")
    run(["go", "mod", "init", "example.com/consumer"], env, work)
    version = run([sys.executable, ROOT / "packaging/versions.py", "--print"], env, work).stdout.strip()
    run(["go", "get", f"github.com/jwtgate/jwtgate-go@v{version}"], env, work)
    run(["go", "build", "-o", "server", "."], env, work)
    serve_and_probe(["./server"], {**env, "JWTGATE_CONFIG": str(work / "config.json")}, work, None, case)
    # The same module linking the installed C library instead (-tags jwtgate_pkgconfig).
    with tarfile.open(next(dist.glob("libjwtgate-*-x86_64-linux-gnu.tar.gz"))) as t:
        t.extractall(work / "c", filter="data")
    tree = next((work / "c").iterdir())
    env_pc = {**env, "PKG_CONFIG_PATH": str(tree / "lib/pkgconfig"), "LD_LIBRARY_PATH": str(tree / "lib")}
    run(["go", "build", "-tags", "jwtgate_pkgconfig", "-o", "server-pkgconfig", "."], env_pc, work)
    expect("libjwtgate.so" in run(["readelf", "-d", "server-pkgconfig"], env, work).stdout,
           "-tags jwtgate_pkgconfig did not link libjwtgate.so")
    serve_and_probe(["./server-pkgconfig"], {**env_pc, "JWTGATE_CONFIG": str(work / "config.json")}, work, None, case)
    # The client_golang collector, a nested module published beside the package at the same
    # version: its requirement on the package must resolve to the release (no `replace` left),
    # and client_golang comes from the public proxy, as for any user.
    prom = work / "prometheus"
    prom.mkdir()
    shutil.copy(CONSUMERS / "go-prometheus/main.go", prom / "main.go")
    env_prom = {**env, "GOPROXY": f"{env['GOPROXY']},https://proxy.golang.org"}
    run(["go", "mod", "init", "example.com/consumer-prometheus"], env_prom, prom)
    run(["go", "get", f"github.com/jwtgate/jwtgate-go/prometheus@v{version}"], env_prom, prom)
    run(["go", "build", "-o", "collector", "."], env_prom, prom)
    out = run(["./collector"], {**env_prom, "JWTGATE_CONFIG": str(work / "config.json"),
                                "JWTGATE_TOKEN": case["token"]}, prom).stdout
    m = re.search(r"VALIDATIONS=(\d+)", out)
    expect(m is not None and int(m.group(1)) >= 1, f"the collector counted no validation: {out[-300:]!r}")
    run(["go", "clean", "-modcache"], env, work)  # the module cache is read-only; let rm work


CHECKS = {"python": check_python, "node": check_node, "c": check_c, "c-aarch64": check_c_aarch64, "go": check_go}
ZIG_CC: list[str] = []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--only", default=",".join(CHECKS))
    parser.add_argument("--zig-cc", help="a zig C compiler command (the aarch64 check's cross compiler)")
    args = parser.parse_args()
    if args.zig_cc:
        ZIG_CC.extend(args.zig_cc.split())
    dist = args.dist.resolve()
    args.work = args.work.resolve()
    if args.only == ",".join(CHECKS):
        subprocess.run([sys.executable, ROOT / "packaging/versions.py", "--dist", dist], check=True)
    if args.work.exists():
        subprocess.run(["chmod", "-R", "u+w", args.work], check=False)
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO", "RUSTUP", "VIRTUAL_ENV", "PYTHON", "NODE_PATH", "GO"))}
    env["PATH"] = no_rust_path(args.work)
    case = the_case()
    failed = []
    for name in args.only.split(","):
        work = args.work / name
        work.mkdir()
        started = time.monotonic()
        print(f"{name}: installing and using the artifact in {work}", flush=True)
        try:
            CHECKS[name](dist, work, env, case)
            print(f"{name}: ok ({time.monotonic() - started:.0f} s)", flush=True)
        except (CheckFailed, StopIteration) as e:
            print(f"{name}: FAILED: {e or 'artifact missing'}", flush=True)
            failed.append(name)
    if failed:
        print(f"dist-check: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("dist-check: every artifact installs and validates tokens without a Rust toolchain")
    return 0


if __name__ == "__main__":
    sys.exit(main())
