"""Synapse's Scheduled Tasks API (`GET /_synapse/admin/v1/scheduled_tasks`): the room
deletions, history purges and user redactions, queued, running or done, in Synapse's task
shape (services/admin/scheduled_tasks.py says what is listed and how long)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import int_param, require_admin
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.services.admin.scheduled_tasks import TaskQuery

NO_BOUND = -1


async def scheduled_tasks(request: Request) -> Response:
    """GET /_synapse/admin/v1/scheduled_tasks"""
    admin = await require_admin(request)
    params = request.query_params
    max_timestamp = int_param(request, "max_timestamp", NO_BOUND)
    query = TaskQuery(
        action=params.get("action_name") or None,
        resource_id=params.get("resource_id") or None,
        status=params.get("status") or params.get("job_status") or None,  # Synapse's old name
        max_timestamp=None if max_timestamp == NO_BOUND else max_timestamp,
    )
    tasks = await services_of(request).scheduled_tasks.tasks(admin, query)
    return JsonResponse({
        "scheduled_tasks": [
            {
                "id": task.task_id, "action": task.action, "status": task.status,
                "timestamp_ms": task.timestamp_ms, "resource_id": task.resource_id,
                "result": task.result, "error": task.error,
            }
            for task in tasks
        ]
    })  # fmt: skip


ROUTES = [Route("/v1/scheduled_tasks", scheduled_tasks, methods=["GET"])]
