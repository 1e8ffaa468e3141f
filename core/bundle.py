"""Several ORM reads in one statement: what a page needs, declared first, loaded in one round trip.

A page (the rendered portal page, the staff claim page) asks for many small sets of rows of one
claim: its messages, photos, uploads, stage moves, a plugin's packages. Each is an ordinary ORM
``select(Model).where(...).order_by(...)``; sent one by one they cost a round trip and the ORM's
per-statement overhead each. :class:`Bundle` takes them as *parts* (:meth:`Bundle.want`) and sends
them as **one** statement: every part becomes a scalar subquery that aggregates its rows to one
JSON array (``json_agg`` on PostgreSQL, ``json_group_array`` on SQLite), with a row number that
keeps the part's ``ORDER BY``. The answer is turned back into ORM objects of the request's session,
persistent and clean as if the ORM had loaded them (an object already in the session is reused), so
templates and services use them as usual.

Rules:

- a part selects one mapped entity (``select(Photo)``), with any ``where``/``join``/``order_by``/
  ``limit``; the part's tenant scope is the session's, exactly as for the statement alone
  (:mod:`bayline.tenancy` adds its criteria to the bundle's statement and every part in it);
- binary columns (``LargeBinary``: a PDF) are left out and load on first access, as deferred
  columns do;
- relationships are not loaded: a page that needs one reads its rows as another part and hands them
  over with :func:`attach` (no query on access).

A part is either a statement built for this page (``bundle.want(key, select(...))``) or a
:class:`Prepared` one: a statement built **once** with ``bindparam`` placeholders plus this page's
values (:func:`prepare`). When every part of a page is prepared, the bundle's one statement is built
once per set of parts and reused with the page's values (building SQLAlchemy expressions per request
cost more than running the query); the rows and the SQL are the same either way.
"""
from __future__ import annotations

import functools
import inspect
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import JSON, Integer, LargeBinary, Select, bindparam, func, literal_column, select
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import replacement_traverse
from sqlalchemy.types import TypeDecorator

from bayline.db import get_session
from bayline.tenancy import TENANT_PARAM, current_tenant_id, single_tenant_criteria

T = TypeVar("T")
_ROW = "_n"


class Prepared(NamedTuple):
    """A statement built once (with ``bindparam`` placeholders) and the values of one use."""

    stmt: Select[Any]
    params: Mapping[str, Any]

    def bound(self) -> Select[Any]:
        """A copy of the statement with the values in it (what an unprepared part would have been):
        each placeholder becomes a new bound value (``Select.params`` would keep the memoised cache
        key, and with it the placeholders' values, of the statement it copies)."""
        if not self.params:
            return self.stmt
        params = self.params

        def replace(element: Any) -> Any:
            if isinstance(element, BindParameter) and element.key in params:
                return bindparam(element.key, params[element.key], type_=element.type, unique=True,
                                 expanding=element.expanding)
            return None

        return replacement_traverse(self.stmt, {}, replace)  # type: ignore[no-any-return]


def prepare(build: Callable[..., Select[Any]]) -> Callable[..., Prepared]:
    """Decorator for a statement builder whose arguments are only compared in SQL (``Model.claim_id
    == claim_id``, ``.in_(contacts)``: never used in Python, never a ``limit``). The builder is called
    **once**, on first use, with ``bindparam`` placeholders named after its parameters (a list
    default, ``contacts=[]``, gives an expanding one, for ``in_``); the decorated function takes the
    same arguments and returns a :class:`Prepared` part: that statement and these values::

        @prepare
        def thread_stmt(claim_id):
            return select(Message).where(Message.claim_id == claim_id).order_by(Message.id)

        bundle.want("core.messages", thread_stmt(claim.id))  # hook prefetch
        prefetched("core.messages", thread_stmt(claim.id))   # the card's read
    """
    signature = inspect.signature(build)
    names = list(signature.parameters)
    expanding = {name for name, param in signature.parameters.items() if isinstance(param.default, (list, tuple))}
    built = functools.cache(lambda: build(**{name: bindparam(name, expanding=name in expanding) for name in names}))

    @functools.wraps(build)
    def use(*args: Any, **kwargs: Any) -> Prepared:
        params = dict(zip(names, args, strict=False))
        if kwargs:
            params.update(kwargs)
        return Prepared(built(), params)

    return use


