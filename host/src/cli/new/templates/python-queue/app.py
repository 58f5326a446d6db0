"""The {{name}} module: queues jobs and runs them."""

import json

from plughost import HttpError, Request, Response, Router, log, queue

router = Router()


@router.post("/jobs")
def enqueue(request: Request) -> Response:
    try:
        payload = json.loads(request.text())
    except ValueError as error:
        raise HttpError("invalid", f"the body is not JSON: {error}")
    job_id = queue.dispatch("{{name}}-work", payload, max_attempts=5)
    return Response.json(json.dumps({"job": job_id}), status=202)


HttpHandler = router.handler()

jobs = queue.Jobs()


@jobs.handle("{{name}}-work")
def work(job: queue.Job) -> None:
    """An exception makes the host retry the job later, up to its attempts."""
    log.info(f"job {job.id} (attempt {job.attempt}) done: {json.dumps(job.payload)}")


JobHandler = jobs.handler()
