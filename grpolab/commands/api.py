"""`grpolab api`: serve the REST API and the web UI (uvicorn)."""

from __future__ import annotations

import argparse
import sys

from grpolab.commands._service import add_data_dir, apply_data_dir, first_token

HELP = "serve the REST API and web UI (no worker; see `grpolab up` for both)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 in a container)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.add_argument(
        "--first-token",
        action="store_true",
        help="print a sign-in URL with a token (created once, kept in <data-dir>/first-token)",
    )
    p.add_argument(
        "--keep-alive",
        type=int,
        default=75,
        metavar="SECONDS",
        help="close an idle keep-alive connection after this long (default 75; keep it above the idle time-out of "
        "any proxy or client pool in front, or a request sent as the server closes is reset)",
    )
    p.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    add_data_dir(p)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.keep_alive <= 3600:
        print("grpolab api: --keep-alive must be between 1 and 3600 seconds", file=sys.stderr)
        return 2
    apply_data_dir(args)
    import uvicorn

    from service.db.session import migrate
    from service.settings import get_settings

    settings = get_settings()
    migrate(settings.db_url)  # once here, not in each uvicorn worker
    if args.first_token:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        token = first_token(settings.data_dir, settings.db_url)
        host = "localhost" if args.host in ("0.0.0.0", "::") else args.host
        if sys.stdout.isatty():
            print(f"GRPO Lab API: open http://{host}:{args.port}/#token={token}", flush=True)
        else:  # a log file or `docker compose logs`: secrets stay out of logs
            path = settings.data_dir / "first-token"
            print(f"GRPO Lab API: sign-in token in {path} (docker compose exec api cat {path})", flush=True)
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        # uvicorn's 5 s default races clients that reuse a connection idle for about that long: the request
        # arrives as the server closes and is reset (seen as httpx.ReadError under a burst)
        timeout_keep_alive=args.keep_alive,
        access_log=False,  # request paths only; tokens travel in headers and are never logged
    )
    return 0