def _statement(part: Select[Any] | Prepared) -> Select[Any]:
    return part.bound() if isinstance(part, Prepared) else part


class Bundle:
    """Parts declared with :meth:`want`, loaded together by :meth:`load` (one statement)."""

    def __init__(self) -> None:
        self._parts: dict[str, Select[Any] | Prepared] = {}
        self._loaded: dict[str, list[Any]] | None = None

    def want(self, key: str, stmt: Select[Any] | Prepared) -> None:
        """Add a part: ``stmt`` selects one mapped entity (``select(Message).where(...)``), or is a
        :class:`Prepared` one (:func:`prepare`: built once, the bundle's statement is reused)."""
        if self._loaded is not None:
            raise RuntimeError(f"bundle already loaded; part {key!r} came too late")
        self._parts[key] = stmt

    def __contains__(self, key: str) -> bool:
        return key in self._parts

    def load(self, session: Session | None = None) -> dict[str, list[Any]]:
        """Every part's objects (one statement for all of them; none when there are no parts)."""
        if self._loaded is None:
            self._loaded = load_parts(self._parts, session or get_session()) if self._parts else {}
        return self._loaded

    def rows(self, key: str) -> list[Any]:
        """One part's objects, in its ``ORDER BY`` (the bundle is loaded on first use)."""
        return list(self.load()[key])


_Layout = list[tuple[str, Mapper[Any], list[tuple[str, Any]]]]


class _Text(NamedTuple):
    """The combined statement compiled once for one backend, single-tenant: SQL text, its
    parameters in order (positional drivers) or by name, their defaults and bind processors."""

    sql: str
    names: tuple[str, ...]
    positional: bool
    defaults: dict[str, Any]
    processors: dict[str, Any]


class _Combined(NamedTuple):
    stmts: tuple[Select[Any], ...]  # the prepared parts' statements (kept: the key holds their ids)
    statement: Select[Any]
    layouts: _Layout
    text: dict[str, _Text | None]  # by backend; None: it cannot be sent as text (expanding IN)


_COMBINED: dict[tuple[Any, ...], _Combined] = {}
_COMBINED_MAX = 256
_COMBINED_LOCK = threading.Lock()


def _combine(parts: Mapping[str, Select[Any]], dialect: Any) -> tuple[Select[Any], _Layout]:
    columns: list[Any] = []
    layouts: _Layout = []
    for i, (key, stmt) in enumerate(parts.items()):
        mapper = _entity_mapper(key, stmt)
        props = _layout(mapper)
        inner = stmt.add_columns(func.row_number().over(order_by=list(stmt._order_by_clauses)).label(_ROW))
        aggregate = literal_column(_aggregate_sql(dialect, mapper, f"p{i}"))
        columns.append(select(aggregate).select_from(inner.subquery(f"p{i}")).scalar_subquery().label(f"part{i}"))
        layouts.append((key, mapper, props))
    return select(*columns), layouts


def _prepared_params(parts: Mapping[str, Select[Any] | Prepared], every: bool = True) -> dict[str, Any] | None:
    """Every prepared part's values in one mapping, or None when two parts give one placeholder
    different values, or (``every``) a part is not prepared (then the bundle is built for this page)."""
    params: dict[str, Any] = {}
    for part in parts.values():
        if not isinstance(part, Prepared):
            if every:
                return None
            continue
        for name, value in part.params.items():
            if name in params and params[name] != value:
                return None
            params[name] = value
    return params


