"""The Graph stand-in's check against Microsoft's generated models (msgraph-sdk,
:mod:`bayline_email.testing.graph_schema`) can fail, and names the field when it does: a misspelt
property, a value of the wrong type, an unknown enum member, a query parameter or ``$select`` property
the endpoint does not have; and the stand-in refuses such a request (400), replaces such an answer (500)
and raises on such a notification, each kept in ``problems``."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import requests
from bayline_email.testing import graph_schema
from bayline_email.testing.graph_schema import SchemaMismatch, check, problems
from bayline_email.testing.microsoft import TENANT_ID, MicrosoftServer, Subscription, Token
from email_helpers import mail

WHEN = "2026-12-06T10:00:00.0000000Z"


def test_a_misspelt_property_fails_and_is_named():
    with pytest.raises(SchemaMismatch) as err:
        check("Message", {"id": "AAMk1", "recievedDateTime": WHEN}, "delta item")
    assert "recievedDateTime: not a property of #microsoft.graph.message" in str(err.value)
    assert "did you mean 'receivedDateTime'" in str(err.value) and str(err.value).startswith("delta item")
    assert problems("Message", {"id": "AAMk1", "receivedDateTime": WHEN}) == []


def test_a_wrong_type_fails_and_is_named():
    found = problems("Message", {"isRead": "yes", "receivedDateTime": "yesterday", "categories": "Red",
                                 "importance": "urgent", "toRecipients": [{"emailAddress": {"address": 5}}],
                                 "body": "text"})
    assert any(f.startswith("isRead: expected a boolean") for f in found), found
    assert any(f.startswith("receivedDateTime: expected a DateTimeOffset") for f in found), found
    assert any(f.startswith("categories: expected an array") for f in found), found
    assert any(f.startswith("importance: expected one of Importance") for f in found), found
    assert any(f.startswith("toRecipients[0].emailAddress.address: expected a string") for f in found), found
    assert any(f.startswith("body: expected an object") for f in found), found
    with pytest.raises(SchemaMismatch, match="expirationDateTime: expected a DateTimeOffset"):
        check("Subscription", {"expirationDateTime": 4200})
    assert problems("Message", {"isRead": None}) == []  # null is the model's "not set"


def test_annotations_pass_and_collection_links_only_where_the_model_has_them():
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(message)",
            "@odata.nextLink": "https://graph.microsoft.com/v1.0/me/mailFolders('inbox')/messages/delta?$skiptoken=x",
            "value": [{"@odata.type": "#microsoft.graph.message", "@odata.etag": 'W/"CQAAABYAAAA="', "id": "AAMk1",
                       "subject@odata.type": "#String", "conversationId": "AAQk"},
                      {"@odata.type": "#microsoft.graph.eventMessage", "id": "AAMk2", "meetingMessageType": "none"},
                      {"id": "AAMk3", "@removed": {"reason": "deleted"}}]}
    delta = graph_schema.endpoint("GET", "me/mailFolders('inbox')/messages/delta")
    assert delta is not None and problems(delta.response, page) == []
    assert problems(delta.response, {"value": [], "@odata.deltaLink": "https://x/?$deltatoken=1"}) == []
    assert problems("Message", {"id": "AAMk1", "@odata.nextLink": "https://x"}) == [
        "@odata.nextLink: not a property of #microsoft.graph.message"]
    assert problems("Message", {"@odata.type": "#microsoft.graph.mesage"}) == [
        "@odata.type: '#microsoft.graph.mesage' is no type of #microsoft.graph.message"]


def test_notification_payloads():
    sub = str(uuid.uuid4())
    created = {"subscriptionId": sub, "subscriptionExpirationDateTime": WHEN, "changeType": "created",
               "resource": "Users/x/Messages/AAMk1", "clientState": "s", "tenantId": TENANT_ID,
               "resourceData": {"@odata.type": "#Microsoft.Graph.Message", "@odata.id": "Users/x/Messages/AAMk1",
                                "@odata.etag": 'W/"CQAAABYAAAA="', "id": "AAMk1"}}
    lifecycle = {"subscriptionId": sub, "subscriptionExpirationDateTime": WHEN, "tenantId": TENANT_ID,
                 "clientState": "s", "lifecycleEvent": "reauthorizationRequired"}
    assert problems("ChangeNotificationCollection", {"value": [created, lifecycle]}) == []
    found = problems("ChangeNotificationCollection", {"value": [
        {**created, "changeType": "create", "subscriptionId": "sub-1",
         "resourceData": {**created["resourceData"], "subjct": "x"}},
        {**lifecycle, "lifecycleEvent": "reauthorisationRequired", "clientstate": "s"},
        {**created, "resourceData": {"id": "AAMk1"}}]})
    assert any(f.startswith("value[0].changeType: expected one of ChangeType") for f in found), found
    assert any(f.startswith("value[0].subscriptionId: expected a GUID") for f in found), found
    assert any(f.startswith("value[0].resourceData.subjct: not a property of #microsoft.graph.message")
               for f in found), found
    assert any(f.startswith("value[1].lifecycleEvent: expected one of LifecycleEventType") for f in found), found
    assert any(f.startswith("value[1].clientstate: not a property of ChangeNotification (did you mean 'clientState'")
               for f in found), found
    assert any(f.startswith("value[2].resourceData: resourceData names no msgraph model") for f in found), found


def test_endpoints_are_the_sdk_request_builders():
    me = graph_schema.endpoint("GET", "me")
    assert me is not None and me.builder == "UserItemRequestBuilder" and me.response.__name__ == "User"
    create = graph_schema.endpoint("POST", "subscriptions")
    assert create is not None and create.body.__name__ == create.response.__name__ == "Subscription"
    renew = graph_schema.endpoint("PATCH", "subscriptions/abc")
    assert renew is not None and renew.body.__name__ == "Subscription"
    assert graph_schema.endpoint("POST", "subscriptions/abc/reauthorize").response is None
    assert graph_schema.endpoint("GET", "me/messages/AAMk1/$value").response is bytes
    assert graph_schema.endpoint("POST", "me/sendMail").body.__name__ == "SendMailPostRequestBody"
    assert graph_schema.endpoint("GET", "me/mailFolder('inbox')/messages/delta") is None  # misspelt segment
    sent = graph_schema.endpoint("GET", "me/mailFolders('sentitems')/messages")
    assert graph_schema.query_problems(sent, {"$filter": "internetMessageId eq '<a@b>'", "$select": "id"}) == []
    assert graph_schema.query_problems(sent, {"$filter": "internetMessageID eq '<a@b>'", "$selct": "id"}) == [
        "query parameter '$selct' is not one of MessagesRequestBuilder's ['$count', '$expand', '$filter', "
        "'$orderby', '$search', '$select', '$skip', '$top']",
        "$filter: 'internetMessageID' is not a property of #microsoft.graph.message"]
    assert graph_schema.query_problems(me, {"$select": "mail,userPrincipleName"}) == [
        "$select: 'userPrincipleName' is not a property of #microsoft.graph.user"]


@pytest.fixture
def standin(tmp_path) -> Iterator[tuple[MicrosoftServer, Callable[..., requests.Response]]]:
    """The stand-in alone, with a token of its mailbox, and ``graph(method, path, **kw)`` as that mailbox."""
    server = MicrosoftServer(tmp_path / "ms-tls").start()
    box = server.add_mailbox("owner@contoso.test")
    server.tokens.append(Token(box.address, "eyJ0eXAi.test", "0.ARtest", time.time() + 3600))

    def graph(method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, f"{server.base}/v1.0/{path}", verify=server.certs.ca, timeout=60,
                                headers={"Authorization": "Bearer eyJ0eXAi.test"}, **kw)

    yield server, graph
    server.stop()


def test_the_standin_refuses_a_request_graph_would_reject(standin):
    server, graph = standin
    bad = graph("POST", "subscriptions", json={
        "changeType": "created", "notificationURL": "http://127.0.0.1:9/push", "resource": "me/messages",
        "expirationDateTime": WHEN, "includeResourceData": "no"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "BadRequest"
    assert "notificationURL: not a property of #microsoft.graph.subscription" in bad.json()["error"]["message"]
    assert "includeResourceData: expected a boolean" in bad.json()["error"]["message"]
    select = graph("GET", "me/mailFolders('inbox')/messages/delta", params={"$select": "id,recievedDateTime"})
    assert select.status_code == 400 and "'recievedDateTime' is not a property" in select.text
    assert graph("GET", "me/inbox/messages").status_code == 400
    assert len(server.problems) == 3 and "notificationURL" in server.problems[0]
    assert "no msgraph-sdk request builder serves GET /v1.0/me/inbox/messages" in server.problems[2]


def test_the_standin_never_answers_what_graph_would_not_send(standin):
    server, graph = standin
    item = server.deliver("owner@contoso.test", mail(frm="a@insurer.test", to="owner@contoso.test"))
    page = graph("GET", "me/mailFolders('inbox')/messages/delta",
                 params={"$select": "id,internetMessageId,conversationId"})
    assert page.status_code == 200 and [v["id"] for v in page.json()["value"]] == [item.id]
    assert server.problems == []
    item.conversation_id = 42  # a stand-in bug: a number where Graph sends a string
    page = graph("GET", "me/mailFolders('inbox')/messages/delta")
    assert page.status_code == 500 and "value[0].conversationId: expected a string" in page.text
    assert server.problems and "DeltaGetResponse: value[0].conversationId" in server.problems[-1]


def test_the_standin_never_posts_a_notification_graph_would_not_send(standin):
    server, _ = standin
    server.subscriptions["s1"] = Subscription(str(uuid.uuid4()), "owner@contoso.test", "me/messages",
                                              "http://127.0.0.1:9/push", None, "state", WHEN)
    with pytest.raises(SchemaMismatch, match=r"value\[0\]\.lifecycleEvent: expected one of LifecycleEventType"):
        server.lifecycle("owner@contoso.test", "reauthorisationRequired")
    assert "lifecycleEvent" in server.problems[-1]
