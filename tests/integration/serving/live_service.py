"""A real `podium serve` on 127.0.0.1 for the tests: a project folder, a registered model, workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from podium.registry import InputSchema, ModelPackage, OutputSchema, Registry
from podium.testing.servers import free_port

TITANIC = Path(__file__).resolve().parents[4] / "shared" / "bench" / "tabular" / "titanic" / "train.csv"
RECORD = {"gender": "female", "age": 29.0, "class": "1st", "embarked": "Cherbourg", "fare": 80.0,
          "sibsp": 0, "parch": 1}


def titanic_frame() -> pd.DataFrame:
    if TITANIC.exists():
        return pd.read_csv(TITANIC)
    rng = np.random.default_rng(0)  # the shared data is absent: a stand-in with the same columns
    n = 600
    return pd.DataFrame({
        "gender": rng.choice(["male", "female"], n), "age": rng.uniform(1, 70, n).round(),
        "class": rng.choice(["1st", "2nd", "3rd", "deck crew"], n),
        "embarked": rng.choice(["Southampton", "Cherbourg", "Queenstown", "Belfast"], n),
        "fare": rng.uniform(5, 200, n).round(2), "sibsp": rng.integers(0, 4, n),
        "parch": rng.integers(0, 3, n), "survived": rng.integers(0, 2, n)})


def titanic_package(iterations: int = 20) -> ModelPackage:
    frame = titanic_frame()
    target = frame.pop("survived").map({0: "no", 1: "yes"})
    categorical = ["gender", "class", "embarked"]
    numeric = [c for c in frame.columns if c not in categorical]
    pre = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
         categorical),
        ("num", SimpleImputer(strategy="median"), numeric),
    ])
    pipeline = Pipeline([("pre", pre), ("model", HistGradientBoostingClassifier(max_iter=iterations,
                                                                                 random_state=0))])
    pipeline.fit(frame, target)
    return ModelPackage(pipeline, InputSchema.from_frame(frame), OutputSchema.from_target(target, "binary"),
                        metric="accuracy", metrics={"accuracy": 0.8}, lineage={"iterations": iterations})


def registry_of(project: Path) -> Registry:
    return Registry(f"sqlite:///{project / '.podium' / 'registry.db'}", str(project / ".podium" / "artifacts"))


@dataclass
class Service:
    url: str
    key: str
    project: Path
    process: subprocess.Popen
    registry: Registry
    log: Path
    options: dict = field(default_factory=dict)

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=10,
                            **kwargs)

    def workers(self) -> list[int]:
        """PIDs of the worker processes (the supervisor's children)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (stat.parent / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if parent == self.process.pid and b"run_worker" in cmdline:
                found.append(int(stat.parent.name))
        return sorted(found)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def start_service(project: Path, refs: list[str], *, workers: int = 2, **options) -> Service:
    registry = registry_of(project)
    _, key = registry.create_key(f"tests-{time.monotonic_ns()}")
    port = free_port()
    settings = {"refs": refs, "registry_url": registry.url, "artifacts_url": str(project / ".podium" / "artifacts"),
                "port": port, "workers": workers, **options}
    code = ("import sys\nfrom podium.serving import ServeOptions, serve\n"
            "serve(ServeOptions.model_validate_json(sys.argv[1]))\n")
    log = project / f"serve-{port}.log"
    process = subprocess.Popen([sys.executable, "-c", code, json.dumps(settings)], stdout=open(log, "w"),
                               stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    service = Service(f"http://127.0.0.1:{port}", key, project, process, registry, log, settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{service.url}/readyz", timeout=1).status_code == 200 and \
                    len(service.workers()) == workers and _all_ready(service, workers):
                return service
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    service.stop()
    raise RuntimeError(f"the service did not become ready:\n{log.read_text()[-3000:]}")


def _all_ready(service: Service, workers: int) -> bool:
    """Every worker has answered (the kernel spreads new connections over the accepting ones)."""
    seen = set()
    for _ in range(40):
        with httpx.Client(base_url=service.url, timeout=2) as fresh:
            response = fresh.get("/readyz")
        if response.status_code != 200:
            return False
        seen.add(response.json()["worker"])
        if len(seen) >= workers:
            return True
    return False
