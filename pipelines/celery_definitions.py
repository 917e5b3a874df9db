"""The code location of the Celery deployment: the project's definitions, every job on Celery workers.

Steps run as Celery tasks on workers on any host (deploy/README.md, "Celery"); the instance is the
shared Postgres one, and the quota the shared Postgres limiter (``TMEET_QUOTA_URL``), so every
worker paces against one budget. Needs the ``deploy`` extra (dagster-celery).
"""

import dagster as dg
from dagster_celery import celery_executor

from pipelines.definitions import defs as project_defs


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(project_defs(), dg.Definitions(executor=celery_executor))
