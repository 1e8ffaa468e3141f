"""REST API under ``/api/v1`` (flask-smorest), OpenAPI at ``/api/v1/openapi.json``."""
from __future__ import annotations

from typing import Any, NoReturn

from flask import Flask
from flask_smorest import Api
from marshmallow import ValidationError

from bayline.auth.permissions import require
from bayline.errors import Refused

from .errors import handle_http_exception, handle_refused
from .schemas import ErrorSchema

__all__ = ["BaylineApi", "init_api", "require", "validation_error"]


class BaylineApi(Api):
    ERROR_SCHEMA = ErrorSchema  # the documented error responses match what handle_http_exception sends

    def handle_http_exception(self, error):  # type: ignore[no-untyped-def]
        return handle_http_exception(error)

    def _register_pagination_header(self) -> None:
        """``X-Pagination`` is sent as JSON text: declare a string (flask-smorest declares the object,
        which a strict client or schemathesis reads as a header-type violation)."""
        self.spec.components.header("PAGINATION", {
            "description": "Pagination metadata as JSON text: total, total_pages, first_page, last_page, page, "
                           "previous_page, next_page",
            "schema": {"type": "string"},
        }, lazy=True)


def validation_error(errors: dict[str, Any], status: int = 422) -> NoReturn:
    code = "validation_error" if status == 422 else "conflict"
    raise Refused(status, code, "Some fields are not valid.", errors={"json": errors})


def _serve_swagger_ui(app: Flask) -> None:
    import swagger_ui_bundle
    from flask import send_from_directory

    @app.get("/api/v1/swagger-ui/<path:filename>")
    def swagger_ui_static(filename: str) -> Any:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)


def init_api(app: Flask) -> BaylineApi:
    app.config.setdefault("API_TITLE", "Bayline API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "/docs")
    # Swagger UI is served from the swagger-ui-bundle package: no CDN, works offline.
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/api/v1/swagger-ui/")
    _serve_swagger_ui(app)
    api = BaylineApi(app, spec_kwargs={
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "security": [{"apiKey": []}],
    })

    from ..claims.service import DuplicateClaimNumber

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Any:
        status = 409 if isinstance(exc, DuplicateClaimNumber) else 422
        try:
            validation_error(exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}, status)
        except Refused as refused:
            return handle_refused(refused)

    app.register_error_handler(Refused, handle_refused)

    from . import api_keys, claims, outbox, platform, portal, shops, staff, stages

    for module in (claims, stages, staff, shops, api_keys, portal, platform, outbox):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    from bayline.photos import api as photos_api  # the photos feature keeps its API beside its models

    api.register_blueprint(photos_api.blp, url_prefix="/api/v1")
    app.extensions["bayline.api"] = api
    return api
