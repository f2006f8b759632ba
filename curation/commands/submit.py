"""curate submit PIPELINE --input PATH... --output DIR [--address URL] [--working-dir DIR]
[--runtime-env YAML] [--models auto|ship|cluster|PATH] [--workers N] [--no-report] [--no-wait] [--timeout S] [--submission-id ID]

A thin layer over the Ray Jobs API (``ray.job_submission.JobSubmissionClient``). It validates the
pipeline here, before anything is uploaded, then submits the same command a user would type::

    python -m curation run PIPELINE --input ... --output DIR && python -m curation report DIR

with the working directory (the repository, minus what ``infra/runtime_env.yaml`` excludes) as
the job's ``working_dir``. Equivalent raw form::

    ray job submit --address http://127.0.0.1:8265 --working-dir . \\
        --runtime-env infra/runtime_env.yaml -- python -m curation run pipelines/llama3.yaml \\
        --input sample/ --output /shared/runs/sample

Paths: the pipeline file and inputs under the working directory are uploaded with it and passed
relative to it; other inputs must exist on the cluster's nodes (a shared file system). The output
must be absolute: a relative one would land in the job's temporary working directory and vanish.

Models: ``--models`` (curation/job_models.py) ships the local models folder with the job,
or points ``CURATION_MODELS`` at a folder the cluster has, so that a job does not retrain them.

Security: the default address is the local dashboard, ``http://127.0.0.1:8265``. Clusters started
by Ray 2.60 use token authentication; when ``RAY_AUTH_MODE`` is unset and a token is available
(``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``), token mode is switched on
for this client, as Ray's own CLI does.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from contextlib import contextmanager
from pathlib import Path

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
DEFAULT_RUNTIME_ENV = "infra/runtime_env.yaml"
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def register(sub) -> None:
    s = sub.add_parser("submit", help="submit a pipeline run to a Ray cluster as a Ray job",
                       description="Validate PIPELINE locally, then submit `python -m curation run ...` (and "
                                   "`curate report`) to a Ray cluster through the Ray Jobs API, and follow its "
                                   "logs until it ends.")
    s.add_argument("pipeline", help="pipeline YAML file inside --working-dir, e.g. pipelines/llama3.yaml")
    s.add_argument("--input", "-i", nargs="+", required=True,
                   help="inputs: paths under --working-dir are uploaded with it; others must exist on the cluster")
    s.add_argument("--output", "-o", required=True,
                   help="absolute run folder on the cluster's (shared) file system")
    s.add_argument("--address", default=None,
                   help="Ray dashboard / job server URL (default: $RAY_API_SERVER_ADDRESS, an http:// "
                        f"$RAY_ADDRESS, else {DEFAULT_ADDRESS})")
    s.add_argument("--working-dir", default=".", help="folder uploaded as the job's working_dir (default: .)")
    s.add_argument("--runtime-env", default=None,
                   help=f"runtime env YAML (default: {DEFAULT_RUNTIME_ENV} under --working-dir when present)")
    s.add_argument("--models", default="auto", metavar="auto|ship|cluster|PATH",
                   help="models the job uses: ship = upload the local models folder with the job; cluster = the "
                        "cluster's $CURATION_MODELS (the image's); PATH = that folder on the cluster's shared "
                        "storage; auto (default) = ship when the local folder has every model the pipeline needs")
    s.add_argument("--workers", "-w", type=int, default=None, help="passed to `curate run --workers`")
    s.add_argument("--no-report", action="store_true", help="do not write report.html when the run ends")
    s.add_argument("--no-wait", action="store_true", help="print the job id and return at once")
    s.add_argument("--timeout", type=float, default=None,
                   help="stop following after this many seconds (the job keeps running; exit status 3)")
    s.add_argument("--submission-id", default=None, help="job id to use (default: chosen by Ray)")
    s.set_defaults(func=main)


def resolve_address(arg: str | None) -> str:
    if arg:
        return arg
    env = os.environ.get("RAY_API_SERVER_ADDRESS")
    if env:
        return env
    env = os.environ.get("RAY_ADDRESS", "")
    if env.startswith(("http://", "https://")):
        return env
    return DEFAULT_ADDRESS


def enable_token_auth_if_available() -> bool:
    """Switch this client to token auth when a token is at hand and the mode was not chosen."""
    if "RAY_AUTH_MODE" in os.environ:
        return os.environ["RAY_AUTH_MODE"].lower() == "token"
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or str(Path.home() / ".ray" / "auth_token")
    if os.environ.get("RAY_AUTH_TOKEN") or Path(path).is_file():
        os.environ["RAY_AUTH_MODE"] = "token"
        return True
    return False


def _relative_to(path: str, root: Path) -> str | None:
    p = Path(path).resolve()
    try:
        rel = p.relative_to(root)
    except ValueError:
        return None
    return rel.as_posix() + ("/" if p.is_dir() and str(rel) != "." else "")


def build_entrypoint(pipeline: str, inputs: list[str], output: str, workers: int | None, report: bool) -> str:
    run = ["python", "-m", "curation", "run", pipeline, "--input", *inputs, "--output", output]
    if workers:
        run += ["--workers", str(workers)]
    cmd = shlex.join(run)
    if report:
        cmd += " && " + shlex.join(["python", "-m", "curation", "report", output])
    return cmd


def load_runtime_env(path: str | None, working_dir: Path) -> dict:
    import yaml

    from curation.cli import UserError

    if path is None:
        default = working_dir / DEFAULT_RUNTIME_ENV
        if not default.is_file():
            return {}
        path = str(default)
    p = Path(path)
    if not p.is_file():
        raise UserError(f"runtime env file not found: {p}")
    try:
        env = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{p}: not valid YAML: {e}") from None
    if not isinstance(env, dict):
        raise UserError(f"{p}: expected a mapping of runtime_env fields, got {type(env).__name__}")
    return env


def prepare(args):
    """Validate everything locally; return (entrypoint, runtime_env, JobModels). No network, no upload."""
    from curation.cli import UserError
    from curation import job_models
    from curation.config import load_pipeline
    from curation.preflight import needed_models

    working_dir = Path(args.working_dir).resolve()
    if not working_dir.is_dir():
        raise UserError(f"--working-dir is not a folder: {working_dir}")
    cfg = load_pipeline(args.pipeline)  # a bad pipeline fails here, naming the field, before any upload
    pipeline = _relative_to(args.pipeline, working_dir)
    if pipeline is None:
        raise UserError(f"the pipeline file must be inside --working-dir ({working_dir}) to be uploaded: "
                        f"{args.pipeline}")
    inputs = []
    for raw in args.input:
        rel = _relative_to(raw, working_dir) if Path(raw).exists() else None
        inputs.append(rel if rel is not None else raw)
    if "://" not in args.output and not os.path.isabs(args.output):
        raise UserError(f"--output must be an absolute path on the cluster's file system (got {args.output!r}): "
                        "a relative folder would be written inside the job's temporary working directory")
    env = load_runtime_env(args.runtime_env, working_dir)
    env["working_dir"] = str(working_dir)
    env.setdefault("env_vars", {})
    env["env_vars"].setdefault("PYTHONUNBUFFERED", "1")  # progress lines reach `ray job logs` as they happen
    jm = job_models.choose(getattr(args, "models", "auto"), working_dir, list(needed_models(cfg)))
    env = job_models.apply(jm, env, working_dir)
    entry = build_entrypoint(pipeline, inputs, args.output, args.workers, not args.no_report)
    return entry, env, jm


@contextmanager
def _gitignore_off(on: bool):
    from curation.job_models import IGNORE_GITIGNORE

    old = os.environ.get(IGNORE_GITIGNORE)
    if on:
        os.environ[IGNORE_GITIGNORE] = "1"
    try:
        yield
    finally:
        if on:
            if old is None:
                os.environ.pop(IGNORE_GITIGNORE, None)
            else:
                os.environ[IGNORE_GITIGNORE] = old


def follow(client, job_id: str, timeout: float | None, out=sys.stdout, poll_s: float = 1.0) -> str | None:
    """Print the job's logs as they grow until it ends; return its final status (None on timeout)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    printed = 0
    status = None
    while True:
        st = client.get_job_status(job_id)
        status = str(getattr(st, "value", st))
        logs = client.get_job_logs(job_id)
        if len(logs) > printed:
            out.write(logs[printed:])
            out.flush()
            printed = len(logs)
        if status in TERMINAL:
            return status
        if deadline is not None and time.monotonic() > deadline:
            return None
        time.sleep(poll_s)


