"""Starting and stopping Ray for a run: loopback only, nothing left behind, logs in the run folder.

* **Loopback only.** Ray binds its servers (GCS, raylet, workers, dashboard and runtime-env
  agents) to the node IP, and ``ray.init`` turns ``127.0.0.1`` into the machine's external
  address. Ray keeps a loopback mode for desktops (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``:
  ``services.get_node_ip_address`` then answers ``127.0.0.1``); an in-process local cluster uses
  it, so every server listens on ``127.0.0.1`` (``tests/hardening/test_cluster.py`` lists the
  sockets).
* **Nothing left behind.** Ray's GCS and raylet die with the driver (Ray sets
  ``PR_SET_PDEATHSIG`` on them), but their agents poll for their parent and linger about a minute
  after a SIGKILL of the driver, still listening. A small watchdog process (this module run as
  ``python -m curation.engine.cluster --watch PID``, in its own session so Ctrl-C does not reach
  it) keeps a list of every process Ray started, and kills the ones still alive as soon as the
  driver's end of a pipe closes - which the kernel does however the driver ends.
* **Quiet by default.** Ray's own logger (start-up banner, token warnings) and what workers print
  (library logs, "Loading weights" bars) go to the run's log file (``<output>/logs/run.log``, :meth:`curation.run.layout.RunLayout.run_log`);
  ``verbose`` prints them as Ray normally does.

Connecting to an existing cluster (``--address``) changes none of its settings.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Ray's switch for its desktop mode, where the node IP is the loopback address
#: (ray/_private/ray_constants.py: ENABLE_RAY_CLUSTERS_ENV_VAR).
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
#: How often the watchdog refreshes its list of Ray's processes.
WATCH_INTERVAL_S = 0.5
#: After SIGTERM, how long a leftover process gets before SIGKILL.
TERM_GRACE_S = 2.0
#: The handler name Ray uses for printing workers' output on the driver (ray/_private/worker.py).
_RAY_PRINT_HANDLER = "ray_print_logs"


@dataclass
class Cluster:
    """A Ray connection made by :func:`start`; :meth:`stop` undoes it."""

    ray: object
    owned: bool
    watchdog: subprocess.Popen | None = None
    log_file: object | None = None
    _saved_logger: tuple | None = None
    _saved_loopback: tuple | None = None

    def stop(self) -> None:
        try:
            if self.owned:
                self.ray.shutdown()
        finally:
            self._release()

    def _release(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stdin.close()  # the watchdog cleans up what shutdown left, then exits
            try:
                self.watchdog.wait(timeout=TERM_GRACE_S + 5)
            except subprocess.TimeoutExpired:
                self.watchdog.kill()
        if self._saved_logger is not None:
            handler, handlers, level, propagate = self._saved_logger
            logging.getLogger().removeHandler(handler)
            ray_logger = logging.getLogger("ray")
            ray_logger.handlers, ray_logger.propagate = handlers, propagate
            ray_logger.setLevel(level)
        if self.log_file is not None:
            self.log_file.close()
        if self._saved_loopback is not None:
            _restore_loopback(*self._saved_loopback)


def start(address: str | None, num_cpus: int | None, log_file: str | os.PathLike | None,
          verbose: bool = False) -> Cluster:
    """Connect to ``address`` (or ``$RAY_ADDRESS``), else start a local Ray on loopback with a
    watchdog. Without ``verbose``, Ray's logs and the workers' output go to ``log_file``."""
    import ray

    if ray.is_initialized():
        return Cluster(ray, owned=False)
    address = address or os.environ.get("RAY_ADDRESS")
    cluster = Cluster(ray, owned=False)
    try:
        if not address:
            cluster._saved_loopback = loopback_only()
        if not verbose and log_file is not None:
            cluster.log_file, cluster._saved_logger = _ray_logs_to(log_file)
        before = _child_pids()
        if address:
            ray.init(address=address, log_to_driver=True, configure_logging=verbose)
        else:
            ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), include_dashboard=False,
                     log_to_driver=True, configure_logging=verbose)
        cluster.owned = True
        if cluster.log_file is not None:
            _workers_output_to(cluster.log_file)
        if not address:
            cluster.watchdog = _start_watchdog(sorted(_child_pids() - before))
    except BaseException:
        cluster.owned = True  # a half-started local Ray is shut down too
        cluster.stop()
        raise
    return cluster


def node_id() -> str:
    """The Ray node this process runs on (hex id)."""
    import ray

    return ray.get_runtime_context().get_node_id()


def loopback_only() -> tuple:
    """Ray's desktop mode: the node IP (and so every server's bind address) is 127.0.0.1. The
    variable is read when Ray is imported and inherited by Ray's processes; the constant already
    imported in this process is set too. Returns what :func:`_restore_loopback` puts back."""
    from ray._private import ray_constants

    saved = (os.environ.get(LOOPBACK_ENV), ray_constants.ENABLE_RAY_CLUSTER)
    os.environ[LOOPBACK_ENV] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    return saved


def _restore_loopback(env_value: str | None, constant: bool) -> None:
    from ray._private import ray_constants

    if env_value is None:
        os.environ.pop(LOOPBACK_ENV, None)
    else:
        os.environ[LOOPBACK_ENV] = env_value
    ray_constants.ENABLE_RAY_CLUSTER = constant


def _ray_logs_to(path: str | os.PathLike):
    """Send the driver's log records - the ``ray`` logger's, which Ray points at stderr when
    imported, and any other library's - to the file at ``path``, through the root logger (with
    ``configure_logging=False`` Ray clears its own logger's handlers). Returns the file and what
    :meth:`Cluster.stop` restores."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sink = open(path, "a", encoding="utf-8", buffering=1)
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    ray_logger = logging.getLogger("ray")
    saved = (handler, ray_logger.handlers[:], ray_logger.level, ray_logger.propagate)
    logging.getLogger().addHandler(handler)
    ray_logger.handlers = []
    ray_logger.setLevel(logging.INFO)
    ray_logger.propagate = True
    return sink, saved