def _combined(parts: Mapping[str, Prepared], dialect: Any) -> _Combined:
    """The bundle's statement for these prepared parts, built once per set of parts and backend."""
    stmts = tuple(part.stmt for part in parts.values())
    key = (dialect.name, tuple(parts), tuple(map(id, stmts)))
    found = _COMBINED.get(key)
    if found is not None and all(a is b for a, b in zip(found.stmts, stmts, strict=True)):
        return found
    statement, layouts = _combine({k: part.stmt for k, part in parts.items()}, dialect)
    found = _Combined(stmts, statement, layouts, {})
    with _COMBINED_LOCK:
        if len(_COMBINED) >= _COMBINED_MAX:
            _COMBINED.clear()  # many part sets: start over rather than grow (each is rebuilt on use)
        _COMBINED[key] = found
    return found


def _text(combined: _Combined, dialect: Any) -> _Text | None:
    """``combined`` compiled once for ``dialect`` with the single-tenant criteria (the shop a bound
    parameter: :func:`bayline.tenancy.single_tenant_criteria`), or None when it cannot be sent as
    text (a parameter rendered at execution: an expanding ``IN``)."""
    if dialect.name in combined.text:
        return combined.text[dialect.name]
    compiled = combined.statement.options(single_tenant_criteria()).compile(dialect=dialect)
    text: _Text | None = None
    if "POSTCOMPILE" not in compiled.string and not compiled.literal_execute_params \
            and not compiled.post_compile_params:
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.params)
        processors = {name: proc for name, proc in (compiled._bind_processors or {}).items() if proc is not None}
        text = _Text(compiled.string, names, positional, dict(compiled.params), processors)
    combined.text[dialect.name] = text
    return text


def _execute_text(session: Session, text: _Text, params: Mapping[str, Any]) -> Any:
    """One row of ``text`` run with ``params`` (over the compiled defaults) through the session's
    connection, as the ORM would send it (bind processors applied)."""
    values = {**text.defaults, **params}
    for name, proc in text.processors.items():
        values[name] = proc(values[name])
    args: Any = tuple(values[name] for name in text.names) if text.positional \
        else {name: values[name] for name in text.names}
    return session.connection().exec_driver_sql(text.sql, args).one()


def load_parts(parts: Mapping[str, Select[Any] | Prepared], session: Session) -> dict[str, list[Any]]:
    dialect = session.get_bind().dialect
    params = _prepared_params(parts)
    if params is not None:
        combined = _combined(parts, dialect)  # type: ignore[arg-type]
        tenant = current_tenant_id(session)
        text = _text(combined, dialect) if tenant is not None else None
        if text is not None:
            row = _execute_text(session, text, {**params, TENANT_PARAM: tenant})
        else:
            row = session.execute(combined.statement, params).one()
        layouts = combined.layouts
    elif (mixed := _prepared_params(parts, every=False)) is not None:  # prepared and plain parts
        statement, layouts = _combine({key: part.stmt if isinstance(part, Prepared) else part
                                       for key, part in parts.items()}, dialect)
        row = session.execute(statement, mixed).one()
    else:  # one placeholder, two values: each prepared part with its own values in it
        statement, layouts = _combine({key: _statement(part) for key, part in parts.items()}, dialect)
        row = session.execute(statement).one()
    out: dict[str, list[Any]] = {}
    for (key, mapper, props), raw in zip(layouts, row, strict=True):
        items = _decode(raw)
        items.sort(key=lambda item: item[-1])
        converters = _converters(mapper, props, dialect)
        out[key] = [_persistent(session, mapper, converters, item) for item in items]
    return out


def _entity_mapper(key: str, stmt: Select[Any]) -> Mapper[Any]:
    described = stmt.column_descriptions
    entity = described[0].get("entity") if len(described) == 1 else None
    if entity is None or described[0].get("type") is not entity:
        raise ValueError(f"bundle part {key!r} must select one mapped entity (select(Model))")
    return entity.__mapper__  # type: ignore[no-any-return]


_LAYOUTS: dict[Any, list[tuple[str, Any]]] = {}


def _layout(mapper: Mapper[Any]) -> list[tuple[str, Any]]:
    """(attribute key, column) of what a part reads of ``mapper`` (per model, built once)."""
    found = _LAYOUTS.get(mapper)
    if found is None:
        found = _LAYOUTS[mapper] = [
            (prop.key, prop.columns[0]) for prop in mapper.column_attrs
            if len(prop.columns) == 1 and not isinstance(prop.columns[0].type, LargeBinary)
            and prop.columns[0].table is mapper.local_table]
    return found


