"""Generate the quickstart's churn table (deterministic; the CSV is committed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def churn_frame(n: int = 1200, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "pro", "enterprise"], n, p=[0.5, 0.35, 0.15])
    tenure = rng.integers(1, 72, n)
    monthly = np.round(np.select([plan == "basic", plan == "pro"], [20, 50], 120) * rng.uniform(0.8, 1.2, n), 2)
    tickets = rng.poisson(1.5, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    signup = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    logit = 0.9 - 0.05 * tenure + 0.45 * tickets + 0.01 * monthly - 0.8 * (plan == "enterprise") \
        + 0.3 * (region == "south")
    churned = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({
        "customer_id": np.arange(100001, 100001 + n), "plan": plan, "region": region,
        "tenure_months": tenure, "monthly_fee": monthly, "support_tickets": tickets,
        "signup_date": signup.strftime("%Y-%m-%d"),
        "churned": np.where(churned, "yes", "no"),
    })
    frame.loc[rng.choice(n, 40, replace=False), "monthly_fee"] = np.nan
    frame.loc[rng.choice(n, 25, replace=False), "region"] = np.nan
    return frame


if __name__ == "__main__":
    here = Path(__file__).parent / "quickstart"
    frame = churn_frame()
    frame.to_csv(here / "customers.csv", index=False)
    frame.drop(columns=["churned"]).sample(20, random_state=1).to_csv(here / "new_customers.csv", index=False)
