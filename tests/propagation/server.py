"""Process B: ``python -m tests.propagation.server PORT_FILE``.

Serves the Django project on 127.0.0.1, on a free port that it writes to ``PORT_FILE`` once
it listens.
"""

import os
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.core.wsgi import get_wsgi_application


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def main(port_file: str) -> None:
    application = get_wsgi_application()
    with make_server("127.0.0.1", 0, application, handler_class=QuietHandler) as server:
        with open(f"{port_file}.tmp", "w") as f:
            f.write(str(server.server_port))
        os.replace(f"{port_file}.tmp", port_file)
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
