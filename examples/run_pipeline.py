"""The Python API (curation.api, docs/api.md): build a pipeline from a YAML file or from operator
objects, run it locally (or on a cluster: address=...), read the run's status and views back.

    python examples/run_pipeline.py INPUT OUTPUT            # the pipeline of examples/pipeline.yaml
    python examples/run_pipeline.py INPUT OUTPUT --objects  # the same pipeline, built in Python
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # no_lorem.py is importable here, and the engine ships its folder to the workers

from no_lorem import NoLorem  # noqa: E402

from curation.api import Pipeline  # noqa: E402
from curation.operators.extract import Extract  # noqa: E402


def pipeline(objects: bool = False) -> Pipeline:
    """examples/pipeline.yaml, read from the file or built from operator objects (the same config)."""
    if objects:
        return Pipeline([Extract({"engine": "resiliparse"}), NoLorem({"phrase": "lorem ipsum"})],
                        name="lorem-example")
    return Pipeline.from_yaml(HERE / "pipeline.yaml")  # checked here: operators, parameters, columns


def main(inp: str, out: str, workers: int = 1, objects: bool = False) -> dict:
    run = pipeline(objects).run([inp], out, workers=workers)
    print("views:", ", ".join(run.views()), file=sys.stderr)
    print(run.query("SELECT stage, sum(docs_in) AS docs_in, sum(docs_kept) AS kept FROM stats GROUP BY 1"), file=sys.stderr)
    return run.status()


if __name__ == "__main__":
    st = main(sys.argv[1], sys.argv[2], objects="--objects" in sys.argv[3:])
    print(json.dumps(st["stages"]["no_lorem"]))
