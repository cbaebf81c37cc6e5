"""What a section is given to build its blocks: the results, the output folder and a way to draw charts."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from reports.data import Results
from reports.document import code_span


@dataclass
class Context:
    data: Results
    out: Path  # where REPORT.md goes; charts go to out/charts
    sections: tuple = ()  # the report's sections in order, for references such as "section 5"
    chart_files: list = field(default_factory=list)
    pool: object = None  # an executor: charts are drawn in other processes while the text is built
    pending: list = field(default_factory=list)

    def chart(self, draw, stem: str, *args, **kwargs) -> None:
        """Draw charts/<stem>.png and .svg with ``draw`` (a module-level function: ``reports.charts`` or a
        section's own), here or in the pool; ``finish_charts`` waits for the pool's."""
        folder = Path(self.out) / "charts"
        if self.pool is None:
            self.chart_files += draw(folder, stem, *args, **kwargs)
        else:
            self.pending.append((stem, self.pool.submit(draw, folder, stem, *args, **kwargs)))

    def finish_charts(self) -> list:
        """Wait for the charts drawn in the pool; one that failed is a warning (its section's text stays)
        and its stem is returned."""
        failed = []
        for stem, future in self.pending:
            try:
                self.chart_files += future.result()
            except Exception as e:  # noqa: BLE001  (one bad chart must not lose the report)
                print(f"warning: chart {stem!r} could not be drawn: {type(e).__name__}: {e}", file=sys.stderr)
                failed.append(stem)
        self.pending.clear()
        return failed

    def measured_on(self, stage: str | None = None) -> str:
        """The sentence a figure's caption opens with: the CPU its stage measured on ("Measured on AMD EPYC, 2 cores.")."""
        return f"Measured on {self.data.machine(stage)}."

    def ref(self, section) -> str:
        """The words "section N" that refer to one of the report's section modules."""
        return f"section {self.sections.index(section) + 1}"

    def link(self, path) -> str:
        """A Markdown link to a raw file beside the report (or its name, marked, if it is not there)."""
        folder = self.data.folder
        path = Path(path)
        try:
            rel = path.resolve().relative_to(folder.resolve()) if path.is_absolute() else path
        except ValueError:
            return code_span(str(path))
        return f"[{rel}]({rel})" if (folder / rel).exists() else f"{code_span(str(rel))} (not present)"
