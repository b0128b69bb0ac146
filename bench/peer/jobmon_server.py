"""Run IHME Jobmon's web server in its local mode, the way its own test-suite does
(tests/conftest.py WebServerProcess at release 3.3.0): a fresh SQLite database created by
jobmon.server.web.db_admin.init_db (Alembic migrations + seed data), and the Flask app from
jobmon.server.web.api.get_app served by Flask's threaded server on a loopback port. Jobmon's
production deployment (several WSGI workers in front of MySQL) is not reproducible on one machine.

    python jobmon_server.py --db /tmp/x/jobmon.sqlite --port 8070
    # client: JOBMON__HTTP__SERVICE_URL=http://127.0.0.1:8070/api/v2
"""

import argparse
import logging
import signal
import sys

from jobmon.server.web.api import JobmonConfig, get_app
from jobmon.server.web.db_admin import init_db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="SQLite file (created)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    # SIGTERM exits cleanly so the orchestrator's stop() sees a normal exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    uri = f"sqlite:///{args.db}"
    init_db(uri)
    config = JobmonConfig(
        dict_config={
            "db": {"sqlalchemy_database_uri": uri},
            "otlp": {"web_enabled": "false", "span_exporter": "", "log_exporter": ""},
        }
    )
    app = get_app(config)
    # One access-log line per request would be a measurable part of the server's CPU; warnings only.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with app.app_context():
        app.run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
