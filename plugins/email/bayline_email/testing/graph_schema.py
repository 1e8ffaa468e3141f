"""Check Microsoft Graph JSON against Microsoft's generated models: the ``msgraph-sdk`` package (a test-only
dependency, imported here and nowhere in the plugin), so the Graph stand-in answers (and is sent) only what
the real API's published schema allows.

- **Endpoints** (:func:`endpoint`): each path the stand-in serves is matched against the URL template of
  an SDK request builder (``/me`` is ``/users/{user-id}``, ``mailFolders('inbox')`` is
  ``mailFolders/{mailFolder-id}``); the builder's template lists the query parameters the endpoint takes
  and its method's annotations name the request body and response models (``SubscriptionsRequestBuilder.
  post(body: Subscription) -> Subscription``, ``DeltaRequestBuilder.get() -> DeltaGetResponse``, ...).
- **Bodies** (:func:`problems`): the JSON is parsed with kiota's :class:`JsonParseNode` into the model
  class, through a parse node that records where it goes wrong: a property the model has no deserializer
  for (what kiota would put in ``additional_data``), a present non-null value the deserializer cannot read
  (a string where a bool is due, a datetime or GUID that does not parse, an enum member the model does not
  have, an object where a collection is due ...), or an ``@odata.type`` that is no type of the model.
  OData instance annotations (``@odata.context``/``type``/``id``/``etag``, ``@removed`` in delta pages)
  pass anywhere; ``@odata.nextLink``/``@odata.deltaLink``/``@odata.count`` are model properties of the
  collection and delta responses, so they pass only there.
- **Notifications**: msgraph-sdk has no model of the change-notification payload (the types are reachable
  from no API path, so generation trims them: microsoftgraph/msgraph-sdk-python#1322). The envelope
  (:class:`ChangeNotificationCollection`, :class:`ChangeNotification`, the ``changeType`` and
  ``lifecycleEventType`` enums, :class:`ChangeNotificationEncryptedContent`) is transcribed below from
  Microsoft's v1.0 resource pages as kiota models, parsed the same way; ``resourceData`` (an open type)
  is parsed as the msgraph model its ``@odata.type`` names (``#Microsoft.Graph.Message``: ``Message``)."""
from __future__ import annotations

import base64
import binascii
import difflib
import enum
import importlib
import inspect
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import unquote
from uuid import UUID

from kiota_abstractions.serialization import Parsable, ParseNode, SerializationWriter
from kiota_serialization_json.json_parse_node import JsonParseNode

#: instance annotations accepted on any object (OData JSON format; ``@removed`` marks a delta's removal)
ANNOTATIONS = frozenset({"@odata.context", "@odata.type", "@odata.id", "@odata.etag", "@odata.editLink",
                         "@odata.readLink", "@removed"})
_PROPERTY_ANNOTATION = re.compile(r"^([A-Za-z_]\w*)@odata\.\w+$")


class SchemaMismatch(AssertionError):
    """JSON that the named msgraph model does not describe; the message names every offending field."""

    def __init__(self, what: str, found: list[str]) -> None:
        super().__init__(f"{what} does not match Microsoft Graph's model: " + "; ".join(found[:10]))
        self.what, self.found = what, found


# -- the change-notification payload (not generated into msgraph-sdk; see the module docstring) --------


class ChangeType(enum.Enum):
    Created = "created"
    Updated = "updated"
    Deleted = "deleted"


class LifecycleEventType(enum.Enum):
    Missed = "missed"
    SubscriptionRemoved = "subscriptionRemoved"
    ReauthorizationRequired = "reauthorizationRequired"


class _ParseOnly(Parsable):
    def serialize(self, writer: SerializationWriter) -> None:
        raise NotImplementedError("parse-only test model")


@dataclass
class ChangeNotificationEncryptedContent(_ParseOnly):
    data: str | None = None
    data_key: str | None = None
    data_signature: str | None = None
    encryption_certificate_id: str | None = None
    encryption_certificate_thumbprint: str | None = None

    @staticmethod
    def create_from_discriminator_value(parse_node: ParseNode) -> ChangeNotificationEncryptedContent:
        return ChangeNotificationEncryptedContent()

    def get_field_deserializers(self) -> dict[str, Callable[[ParseNode], None]]:
        return {"data": lambda n: setattr(self, "data", n.get_str_value()),
                "dataKey": lambda n: setattr(self, "data_key", n.get_str_value()),
                "dataSignature": lambda n: setattr(self, "data_signature", n.get_str_value()),
                "encryptionCertificateId": lambda n: setattr(self, "encryption_certificate_id", n.get_str_value()),
                "encryptionCertificateThumbprint": lambda n: setattr(self, "encryption_certificate_thumbprint",
                                                                     n.get_str_value())}