def main(args) -> int:
    from curation.cli import UserError

    entry, runtime_env, jm = prepare(args)
    address = resolve_address(args.address)
    enable_token_auth_if_available()
    from ray.exceptions import AuthenticationError
    from ray.job_submission import JobSubmissionClient

    token_help = ("the cluster uses token authentication: provide its token in ~/.ray/auth_token, "
                  "$RAY_AUTH_TOKEN_PATH or $RAY_AUTH_TOKEN (and RAY_AUTH_MODE=token)")
    try:
        client = JobSubmissionClient(address)
        with _gitignore_off(jm.mode == "ship"):  # .gitignore lists the models folder; job_models read it instead
            job_id = client.submit_job(entrypoint=entry, runtime_env=runtime_env, submission_id=args.submission_id)
    except AuthenticationError:  # token mode on, no token at hand: Ray's own message is a paragraph
        raise UserError(f"could not submit to {address}: no Ray token found; {token_help}") from None
    except (ConnectionError, RuntimeError, ValueError) as e:
        msg = " ".join(str(e).split())
        if "401" in msg or "403" in msg or "nauthorized" in msg:
            msg += f"; {token_help}"
        raise UserError(f"could not submit to {address}: {msg}") from None
    print(f"submitted job {job_id} to {address}\n  entrypoint: {entry}\n  {jm.note}\n"
          f"  follow:     ray job logs -f --address {address} {job_id}\n"
          f"  progress:   curate status {args.output}", file=sys.stderr, flush=True)
    if args.no_wait:
        print(job_id)
        return 0
    status = follow(client, job_id, args.timeout)
    if status is None:
        print(f"curate: job {job_id} still running after {args.timeout:g}s; "
              f"stop it with: ray job stop --address {address} {job_id}", file=sys.stderr)
        return 3
    print(f"job {job_id}: {status}", file=sys.stderr)
    return 0 if status == "SUCCEEDED" else 1
