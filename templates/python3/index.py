# faas-ts python3 template (classic fork mode): one process per request.
# stdin (the request body) -> function.handler.handle(req) -> stdout.
# Request metadata is in the environment (Http_Method, Http_Query, Http_Path,
# Http_<Header>), as the classic watchdog sets it with cgi_headers=true.
import os
import sys

from function import handler


def get_stdin():
    data = sys.stdin.buffer.read()
    if os.environ.get("RAW_BODY", "").lower() in ("true", "1"):
        return data
    return data.decode("utf-8", errors="replace")


if __name__ == "__main__":
    ret = handler.handle(get_stdin())
    if ret is None:
        sys.exit(0)
    if isinstance(ret, (bytes, bytearray)):
        sys.stdout.buffer.write(ret)
    else:
        sys.stdout.write(str(ret))
    sys.stdout.flush()