_AGGREGATES: dict[tuple[str, Any, str], str] = {}


def _aggregate_sql(dialect: Any, mapper: Mapper[Any], name: str) -> str:
    """The SQL aggregating subquery ``name`` (the part's rows: the entity's columns by name, its row
    number last) to one JSON array of arrays, or NULL for none. Built once per model and position
    and given as text: constructing it (and the subquery's column proxies) per request cost more
    than running the query."""
    key = (dialect.name, mapper, name)
    found = _AGGREGATES.get(key)
    if found is None:
        quote = dialect.identifier_preparer.quote
        values = ", ".join([f"{name}.{quote(col.name)}" for _, col in _layout(mapper)] + [f"{name}.{_ROW}"])
        if dialect.name == "postgresql":
            found = f"CAST(json_agg(json_build_array({values})) AS TEXT)"
        else:  # SQLite: json_array keeps numbers and text as they are stored
            found = f"json_group_array(json_array({values}))"
        _AGGREGATES[key] = found
    return found


def _decode(raw: Any) -> list[list[Any]]:
    if raw is None:
        return []
    if isinstance(raw, (bytes, str)):
        return json.loads(raw, parse_float=Decimal)  # type: ignore[no-any-return]
    return list(raw)


def _python_type(type_: Any) -> type | None:
    try:
        return type_.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return None


def _value(column: Any, value: Any, dialect: Any) -> Any:
    """A JSON value as the ORM would have loaded the column."""
    type_ = column.type
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    if value is None:
        return type_.process_result_value(None, dialect) if isinstance(type_, TypeDecorator) else None
    if isinstance(base, JSON):
        if isinstance(value, str) and dialect.name != "postgresql":
            value = json.loads(value)
        return type_.process_result_value(value, dialect) if isinstance(type_, TypeDecorator) else value
    kind = _python_type(base)
    if kind is not None and isinstance(value, str) and kind in (datetime, date, time):
        value = kind.fromisoformat(value.replace(" ", "T") if kind is datetime else value)
    elif kind is uuid.UUID and isinstance(value, str):
        value = uuid.UUID(value)
    elif kind is Decimal:
        value = Decimal(str(value))
    elif kind is float:
        value = float(value)
    elif kind is bool:
        value = bool(value)
    elif kind is int and isinstance(base, Integer):
        value = int(value)
    elif kind is not None and kind is not str and not isinstance(value, kind):
        processor = base.result_processor(dialect, None)
        value = processor(value) if processor else value
    if isinstance(type_, TypeDecorator):
        value = type_.process_result_value(value, dialect)
    return value


_CONVERTERS: dict[tuple[Any, str], list[tuple[str, Any]]] = {}


def _converter(column: Any, dialect: Any) -> Any:
    """JSON value → the value as the ORM loads ``column`` (what :func:`_value` does, its type checks
    made once per column and backend), or None when the JSON value is it."""
    type_ = column.type
    decorator = isinstance(type_, TypeDecorator)
    base = type_.impl_instance if decorator else type_
    kind = None if isinstance(base, JSON) else _python_type(base)
    if not decorator and (kind is str or (kind is int and isinstance(base, Integer))):
        return None
    if isinstance(base, JSON) or kind not in (datetime, date, time, uuid.UUID, Decimal, float, bool, int):
        return lambda value: _value(column, value, dialect)  # the general case (JSON, other types)
    if kind is int and not isinstance(base, Integer):
        return lambda value: _value(column, value, dialect)
    if kind in (datetime, date, time, uuid.UUID):  # text in JSON; anything else as _value does it
        if kind is datetime:
            def parse(value: str) -> Any:
                return datetime.fromisoformat(value.replace(" ", "T"))
        else:
            parse = kind.fromisoformat if kind is not uuid.UUID else uuid.UUID
        process = type_.process_result_value if decorator else None

        def from_text(value: Any) -> Any:
            if not isinstance(value, str):
                return _value(column, value, dialect)
            value = parse(value)
            return value if process is None else process(value, dialect)

        return from_text
    cast: Any = (lambda value: Decimal(str(value))) if kind is Decimal else kind  # float, bool, int
    if not decorator:
        return lambda value: None if value is None else cast(value)
    process_value = type_.process_result_value
    return lambda value: process_value(None if value is None else cast(value), dialect)


