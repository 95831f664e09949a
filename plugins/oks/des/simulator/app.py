"""The simulator's HTTP face: the contract's routes, ``/health``, ``/openapi.yaml`` and ``/_control``.

Control endpoints (tests and demos only; the real DES has none):

====================================  ======================================================================
``GET  /_control/state``              lists, payments, policies, tokens issued, fault counters, settings
``POST /_control/reset``              wipe all state and faults; re-seed the start-up customers
``POST /_control/customers``          add a customer ``{customer_no, tckn, password}``
``GET|PUT|DELETE /_control/faults``   read, change (see :mod:`.faults`), or clear fault injection
``GET|PUT /_control/settings``        ``{insurer_delay, transfer_delay, token_ttl}`` in seconds
``POST /_control/tokens/expire``      expire every token issued so far
``GET|PUT|DELETE /_control/identity-register``  state; load ``{"path": ...}`` or a ``text/csv`` body; unload
``POST /_control/events``             inject ``{contract_no, type, tckn, effective_on?, notified_on?}``
``POST /_control/process``            let insurers answer now (``?force=true`` ignores the delays)
``POST /_control/sink``               read the body and answer its size (benchmarks: moving bytes, no work)
====================================  ======================================================================
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from oks.des.simulator import register as identity_register
from oks.des.simulator.des import Des
from oks.des.simulator.errors import ApiError, validation_error
from oks.des.simulator.faults import FaultConfig, FaultMiddleware, Faults
from oks.des.simulator.schemas import (
    ContractRegistration,
    CustomerSeed,
    EmployerRequest,
    EventInjection,
    FaultsUpdate,
    PaymentBatchRequest,
    PaymentRequest,
    PersonnelBatchRequest,
    PersonnelListRequest,
    RegisterSource,
    SettingsUpdate,
    TokenRequest,
    WsCredentials,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"
DEFAULT_LIMIT, MAX_LIMIT = 1000, 5000


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status_code=status, media_type="application/json", headers=headers)


def _error(exc: ApiError) -> Response:
    return _json(exc.status, exc.body(), exc.headers)


async def _body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        # pydantic's message, never the offending value: it may be a TCKN or a name.
        raise validation_error(field, first["msg"]) from None


def _page(request: Request) -> tuple[int, int]:
    values = {}
    for name, default, low, high in (("offset", 0, 0, None), ("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)):
        text = request.query_params.get(name)
        try:
            value = default if text is None else int(text)
        except ValueError:
            raise validation_error(name, "must be an integer") from None
        if value < low or (high is not None and value > high):
            raise validation_error(name, f"must be between {low} and {high}" if high else f"must be at least {low}")
        values[name] = value
    return values["offset"], values["limit"]


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("idempotency-key")
    if not key:
        raise ApiError(400, "IDEMPOTENCY_KEY_MISSING", "this request needs an Idempotency-Key header")
    if len(key) > 120:
        raise validation_error("Idempotency-Key", "at most 120 characters")
    return key


def _created(result: tuple[int, dict]) -> Response:
    status, body = result
    return _json(status, body, {"Idempotent-Replayed": "true"} if status == 200 else None)


def create_app(des: Des, faults: Faults, *, seed_customers: Callable[[], None] = lambda: None) -> FastAPI:
    # FastAPI's generated schema would describe the simulator, not the contract: the contract is the
    # hand-written openapi.yaml, served as it is.
    app = FastAPI(title="DES simulator (oks-pipeline)", openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(FaultMiddleware, faults=faults)
    app.state.des, app.state.faults = des, faults

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return _error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "VALIDATION_ERROR")
        return _error(ApiError(exc.status_code, code, str(exc.detail)))

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> Response:
        return _error(validation_error("request", "malformed request"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("simulator: unexpected error on %s %s", request.method, request.url.path)
        return _error(ApiError(500, "INTERNAL_ERROR", "internal error"))

    def customer(request: Request) -> str:
        return des.authenticate(request.headers.get("authorization"))

    # --- service ---------------------------------------------------------------------------------

    @app.get("/health")
    async def health() -> Response:
        return _json(200, {"status": "ok"})

    @app.get("/openapi.yaml")
    async def openapi() -> Response:
        return Response(OPENAPI_PATH.read_bytes(), media_type="application/yaml")

    # --- the contract ----------------------------------------------------------------------------

    @app.post("/api/v1/auth/token")
    async def issue_token(request: Request) -> Response:
        return _json(200, des.issue_token(await _body(request, TokenRequest)))

    @app.put("/api/v1/contracts/{contract_no}")
    async def put_contract(contract_no: str, request: Request) -> Response:
        who = customer(request)
        status, body = des.put_contract(who, contract_no, await _body(request, ContractRegistration))
        return _json(status, body)

    @app.get("/api/v1/contracts/{contract_no}")
    async def get_contract(contract_no: str, request: Request) -> Response:
        return _json(200, des.get_contract(customer(request), contract_no))

    @app.put("/api/v1/contracts/{contract_no}/ws-credentials")
    async def put_ws_credentials(contract_no: str, request: Request) -> Response:
        who = customer(request)
        return _json(200, des.put_ws_credentials(who, contract_no, await _body(request, WsCredentials)))

    @app.post("/api/v1/contracts/{contract_no}/personnel-lists")
    async def create_list(contract_no: str, request: Request) -> Response:
        who, key = customer(request), _idempotency_key(request)
        return _created(des.create_list(who, contract_no, key, await _body(request, PersonnelListRequest)))

    @app.post("/api/v1/personnel-lists/{list_id}/batches")
    async def add_list_batch(list_id: str, request: Request) -> Response:
        who, key = customer(request), _idempotency_key(request)
        return _created(des.add_list_batch(who, list_id, key, await _body(request, PersonnelBatchRequest)))

    @app.post("/api/v1/personnel-lists/{list_id}/send-to-insurer")
    async def send_list(list_id: str, request: Request) -> Response:
        return _json(200, des.send_list(customer(request), list_id))

    @app.get("/api/v1/personnel-lists/{list_id}")
    async def get_list(list_id: str, request: Request) -> Response:
        who = customer(request)
        return _json(200, des.get_list(who, list_id, *_page(request)))

    @app.post("/api/v1/contracts/{contract_no}/payments")
    async def create_payment(contract_no: str, request: Request) -> Response:
        who, key = customer(request), _idempotency_key(request)
        return _created(des.create_payment(who, contract_no, key, await _body(request, PaymentRequest)))

    @app.post("/api/v1/payments/{payment_id}/batches")
    async def add_payment_batch(payment_id: str, request: Request) -> Response:
        who, key = customer(request), _idempotency_key(request)
        return _created(des.add_payment_batch(who, payment_id, key, await _body(request, PaymentBatchRequest)))

    @app.post("/api/v1/payments/{payment_id}/send-to-insurer")
    async def send_payment(payment_id: str, request: Request) -> Response:
        return _json(200, des.send_payment(customer(request), payment_id))

    @app.get("/api/v1/payments/{payment_id}")
    async def get_payment(payment_id: str, request: Request) -> Response:
        who = customer(request)
        return _json(200, des.get_payment(who, payment_id, *_page(request)))

    @app.get("/api/v1/contracts/{contract_no}/events")
    async def read_events(contract_no: str, request: Request) -> Response:
        who = customer(request)
        after = request.query_params.get("after")
        _, limit = _page(request)
        return _json(200, des.read_events(who, contract_no, after, limit))

    @app.post("/api/v1/contracts/{contract_no}/requests")
    async def create_request(contract_no: str, request: Request) -> Response:
        who, key = customer(request), _idempotency_key(request)
        return _created(des.create_request(who, contract_no, key, await _body(request, EmployerRequest)))

    @app.get("/api/v1/requests/{request_id}")
    async def get_request(request_id: str, request: Request) -> Response:
        return _json(200, des.get_request(customer(request), request_id))

    # --- control (tests and demos only) ----------------------------------------------------------

    @app.get("/_control/policies")
    async def control_policies(request: Request) -> Response:
        return _json(200, {"policies": des.policies(request.query_params.get("contract_no"))})

    @app.get("/_control/state")
    async def control_state() -> Response:
        return _json(200, {**des.state(), "faults": faults.snapshot()})

    @app.post("/_control/reset")
    async def control_reset() -> Response:
        des.reset()
        faults.reset()
        seed_customers()
        return _json(200, {"reset": True})

    @app.post("/_control/customers")
    async def control_customer(request: Request) -> Response:
        seed = await _body(request, CustomerSeed)
        des.add_customer(seed)
        return _json(201, {"customer_no": seed.customer_no})

    @app.get("/_control/faults")
    async def control_faults() -> Response:
        return _json(200, faults.snapshot())

    @app.put("/_control/faults")
    async def control_set_faults(request: Request) -> Response:
        update = await _body(request, FaultsUpdate)
        try:
            faults.update(**update.model_dump(exclude_unset=True))
        except ValueError as exc:
            raise validation_error("faults", str(exc)) from None
        return _json(200, faults.snapshot())

    @app.delete("/_control/faults")
    async def control_clear_faults() -> Response:
        faults.configure(FaultConfig())
        return _json(200, faults.snapshot())

    @app.get("/_control/settings")
    async def control_settings() -> Response:
        return _json(200, des.settings().__dict__)

    @app.put("/_control/settings")
    async def control_set_settings(request: Request) -> Response:
        update = await _body(request, SettingsUpdate)
        return _json(200, des.update_settings(**update.model_dump(exclude_unset=True)).__dict__)

    @app.post("/_control/tokens/expire")
    async def control_expire_tokens() -> Response:
        return _json(200, {"expired": des.expire_tokens()})

    @app.get("/_control/identity-register")
    async def control_register() -> Response:
        return _json(200, des.register_state())

    @app.put("/_control/identity-register")
    async def control_load_register(request: Request) -> Response:
        if request.headers.get("content-type", "").startswith("text/csv"):
            source: Path | str = (await request.body()).decode("utf-8-sig")
        else:
            source = Path((await _body(request, RegisterSource)).path)
            if not source.is_file():
                raise validation_error("path", "no such file")
        try:
            people = des.load_register(identity_register.read_rows(source))
        except ValueError as exc:
            raise validation_error("identity_register", str(exc)) from None
        return _json(200, {"loaded": True, "people": people})

    @app.delete("/_control/identity-register")
    async def control_unload_register() -> Response:
        des.unload_register()
        return _json(200, des.register_state())

    @app.post("/_control/events")
    async def control_event(request: Request) -> Response:
        return _json(201, des.inject_event(await _body(request, EventInjection)))

    @app.post("/_control/sink")
    async def control_sink(request: Request) -> Response:
        return _json(200, {"bytes": len(await request.body())})

    @app.post("/_control/process")
    async def control_process(request: Request) -> Response:
        force = request.query_params.get("force", "").lower() in {"1", "true", "yes"}
        return _json(200, des.process_due(force=force))

    return app
