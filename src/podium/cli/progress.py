"""A live view of the competition: budget spent, trials running and done, best so far."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from podium.training import TrainerEvent


class CompetitionProgress:
    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]competition[/]"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(), TextColumn("{task.description}"),
            console=console, transient=False, disable=not enabled)
        self.task = self.progress.add_task("starting…", total=1.0)
        self.running: set[str] = set()
        self.done = 0
        self.failed = 0

    def __enter__(self) -> CompetitionProgress:
        self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.update(self.task, completed=1.0)
        self.progress.stop()

    def __call__(self, event: TrainerEvent) -> None:
        label = f"{event.trial.candidate}#{event.trial.id}"
        if event.kind == "started":
            self.running.add(label)
        else:
            self.running.discard(label)
            self.done += 1
            self.failed += event.result is not None and event.result.status != "ok"
        budget = event.budget
        fraction = min(1.0, event.elapsed / budget.seconds) if budget.seconds else \
            self.done / (budget.trials or 1)
        best = f"best {event.best.candidate} {event.best.value:.4f}" if event.best and event.best.value is not None \
            else "best —"
        running = ", ".join(sorted(self.running)[:3]) or "—"
        failed = f" ({self.failed} failed)" if self.failed else ""
        self.progress.update(self.task, completed=fraction,
                             description=f"{best} · {self.done} done{failed} · running: {running}")
