"""Turn a pipeline's stages into groups: runs of map operators are fused; globals stand alone."""

from __future__ import annotations

from dataclasses import dataclass

from curation.config import PipelineConfig, StageConfig
from curation.operators import GlobalOperator, operator_class


@dataclass(frozen=True)
class Group:
    index: int
    kind: str  # "map" or "global"
    stages: tuple[StageConfig, ...]
    reads_input: bool  # the first group reads the raw inputs (and accounts the "read" stage)

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
        if issubclass(operator_class(stage.op), GlobalOperator):
            flush()
            if not groups:  # a global first stage still needs the input read: an empty map group
                groups.append(Group(0, "map", (), True))
            groups.append(Group(len(groups), "global", (stage,), False))
        else:
            current.append(stage)
    flush()
    return groups


def build_operator(stage: StageConfig):
    return operator_class(stage.op)(stage.params, stage=stage.name)