def _converters(mapper: Mapper[Any], props: list[tuple[str, Any]], dialect: Any) -> list[tuple[str, Any]]:
    """(attribute key, JSON value → loaded value, or None when the JSON value is it) per column of a
    part, built once per model and backend."""
    found = _CONVERTERS.get((mapper, dialect.name))
    if found is None:
        found = [(key, _converter(col, dialect)) for key, col in props]
        _CONVERTERS[(mapper, dialect.name)] = found
    return found


_PRIMARY: dict[Any, list[int]] = {}


def _primary(mapper: Mapper[Any], converters: list[tuple[str, Any]]) -> list[int]:
    """Positions of the primary key's attributes in a part's row (per model)."""
    found = _PRIMARY.get(mapper)
    if found is None:
        keys = [key for key, _ in converters]
        found = _PRIMARY[mapper] = [keys.index(mapper.get_property_by_column(c).key) for c in mapper.primary_key]
    return found


def _persistent(session: Session, mapper: Mapper[Any], converters: list[tuple[str, Any]], item: list[Any]) -> Any:
    values = {key: (value if convert is None else convert(value))
              for (key, convert), value in zip(converters, item, strict=False)}  # the row number is left over
    row = list(values.values())
    identity = mapper.identity_key_from_primary_key([row[i] for i in _primary(mapper, converters)])
    found = session.identity_map.get(identity)
    if found is not None:
        return found
    obj = mapper.class_manager.new_instance()
    state = instance_state(obj)
    state.dict.update(values)  # loaded, no history: what the ORM's own loading does
    make_transient_to_detached(obj)  # the columns left out (binary) load on first access
    # detached and clean: becomes persistent, nothing to flush (cheaper than merge). What
    # ``session.add`` does, less its save-update cascade: a new object has no related objects loaded.
    session._save_or_update_impl(state)
    return obj


def attach(parents: Iterable[Any], name: str, children: Iterable[T], by: str, back: str | None = None) -> None:
    """Hand ``children`` to each parent's collection ``name`` as loaded (no query when read): a
    child belongs to the parent whose ``id`` equals the child's ``by``; ``back``: the child's
    many-to-one attribute naming its parent, set too. Children keep the order given."""
    parents = list(parents)
    by_id = {parent.id: parent for parent in parents}
    groups: dict[Any, list[T]] = {}
    for child in children:
        groups.setdefault(getattr(child, by), []).append(child)
        if back is not None and getattr(child, by) in by_id:
            set_committed_value(child, back, by_id[getattr(child, by)])
    for parent in parents:
        set_committed_value(parent, name, groups.get(parent.id, []))



# -- the request's bundle ---------------------------------------------------------------------

_G_KEY = "_bayline_bundle"


def request_bundle() -> Bundle:
    """The bundle of the current request (created on first use): the page's parts, declared in the
    ``prefetch`` hook, loaded together on the first :func:`prefetched` read."""
    from flask import g

    found = g.get(_G_KEY)
    if found is None:
        found = Bundle()
        setattr(g, _G_KEY, found)
    return found  # type: ignore[no-any-return]


def prefetched(key: str, stmt: Select[Any] | Prepared) -> list[Any]:
    """The rows of ``stmt`` (a select or a :class:`Prepared` one): from the request's bundle when
    the page declared ``key`` there (one statement for every declared part), else ``stmt`` sent on
    its own (outside a page, in a test)."""
    from flask import g, has_app_context

    bundle = g.get(_G_KEY) if has_app_context() else None
    if bundle is not None and key in bundle:
        return bundle.rows(key)
    if isinstance(stmt, Prepared):
        return list(get_session().scalars(stmt.stmt, dict(stmt.params)).unique())
    return list(get_session().scalars(stmt).unique())
