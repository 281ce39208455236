"""Where podium 0.1.0 pickled its ``date_parts`` step: the name resolves to the frozen legacy
class so that its packages still load. The step is now ``podium.steps.date_parts``."""

from podium.steps.legacy import DateParts

__all__ = ["DateParts"]