class ResourceData:
    """``resourceData`` is an open type: its content is the subscribed resource's, so it is parsed as the
    msgraph model its ``@odata.type`` names (Outlook resources always carry one)."""

    @staticmethod
    def create_from_discriminator_value(parse_node: ParseNode) -> Parsable:
        child = parse_node.get_child_node("@odata.type")
        name = child.get_str_value() if child else None
        found = _entity_model(name) if name else None
        if found is None:
            raise ValueError(f"resourceData names no msgraph model in @odata.type ({name!r})")
        return found.create_from_discriminator_value(parse_node)


@dataclass
class ChangeNotification(_ParseOnly):
    change_type: ChangeType | None = None
    client_state: str | None = None
    encrypted_content: ChangeNotificationEncryptedContent | None = None
    id: str | None = None
    lifecycle_event: LifecycleEventType | None = None
    resource: str | None = None
    resource_data: Any = None
    subscription_expiration_date_time: datetime | None = None
    subscription_id: UUID | None = None
    tenant_id: UUID | None = None

    @staticmethod
    def create_from_discriminator_value(parse_node: ParseNode) -> ChangeNotification:
        return ChangeNotification()

    def get_field_deserializers(self) -> dict[str, Callable[[ParseNode], None]]:
        return {
            "changeType": lambda n: setattr(self, "change_type", n.get_enum_value(ChangeType)),
            "clientState": lambda n: setattr(self, "client_state", n.get_str_value()),
            "encryptedContent": lambda n: setattr(self, "encrypted_content",
                                                  n.get_object_value(ChangeNotificationEncryptedContent)),
            "id": lambda n: setattr(self, "id", n.get_str_value()),
            "lifecycleEvent": lambda n: setattr(self, "lifecycle_event", n.get_enum_value(LifecycleEventType)),
            "resource": lambda n: setattr(self, "resource", n.get_str_value()),
            "resourceData": lambda n: setattr(self, "resource_data", n.get_object_value(ResourceData)),
            "subscriptionExpirationDateTime": lambda n: setattr(self, "subscription_expiration_date_time",
                                                                n.get_datetime_value()),
            "subscriptionId": lambda n: setattr(self, "subscription_id", n.get_uuid_value()),
            "tenantId": lambda n: setattr(self, "tenant_id", n.get_uuid_value()),
        }


@dataclass
class ChangeNotificationCollection(_ParseOnly):
    validation_tokens: list[str] | None = None
    value: list[ChangeNotification] = field(default_factory=list)

    @staticmethod
    def create_from_discriminator_value(parse_node: ParseNode) -> ChangeNotificationCollection:
        return ChangeNotificationCollection()

    def get_field_deserializers(self) -> dict[str, Callable[[ParseNode], None]]:
        return {"validationTokens": lambda n: setattr(self, "validation_tokens",
                                                      n.get_collection_of_primitive_values(str)),
                "value": lambda n: setattr(self, "value", n.get_collection_of_object_values(ChangeNotification))}


# -- models by name ---------------------------------------------------------------------------------

_OURS: dict[str, type] = {c.__name__: c for c in (ChangeNotificationCollection, ChangeNotification,
                                                    ChangeNotificationEncryptedContent)}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


@cache
def model(name: str) -> type:
    """A model class by name: ``Message``, ``Subscription``, ``User`` (``msgraph.generated.models``),
    ``ODataError``, or one of the notification models above."""
    if name in _OURS:
        return _OURS[name]
    if name == "ODataError":
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        return ODataError
    return getattr(importlib.import_module(f"msgraph.generated.models.{_snake(name)}"), name)


