"""Turn a pipeline's stages into groups: runs of map operators on the same resources are fused;
globals stand alone. A change of declared resources (``num_cpus``/``num_gpus``) starts a new group,
so a CPU stage beside a GPU scorer never runs on (or holds) a GPU actor."""

from __future__ import annotations

from dataclasses import dataclass

from curation.config import PipelineConfig, StageConfig
from curation.operators import GlobalOperator, operator_class
from curation.operators.base import ready


@dataclass(frozen=True)
class Group:
    index: int
    kind: str  # "map" or "global"
    stages: tuple[StageConfig, ...]
    reads_input: bool  # the first group reads the raw inputs (and accounts the "read" stage)

    @property
    def num_gpus(self) -> float:
        """GPUs per worker of this group (its stages all declare the same)."""
        return max((operator_class(s.op).num_gpus for s in self.stages), default=0)

    @property
    def name(self) -> str:
        """The group's output folder: ``NN-<last stage>``."""
        from curation.run.layout import RunLayout

        return RunLayout.group_dir_name(self.index, self.stages[-1].name if self.stages else "read")

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]


def plan_groups(cfg: PipelineConfig) -> list[Group]:
    groups: list[Group] = []
    current: list[StageConfig] = []

    def flush():
        if current:
            groups.append(Group(len(groups), "map", tuple(current), not groups))
            current.clear()

    for stage in cfg.stages:
        cls = operator_class(stage.op)
        if issubclass(cls, GlobalOperator):
            flush()
            if not groups:  # a global first stage still needs the input read: an empty map group
                groups.append(Group(0, "map", (), True))
            groups.append(Group(len(groups), "global", (stage,), False))
        else:
            if current and resources(operator_class(current[-1].op)) != resources(cls):
                flush()
            current.append(stage)
    flush()
    return groups


def resources(cls) -> tuple[float, float]:
    """What one worker of a stage needs: (num_cpus, num_gpus)."""
    return cls.num_cpus, cls.num_gpus


def build_operator(stage: StageConfig):
    """The stage's operator, not yet set up (for its declarations; to run it, :func:`ready_operator`)."""
    return operator_class(stage.op)(stage.params, stage=stage.name)


def ready_operator(stage: StageConfig, run):
    """The stage's operator bound to ``run`` and set up: the one path by which the engine gets an
    operator that works (on every worker, and on the driver for a global stage's ``finalize``)."""
    return ready(build_operator(stage), run)
