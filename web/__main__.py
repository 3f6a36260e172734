"""Serve the live page:  python -m web [--port 8000] [--host 127.0.0.1]

First makes what the page needs (web/build.py: ONNX Runtime Web copied from npm, the ONNX exports, models.json),
then serves web/ with the two headers that make the page cross-origin isolated, which WebAssembly threads need:

    Cross-Origin-Opener-Policy: same-origin
    Cross-Origin-Embedder-Policy: require-corp

Any static host can serve the built folder; without those headers the page still works, on one thread.
"""
import argparse
import functools
import http.server

from utils.errors import UserError, cli
from web.build import MODELS, SIZES, WEB

HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
           "Cache-Control": "no-cache"}
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm", ".onnx":
         "application/octet-stream", ".json": "application/json"}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}
    isolated = True

    def end_headers(self):
        for k, v in (HEADERS if self.isolated else {"Cache-Control": "no-cache"}).items():
            self.send_header(k, v)
        super().end_headers()

    def log_message(self, *_):  # quiet: the page reports its own errors
        pass


def parse(argv=None):
    p = argparse.ArgumentParser(prog="python -m web", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 exposes it to your network)")
    p.add_argument("--models", nargs="+", default=list(MODELS), help="models to offer (registry names or paths)")
    p.add_argument("--sizes", nargs="+", type=int, default=list(SIZES), help="input sides to export")
    p.add_argument("--no_isolation", action="store_true",
                   help="serve without COOP/COEP (as a plain static host would): WASM runs on one thread")
    p.add_argument("--build_only", action="store_true", help="make the runtime files and exports, then exit")
    return p.parse_args(argv)


@cli
def main(argv=None):
    opts = parse(argv)
    from web.build import exports, runtime  # torch and the exporter: after the arguments are parsed

    runtime()
    manifest = exports(opts.models, opts.sizes)
    if not manifest["models"]:
        raise UserError("no model could be had for the page (see the lines above)")
    if opts.build_only:
        print(f"built {WEB}")
        return 0
    handler = type("H", (Handler,), {"isolated": not opts.no_isolation})
    server = http.server.ThreadingHTTPServer((opts.host, opts.port), functools.partial(handler, directory=str(WEB)))
    print(f"serving the live page at http://{opts.host}:{server.server_address[1]}/ "
          f"({'cross-origin isolated' if not opts.no_isolation else 'not isolated: one thread'}); Ctrl-C stops",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    main()
