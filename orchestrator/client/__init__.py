"""A typed Python client of the orchestrator's HTTP API (sync and asyncio).

    with Client("http://127.0.0.1:8000", token=None) as client:
        job = client.create_job(JobCreate(project_description="A CLI todo app", budget_usd=1))
        for event in client.follow(job.job_id):
            print(event.id, event.event)

Bodies and answers are the API's own pydantic models (`orchestrator.api.schemas`, and
`orchestrator.api.plan_schemas` for plan review); errors are the project's exception tree
(`orchestrator.errors`).
"""

from orchestrator.client._async import AsyncClient
from orchestrator.client._calls import JobPage
from orchestrator.client._sync import Client

__all__ = ["AsyncClient", "Client", "JobPage"]
