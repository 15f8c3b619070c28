"""The web app of `stargan serve`: one static page and two endpoints (FastAPI, run by uvicorn).

- `GET /`: the page (page.html, no external scripts or fonts: it works without internet).
- `GET /api/models`: the models with their names, methods, steps and controls (service.py).
- `POST /api/translate?model=I&to=SPEC&framing=faces|crop|native&name=FILE[&seed=N][&reference=TOKEN]`: the
  photo's bytes as the body (no multipart form: the size cap is applied while the body streams in); answers
  the translated photo as `stargan translate` writes it (JPEG for a JPEG, PNG for a PNG), with the faces
  found, the size and the time in the `X-Stargan` header (JSON). `seed` and `reference` for models that
  take them (the catalogue's `guides`).
- `POST /api/reference?model=I&framing=...&name=FILE`: a reference photo's bytes; answers `{"reference":
  TOKEN, "face": [left, top, side]}`, the token to pass to /api/translate.

Every error is a JSON `{"error": "..."}` with a 4xx code (413 for a photo too large), and the server goes
on serving.
"""

import json
import logging
from importlib import resources

from ..errors import StarganError
from .service import MAX_UPLOAD_BYTES, Service

log = logging.getLogger("stargan.serve")


def create_app(service: Service):
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect

    app = FastAPI(title="stargan", docs_url=None, redoc_url=None, openapi_url=None)
    page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/api/models")
    def models() -> dict:
        return service.catalogue()

    async def upload(request: Request, name: str) -> bytearray | Response:
        """The body, or the answer refusing it (too large, or the client gone)."""
        limit_mb = MAX_UPLOAD_BYTES / 2**20
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
            return error(
                413,
                f"{name or 'the photo'} is {int(declared) / 2**20:.0f} MB; this page takes up to {limit_mb:.0f} MB",
            )
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_UPLOAD_BYTES:
                    return error(
                        413,
                        f"{name or 'the photo'} is over {limit_mb:.0f} MB; this page takes up to {limit_mb:.0f} MB",
                    )
        except ClientDisconnect:  # the browser went away mid-upload (a closed tab): nobody to answer
            log.info("a client closed the connection during an upload of %s", name or "a photo")
            return Response(status_code=400)
        return body

    async def answer(work, *args):
        """`work(*args)` in a worker thread; a StarganError is a 400 with its line, anything else a 500."""
        try:
            return await run_in_threadpool(work, *args)
        except StarganError as exc:
            return error(400, str(exc))
        except Exception as exc:  # noqa: BLE001 - the page says so and the server goes on
            log.exception("translation failed")
            return error(
                500, f"the translation failed ({exc.__class__.__name__}: {exc}); see the server's log"
            )

    @app.post("/api/reference")
    async def reference(request: Request, model: int = 0, framing: str = "faces", name: str = "") -> Response:
        body = await upload(request, name)
        if isinstance(body, Response):
            return body
        result = await answer(service.add_reference, bytes(body), name, model, framing)
        if isinstance(result, Response):
            return result
        token, region = result
        return JSONResponse({"reference": token, "face": [region.left, region.top, region.side]})

    @app.post("/api/translate")
    async def translate(
        request: Request,
        model: int = 0,
        to: str = "",
        framing: str = "faces",
        name: str = "",
        seed: int | None = None,
        reference: str = "",
    ) -> Response:
        body = await upload(request, name)
        if isinstance(body, Response):
            return body
        result = await answer(
            service.translate, bytes(body), name, model, to, framing, seed, reference or None
        )
        if isinstance(result, Response):
            return result
        meta = {
            "faces": [[r.left, r.top, r.side] for r in result.regions],
            "width": result.width,
            "height": result.height,
            "seconds": round(result.seconds, 4),
            "to": result.to,
            "suffix": {"jpeg": ".jpg", "webp": ".webp"}.get(result.format, ".png"),
        }
        return Response(
            result.data, media_type=f"image/{result.format}", headers={"X-Stargan": json.dumps(meta)}
        )

    return app


def serve(
    models: list[str], host: str = "127.0.0.1", port: int = 8000, device: str = "cpu", announce=print
) -> None:
    """Load the models once, bind host:port (0: any free port), say the address, and serve until Ctrl-C."""
    import socket

    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise StarganError(
            'stargan serve needs its extra: pip install "stargan[serve]" (in a checkout: pip install -e ".[serve]")'
        ) from None
    from ..accelerators import check_device
    from ..errors import ImageError
    from ..faces import FaceDetector
    from .service import ServedModel

    if not models:
        raise StarganError(
            "say which model to serve: --model RUN_FOLDER (or a generator.safetensors / .onnx)"
        )
    if not 0 <= port <= 65535:
        raise StarganError(
            f"--port {port} is not a port number; choose one from 1 to 65535 (0: any free one)"
        )
    loaded = [ServedModel.load(m, check_device(device)) for m in models]
    names = [m.name for m in loaded]
    for m in loaded:
        if names.count(m.name) > 1:
            m.name = str(m.path)
    try:
        detector = FaceDetector()
    except ImageError:  # no OpenCV: the page says so when a photo asks for face detection
        detector = None
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StarganError(f"cannot listen on {host}:{port} ({exc.strerror}); pass another --port") from None
    sock.listen(128)  # connections wait in the backlog from now on, while uvicorn starts
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    announce(
        f"serving {len(loaded)} model{'s' if len(loaded) > 1 else ''} at http://{shown}:{bound} (Ctrl-C to stop)"
    )
    if host not in ("127.0.0.1", "localhost", "::1"):
        announce(f"warning: listening on {host}: anyone who can reach this machine can use the page")
    config = uvicorn.Config(create_app(Service(loaded, detector)), log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])
