"""Run IHME Jobmon's web server for `npm run bench:peer`, on a fresh database initialised by
Jobmon's own jobmon.server.web.db_admin.init_db (Alembic migrations + seed data), in one of two ways:

  dev       the way its test-suite runs it (tests/conftest.py WebServerProcess at release 3.3.0):
            the Flask app from jobmon.server.web.api.get_app on Flask's threaded server, SQLite file
  gunicorn  the way its deployment runs it (docsource/architecture/deployment_units.rst: gunicorn
            with 4 worker processes per container, in front of MySQL): the same app under gunicorn,
            each worker building its own app (so no connection pool crosses a fork), on MariaDB

    python jobmon_server.py serve --db-url sqlite:////tmp/x/jobmon.sqlite --port 8070
    python jobmon_server.py serve --db-url mysql+pymysql://root@127.0.0.1:3306/jobmon_peer_x \
        --port 8070 --server gunicorn --workers 4 --parallelism 8
    python jobmon_server.py probe --db-url URL     # one JSON line: database bytes, server version, server pid
    python jobmon_server.py drop --db-url URL
    # client: JOBMON__HTTP__SERVICE_URL=http://127.0.0.1:8070 JOBMON__HTTP__ROUTE_PREFIX=/api/v2
"""

import argparse
import json
import logging
import signal
import sys

from sqlalchemy import create_engine, text

from jobmon.server.web.api import JobmonConfig, get_app
from jobmon.server.web.db_admin import init_db, terminate_db


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("action", choices=["serve", "probe", "drop"])
    parser.add_argument("--db-url", required=True, help="SQLAlchemy URL (created by serve)")
    parser.add_argument("--port", type=int)
    parser.add_argument("--server", choices=["dev", "gunicorn"], default="dev")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--parallelism",
        type=int,
        default=None,
        help="slots of Jobmon's multiprocess cluster (its connection_parameters; default 3)",
    )
    return parser.parse_args()


def make_app(uri: str):  # type: ignore[no-untyped-def]
    config = JobmonConfig(
        dict_config={
            "db": {"sqlalchemy_database_uri": uri},
            "otlp": {"web_enabled": "false", "span_exporter": "", "log_exporter": ""},
        }
    )
    return get_app(config)


def set_parallelism(uri: str, slots: int) -> None:
    """The multiprocess distributor takes its parallelism from the cluster row, as on a deployment."""
    engine = create_engine(uri)
    with engine.begin() as con:
        con.execute(
            text("update cluster set connection_parameters = :p where name = 'multiprocess'"),
            {"p": json.dumps({"parallelism": slots})},
        )
    engine.dispose()


def serve_dev(uri: str, port: int) -> None:
    app = make_app(uri)
    # One access-log line per request would be a measurable part of the server's CPU; warnings only.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with app.app_context():
        app.run(host="127.0.0.1", port=port, threaded=True)


def serve_gunicorn(uri: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class JobmonGunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            # No access log, as for the dev server; sync workers are gunicorn's default.
            for key, value in {"bind": f"127.0.0.1:{port}", "workers": workers, "accesslog": None,
                               "loglevel": "warning", "preload_app": False}.items():
                self.cfg.set(key, value)

        def load(self):  # type: ignore[no-untyped-def]
            return make_app(uri)  # called in each worker after the fork

    JobmonGunicorn().run()


def probe(uri: str) -> None:
    engine = create_engine(uri)
    with engine.connect() as con:
        if engine.dialect.name == "mysql":
            size = con.execute(
                text("select coalesce(sum(data_length + index_length), 0) from information_schema.tables"
                     " where table_schema = database()")
            ).scalar()
            version = con.execute(text("select version()")).scalar()
            # The server's own pid, so the benchmark samples this server and no other mariadbd
            # (the Slurm root runs one for slurmdbd, visible in the same /proc).
            with open(con.execute(text("select @@pid_file")).scalar()) as f:
                server_pid = int(f.read().strip())
        else:
            size = con.execute(text("select page_count * page_size from pragma_page_count(), pragma_page_size()")).scalar()
            version = "SQLite " + con.execute(text("select sqlite_version()")).scalar()
            server_pid = None
    engine.dispose()
    print(json.dumps({"bytes": int(size or 0), "version": version, "server_pid": server_pid}), flush=True)


def main() -> None:
    args = parse_args()
    if args.action == "probe":
        return probe(args.db_url)
    if args.action == "drop":
        return terminate_db(args.db_url)
    init_db(args.db_url)
    if args.parallelism is not None:
        set_parallelism(args.db_url, args.parallelism)
    if args.server == "gunicorn":
        serve_gunicorn(args.db_url, args.port, args.workers)  # gunicorn handles SIGTERM itself
    else:
        # SIGTERM exits cleanly so the orchestrator's stop() sees a normal exit.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        serve_dev(args.db_url, args.port)


if __name__ == "__main__":
    main()
