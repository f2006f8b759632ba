"""The Python API: read a pipeline file, run it locally, read the run's status back.

    python examples/run_pipeline.py INPUT OUTPUT
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # no_lorem.py is importable here, and the engine ships its folder to the workers

from curation.config import load_pipeline  # noqa: E402
from curation.engine.runner import RunOptions, run_pipeline  # noqa: E402
from curation.status import run_status  # noqa: E402


def main(inp: str, out: str, workers: int = 1) -> dict:
    cfg = load_pipeline(HERE / "pipeline.yaml")  # checked here: operators, parameters, columns
    layout = run_pipeline(cfg, [inp], out, RunOptions(workers=workers, progress=False))
    return run_status(layout)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])["stages"]["no_lorem"]))
