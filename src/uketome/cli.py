"""The ``uketome`` console command.

uketome serve          serve the web app and WebSockets (uvicorn)
uketome demo           migrate, load the demo data, print the demo logins, serve
uketome worker         run background jobs
uketome check-config   check the configuration and the database, then exit
uketome generate-key   print a new encryption key for UKETOME_FIELD_ENCRYPTION_KEYS
uketome COMMAND        any Django management command (migrate, audit-verify, ...)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

SETTINGS = "uketome.settings"


def _fail(message: str) -> int:
    print(f"uketome: {message}", file=sys.stderr)
    return 2


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()


def _manage(argv: Sequence[str]) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["uketome", *argv])


def _serve(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="uketome serve")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("UKETOME_WEB_WORKERS", "1"))
    )
    args = parser.parse_args(argv)
    _setup()
    import uvicorn
    from django.conf import settings

    print(f"uketome: serving http://{args.host}:{args.port}/", flush=True)
    # The server processes (uvicorn's workers too) run the housekeeping of core.serving.
    os.environ["UKETOME_SERVER_PROCESS"] = "1"
    uvicorn.run(
        "uketome.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.workers,
        # No access log: it would write down the address of every child who visits.
        access_log=False,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("UKETOME_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        log_level="info" if settings.DEBUG else "warning",
        lifespan="off",
    )
    return 0


def _demo(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="uketome demo")
    parser.add_argument("--no-serve", action="store_true", help="load the data, do not serve")
    args, rest = parser.parse_known_args(argv)
    os.environ.setdefault("UKETOME_DEBUG", "true")
    _setup()
    from django.conf import settings

    if not settings.DEBUG:
        return _fail("the demo runs only with UKETOME_DEBUG=true (it prints passwords)")
    _manage(["migrate", "--no-input", "-v", "0"])
    _manage(["load_demo"])
    if args.no_serve:
        return 0
    return _serve(rest)


def _demo_totp(argv: Sequence[str]) -> int:
    os.environ.setdefault("UKETOME_DEBUG", "true")
    _setup()
    _manage(["demo_totp", *argv])
    return 0


def _worker(argv: Sequence[str]) -> int:
    """Run background jobs; also queue the daily jobs (retention, audit check) when due."""
    _setup()
    import threading

    from uketome.core.schedule import run_forever

    stop = threading.Event()
    threading.Thread(target=run_forever, args=(stop,), daemon=True, name="schedule").start()
    try:
        _manage(["db_worker", *argv])
    finally:
        stop.set()
    return 0


def _check_config(argv: Sequence[str]) -> int:
    _setup()
    from django.conf import settings
    from django.core.management import call_command

    from uketome.core import health

    db = settings.DATABASES["default"]
    print(f"data directory : {settings.DATA_DIR}")
    print(f"database       : {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('NAME')}")
    print(f"redis          : {'configured' if settings.REDIS_URL else 'not used (single node)'}")
    print(f"debug (demo)   : {settings.DEBUG}")
    print(f"allowed hosts  : {', '.join(settings.ALLOWED_HOSTS)}")
    print(f"encryption keys: {len(settings.FIELD_ENCRYPTION_KEYS)}")
    call_command("check", deploy=not settings.DEBUG, fail_level="ERROR")
    database = health.database_status()
    layer = health.channel_layer_status()
    print(f"database status: {database}")
    print(f"channel layer  : {layer}")
    return 0 if database == "ok" and layer != "down" else 1


def _generate_key(argv: Sequence[str]) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


COMMANDS = {
    "serve": _serve,
    "demo": _demo,
    "demo-totp": _demo_totp,
    "worker": _worker,
    "check-config": _check_config,
    "generate-key": _generate_key,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = args[0], args[1:]
    from django.core.exceptions import ImproperlyConfigured

    try:
        if command in COMMANDS:
            return COMMANDS[command](rest)
        _setup()
        _manage([command.replace("-", "_"), *rest])
        return 0
    except ImproperlyConfigured as exc:
        return _fail(str(exc).splitlines()[0] if str(exc) else "configuration error")


if __name__ == "__main__":
    sys.exit(main())
