"""Where podium 0.1.0 pickled its ``clip_outliers`` step: the name resolves to the frozen legacy
class so that its packages still load. The step is now ``podium.steps.clip_outliers``."""

from podium.steps.legacy import ClipOutliers

__all__ = ["ClipOutliers"]