def _workers_output_to(sink) -> None:
    """Replace Ray's printer of workers' output (stdout/stderr lines sent to the driver) with one
    that writes them to ``sink``."""
    from ray._private.worker import filter_autoscaler_events
    from ray._private.worker import global_worker_stdstream_dispatcher as dispatcher

    def write(data: dict) -> None:
        lines = data.get("lines", [])
        if data.get("pid") == "autoscaler":  # as Ray does: its events only, not its status dumps
            lines = filter_autoscaler_events(lines)
        who = data.get("actor_name") or data.get("task_name") or ""
        for line in lines:
            sink.write(f"({who} pid={data.get('pid')}) {line}\n")

    dispatcher.remove_handler(_RAY_PRINT_HANDLER)
    dispatcher.add_handler(_RAY_PRINT_HANDLER, write)


def _child_pids() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=False)}


def _start_watchdog(roots: list[int]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "curation.engine.cluster", "--watch", str(os.getpid()), *map(str, roots)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )


# --------------------------------------------------------------------------------------------
# the watchdog process


def watch(driver: int, roots: list[int], stdin=None) -> int:
    """Until ``stdin`` reaches end of file (the driver is gone, or stopped Ray), keep a list of
    ``roots`` and all their descendants; then terminate whichever of them still run."""
    import psutil

    stdin = stdin or sys.stdin
    known: dict[int, psutil.Process] = {}
    tracked = []
    for pid in roots:
        try:
            tracked.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    while True:
        for p in list(tracked):
            try:
                for c in [p, *p.children(recursive=True)]:
                    known.setdefault(c.pid, c)
            except psutil.NoSuchProcess:
                pass
        ready, _, _ = select.select([stdin], [], [], WATCH_INTERVAL_S)
        if ready and not os.read(stdin.fileno(), 4096):
            break
    alive = [p for p in known.values() if p.pid != driver and _running(p)]
    for p in alive:
        _signal(p, signal.SIGTERM)
    _, alive = psutil.wait_procs(alive, timeout=TERM_GRACE_S)
    for p in alive:
        _signal(p, signal.SIGKILL)
    return 0


def _running(p) -> bool:
    import psutil

    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE  # is_running checks pid reuse
    except psutil.NoSuchProcess:
        return False


def _signal(p, sig) -> None:
    import psutil

    try:
        if p.is_running():
            p.send_signal(sig)
    except psutil.NoSuchProcess:
        pass


def _main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "--watch":
        print("usage: python -m curation.engine.cluster --watch DRIVER_PID [ROOT_PID...]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return watch(int(argv[1]), [int(a) for a in argv[2:]])


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
