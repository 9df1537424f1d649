"""The push rules set: ``GET /pushrules/`` and the per-rule CRUD under
``/pushrules/global/{kind}/{ruleId}``. (Evaluating rules is not done here.)

Writes go through ``tessera.command.push_rules`` (the user's document);
reads merge the document with the server-default rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import MatrixError, not_found
from tessera.app.http.json import json_body, json_response
from tessera.command import push_rules
from tessera.schema.push_rules import merged_ruleset

routes = web.RouteTableDef()

RULE = "/_matrix/client/v3/pushrules/global/{kind}/{ruleId}"


async def _ruleset(request: web.Request) -> dict[str, Any]:
    requester = require_auth(request)
    store = services(request).sync.store
    document, _ = await asyncio.to_thread(store.push_rules, requester.user_id)
    return merged_ruleset(document, requester.user_id)


async def _rule(request: web.Request) -> dict[str, Any]:
    kind, rule_id = request.match_info["kind"], request.match_info["ruleId"]
    try:
        push_rules.check_kind(kind)
    except push_rules.PushRuleError as e:
        raise MatrixError(e.status, e.errcode, e.error) from None
    for rule in (await _ruleset(request))[kind]:
        if rule["rule_id"] == rule_id:
            return dict(rule)
    raise not_found("The push rule was not found.")


async def _change(request: web.Request, make: Callable[[], push_rules.Change]) -> web.Response:
    requester = require_auth(request)
    svc = services(request)
    try:
        positions = await svc.userdata.change_push_rules(requester.user_id, make())
    except push_rules.PushRuleError as e:
        raise MatrixError(e.status, e.errcode, e.error) from None
    if positions:
        await svc.applied.wait_for(max(positions))
    return json_response({})


@routes.get("/_matrix/client/v3/pushrules/")
async def get_all(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/pushrules/"""
    return json_response({"global": await _ruleset(request)})


@routes.get("/_matrix/client/v3/pushrules/global/")
async def get_global(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/pushrules/global/"""
    return json_response(await _ruleset(request))


@routes.get(RULE)
async def get_rule(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    return json_response(await _rule(request))


@routes.put(RULE)
async def put_rule(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    body = await json_body(request)
    kind, rule_id = request.match_info["kind"], request.match_info["ruleId"]
    before, after = request.query.get("before"), request.query.get("after")
    return await _change(request, lambda: push_rules.put_rule(kind, rule_id, body, before, after))


@routes.delete(RULE)
async def delete_rule(request: web.Request) -> web.Response:
    """DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    kind, rule_id = request.match_info["kind"], request.match_info["ruleId"]
    return await _change(request, lambda: push_rules.delete_rule(kind, rule_id))


@routes.get(RULE + "/enabled")
async def get_enabled(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled"""
    return json_response({"enabled": (await _rule(request))["enabled"]})


@routes.put(RULE + "/enabled")
async def put_enabled(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled"""
    body = await json_body(request)
    kind, rule_id = request.match_info["kind"], request.match_info["ruleId"]
    enabled = body.get("enabled")
    return await _change(request, lambda: push_rules.set_enabled(kind, rule_id, enabled))


@routes.get(RULE + "/actions")
async def get_actions(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions"""
    return json_response({"actions": (await _rule(request))["actions"]})


@routes.put(RULE + "/actions")
async def put_actions(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions"""
    body = await json_body(request)
    kind, rule_id = request.match_info["kind"], request.match_info["ruleId"]
    actions = body.get("actions")
    return await _change(request, lambda: push_rules.set_actions(kind, rule_id, actions))