def _entity_model(odata_type: str) -> type | None:
    """The msgraph model of ``#microsoft.graph.message`` (any case, as Graph's notifications spell it)."""
    prefix, _, name = odata_type.lstrip("#").rpartition(".")
    if prefix.lower() != "microsoft.graph" or not name:
        return None
    try:
        return model(name[0].upper() + name[1:])
    except (ImportError, AttributeError):
        return None


def fields_of(cls: type) -> frozenset[str]:
    """The JSON property names the model knows (its field deserializers)."""
    return frozenset(cls().get_field_deserializers())


# -- the checking parse node ------------------------------------------------------------------------


def _typename(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


class _Node(JsonParseNode):
    """kiota's JSON parse node, recording (instead of silently dropping) what the model cannot read."""

    def __init__(self, node: Any, path: str, found: list[str]) -> None:
        super().__init__(node)
        self._path, self._found = path, found

    def _at(self, node: Any, key: str | int) -> _Node:
        path = f"{self._path}[{key}]" if isinstance(key, int) else (f"{self._path}.{key}" if self._path else key)
        return _Node(node, path, self._found)

    def _bad(self, expected: str, detail: str = "") -> None:
        self._found.append(f"{self._path or '<root>'}: expected {expected}, got {_typename(self._json_node)} "
                           f"{self._json_node!r:.80}{f' ({detail})' if detail else ''}")

    def _typed(self, expected: str, read: Callable[[], Any]) -> Any:
        try:
            value = read()
        except (ValueError, TypeError, OverflowError) as exc:
            self._bad(expected, str(exc))
            return None
        if value is None and self._json_node is not None:
            self._bad(expected)
        return value

    def get_child_node(self, identifier: str) -> ParseNode | None:
        if isinstance(self._json_node, dict) and identifier in self._json_node:
            return self._at(self._json_node[identifier], identifier)
        return None

    def get_str_value(self) -> str | None:
        return self._typed("a string", super().get_str_value)

    def get_bool_value(self) -> bool | None:
        return self._typed("a boolean", super().get_bool_value)

    def get_int_value(self) -> int | None:
        if isinstance(self._json_node, bool):
            self._bad("an integer")
            return None
        return self._typed("an integer", super().get_int_value)

    def get_float_value(self) -> float | None:
        if isinstance(self._json_node, bool):
            self._bad("a number")
            return None
        return self._typed("a number", super().get_float_value)

    def get_uuid_value(self) -> UUID | None:
        return self._typed("a GUID", super().get_uuid_value)

    def get_datetime_value(self) -> Any:
        return self._typed("a DateTimeOffset (ISO 8601)", super().get_datetime_value)

    def get_timedelta_value(self) -> Any:
        return self._typed("a Duration (ISO 8601)", super().get_timedelta_value)

    def get_date_value(self) -> Any:
        return self._typed("a Date (ISO 8601)", super().get_date_value)

    def get_time_value(self) -> Any:
        return self._typed("a TimeOfDay (ISO 8601)", super().get_time_value)

    def get_bytes_value(self) -> bytes | None:
        def read() -> bytes | None:
            if not isinstance(self._json_node, str):
                return None
            try:
                return base64.b64decode(self._json_node, validate=True)
            except binascii.Error as exc:
                raise ValueError(str(exc)) from exc

        return self._typed("base64 (Edm.Binary)", read)

    def get_enum_value(self, enum_class: Any) -> Any:
        value = super().get_enum_value(enum_class) if isinstance(self._json_node, str) else None
        if value is None and self._json_node is not None:
            self._bad(f"one of {enum_class.__name__} {[m.value for m in enum_class]}")
        return value

    def get_collection_of_primitive_values(self, primitive_type: Any) -> list[Any] | None:
        if not isinstance(self._json_node, list):
            self._bad(f"an array of {getattr(primitive_type, '__name__', primitive_type)}")
            return None
        readers = {str: "get_str_value", bool: "get_bool_value", int: "get_int_value", float: "get_float_value",
                   UUID: "get_uuid_value", datetime: "get_datetime_value", bytes: "get_bytes_value"}
        name = readers.get(primitive_type)
        if name is None:
            return list(super().get_collection_of_primitive_values(primitive_type) or [])
        return [getattr(self._at(v, i), name)() for i, v in enumerate(self._json_node)]

    def get_collection_of_enum_values(self, enum_class: Any) -> list[Any] | None:
        if isinstance(self._json_node, str):  # flags enums: "a,b"
            return [self._at(v.strip(), i).get_enum_value(enum_class) for i, v in enumerate(self._json_node.split(","))]
        if not isinstance(self._json_node, list):
            self._bad(f"an array of {enum_class.__name__}")
            return None
        return [self._at(v, i).get_enum_value(enum_class) for i, v in enumerate(self._json_node)]

    def get_collection_of_object_values(self, factory: Any) -> list[Any] | None:
        if not isinstance(self._json_node, list):
            self._bad(f"an array of {getattr(factory, '__name__', 'objects')}")
            return None
        return [self._at(v, i).get_object_value(factory) for i, v in enumerate(self._json_node)]

    def get_object_value(self, factory: Any) -> Any:
        if not isinstance(self._json_node, dict):
            self._bad(f"an object ({getattr(factory, '__name__', 'model')})")
            return None
        try:
            result = factory.create_from_discriminator_value(self)
        except ValueError as exc:
            self._found.append(f"{self._path or '<root>'}: {exc}")
            return None
        self._check_type(result)
        known = result.get_field_deserializers()
        for name, value in self._json_node.items():
            if name in known:
                if value is not None:
                    known[name](self._at(value, name))
                continue
            annotated = _PROPERTY_ANNOTATION.match(name)
            if name in ANNOTATIONS or (annotated and annotated.group(1) in known):
                continue
            close = difflib.get_close_matches(name, [k for k in known if not k.startswith("@")], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            where = f"{self._path}.{name}" if self._path else name
            self._found.append(f"{where}: not a property of {_odata_name(type(result))}{hint}")
        return result

    def _check_type(self, result: Any) -> None:
        """``@odata.type`` names the model or a type derived from it (as the SDK's discriminator resolves)."""
        odata_type = self._json_node.get("@odata.type")
        expected = _odata_name(type(result))
        if isinstance(odata_type, str) and expected.startswith("#microsoft.graph.") \
                and odata_type.casefold() != expected.casefold():
            where = f"{self._path}.@odata.type" if self._path else "@odata.type"
            self._found.append(f"{where}: {odata_type!r} is no type of {expected}")


def _odata_name(cls: type) -> str:
    if cls.__module__.startswith("msgraph.generated.models.") and cls.__module__.count(".") == 3:
        return f"#microsoft.graph.{cls.__name__[0].lower()}{cls.__name__[1:]}"
    return cls.__name__


def problems(schema: type | str, value: Any) -> list[str]:
    """What in ``value`` (parsed JSON) the model ``schema`` does not describe (empty when it conforms)."""
    cls = model(schema) if isinstance(schema, str) else schema
    found: list[str] = []
    _Node(value, "", found).get_object_value(cls)
    return found


def check(schema: type | str, value: Any, what: str = "") -> Any:
    """``value`` unchanged, or :class:`SchemaMismatch` naming each field the model does not describe."""
    found = problems(schema, value)
    if found:
        name = schema if isinstance(schema, str) else schema.__name__
        raise SchemaMismatch(what or name, found)
    return value


# -- endpoints: the SDK's request builders ------------------------------------------------------------

_BUILDERS = (
    "users.item.user_item_request_builder.UserItemRequestBuilder",
    "users.item.mail_folders.item.messages.delta.delta_request_builder.DeltaRequestBuilder",
    "users.item.mail_folders.item.messages.messages_request_builder.MessagesRequestBuilder",
    "users.item.messages.item.value.content_request_builder.ContentRequestBuilder",
    "users.item.send_mail.send_mail_request_builder.SendMailRequestBuilder",
    "subscriptions.subscriptions_request_builder.SubscriptionsRequestBuilder",
    "subscriptions.item.subscription_item_request_builder.SubscriptionItemRequestBuilder",
    "subscriptions.item.reauthorize.reauthorize_request_builder.ReauthorizeRequestBuilder",
)


@dataclass(frozen=True)
class Endpoint:
    """One method of an SDK request builder: its URL template, query parameters and body/response models
    (``None``: no body; ``bytes``: not JSON)."""

    builder: str
    method: str
    template: str
    query: frozenset[str]
    body: type | None
    response: type | None

    def item_model(self) -> type | None:
        """The model of the response's ``value`` items (collections), else the response model."""
        return _item_model(self.response)


@cache
def _item_model(response: type | None) -> type | None:
    if response is None or response is bytes:
        return None
    deserializers = response().get_field_deserializers()
    if "value" not in deserializers:
        return response
    seen: list[Any] = []

    class Probe(JsonParseNode):
        def get_collection_of_object_values(self, factory: Any) -> list[Any]:
            seen.append(factory)
            return []

    deserializers["value"](Probe([]))
    return seen[0] if seen else None


def _resolve(annotation: str, package: str) -> type | None:
    name = re.sub(r"^Optional\[(.*)\]$", r"\1", annotation.strip())
    if name == "None":
        return None
    if name == "bytes":
        return bytes
    for module in (f"{package}.{_snake(name)}", f"msgraph.generated.models.{_snake(name)}"):
        try:
            return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
        except ModuleNotFoundError:
            continue
    raise LookupError(f"cannot resolve {annotation!r} of {package}")


@cache
def endpoints() -> tuple[Endpoint, ...]:
    """The SDK endpoints the stand-in serves (call once from the main thread: importing the builders
    warns about their deprecated request-configuration classes, silenced here)."""
    out: list[Endpoint] = []
    for dotted in _BUILDERS:
        module_name, _, cls_name = dotted.rpartition(".")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            module = importlib.import_module(f"msgraph.generated.{module_name}")
        cls = getattr(module, cls_name)
        template = cls(object(), {}).url_template
        query = re.search(r"\{\?([^}]*)\}", template)
        names = frozenset(unquote(q.rstrip("*")) for q in query.group(1).split(",")) if query else frozenset()
        package = module.__name__.rpartition(".")[0]
        for method in ("get", "post", "patch", "put", "delete"):
            func = getattr(cls, method, None)
            if func is None:
                continue
            notes = inspect.get_annotations(func)
            out.append(Endpoint(cls_name, method.upper(), template, names,
                                _resolve(notes["body"], package) if "body" in notes else None,
                                _resolve(notes.get("return", "None"), package)))
    return tuple(out)


def _pattern(template: str) -> re.Pattern[str]:
    path = re.sub(r"\{\?[^}]*\}$", "", template).replace("{+baseurl}/", "")
    parts = [re.escape(p) for p in re.split(r"\{[^}]+\}", path)]
    regex = "[^/]+".join(parts).replace(re.escape("()"), r"(?:\(\))?")
    return re.compile(f"^{regex}$")


def normalise(path: str) -> str:
    """Graph's path forms as the SDK's templates spell them: ``me`` is ``users/{user-id}``, a key in
    parentheses (``mailFolders('inbox')``) a key segment."""
    path = path.strip("/")
    path = re.sub(r"^me(?=/|$)", "users/me", path)
    return re.sub(r"(\w+)\('((?:[^']|'')*)'\)", r"\1/\2", path)


def endpoint(method: str, path: str) -> Endpoint | None:
    """The SDK endpoint serving ``method path`` (``GET me/mailFolders('inbox')/messages/delta``)."""
    normal = normalise(path)
    for found in endpoints():
        if found.method == method.upper() and _pattern(found.template).match(normal):
            return found
    return None


def query_problems(found: Endpoint, args: dict[str, str], *, links: frozenset[str] = frozenset()) -> list[str]:
    """Query parameters the endpoint does not take (``links``: those the server put in its own
    ``@odata.nextLink``/``deltaLink``, which clients follow as they are), and ``$select``/``$filter``
    properties its items' model does not have."""
    out = [f"query parameter {name!r} is not one of {found.builder}'s {sorted(found.query)}"
           for name in args if name not in found.query | links]
    item = found.item_model()
    known = fields_of(item) if item is not None else frozenset()
    if "$select" in args and item is not None:
        out += [f"$select: {name!r} is not a property of {_odata_name(item)}"
                for name in args["$select"].split(",") if name.strip() not in known]
    if "$filter" in args and item is not None:
        for name in re.findall(r"([A-Za-z_][\w/]*)\s+(?:eq|ne|gt|ge|lt|le)\s", args["$filter"]):
            if name.split("/")[0] not in known:
                out.append(f"$filter: {name!r} is not a property of {_odata_name(item)}")
    return out
