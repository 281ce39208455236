from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from podium.serving.batching import MicroBatcher, Overloaded


def slow_double(rows):
    time.sleep(0.02)
    if any(r[0] < 0 for r in rows):
        raise ValueError("negative")
    return [{"prediction": r[0] * 2} for r in rows]


def test_requests_waiting_for_the_model_are_scored_in_one_call():
    async def main():
        batcher = MicroBatcher(slow_double, ThreadPoolExecutor(1), max_rows=100)
        results = await asyncio.gather(*(batcher.submit([(i,)]) for i in range(20)))
        return batcher, results

    batcher, results = asyncio.run(main())
    assert [r[0]["prediction"] for r in results] == [2 * i for i in range(20)]
    assert batcher.calls == 1  # all twenty arrived before the model started
    assert batcher.idle


def test_batches_respect_the_row_limit():
    seen = []

    def record(rows):
        seen.append(len(rows))
        return slow_double(rows)

    async def main():
        batcher = MicroBatcher(record, ThreadPoolExecutor(1), max_rows=5)
        await asyncio.gather(*(batcher.submit([(i,), (i,)]) for i in range(10)))

    asyncio.run(main())
    assert max(seen) <= 5 and sum(seen) == 20


def test_a_bad_request_fails_alone():
    async def main():
        batcher = MicroBatcher(slow_double, ThreadPoolExecutor(1))
        first = asyncio.ensure_future(batcher.submit([(1,)]))
        await asyncio.sleep(0)
        rest = [batcher.submit([(2,)]), batcher.submit([(-1,)]), batcher.submit([(3,)])]
        return await first, await asyncio.gather(*rest, return_exceptions=True)

    first, (good, bad, also_good) = asyncio.run(main())
    assert first == [{"prediction": 2}] and good == [{"prediction": 4}] and also_good == [{"prediction": 6}]
    assert isinstance(bad, ValueError)


def test_scoring_runs_off_the_event_loop():
    threads = set()

    def where(rows):
        threads.add(threading.current_thread().name)
        return [{"prediction": 0} for _ in rows]

    async def main():
        await MicroBatcher(where, ThreadPoolExecutor(1, thread_name_prefix="score")).submit([(0,)])

    asyncio.run(main())
    assert all(name.startswith("score") for name in threads)


def test_an_error_is_raised_to_the_caller():
    async def main():
        await MicroBatcher(slow_double, ThreadPoolExecutor(1)).submit([(-5,)])

    with pytest.raises(ValueError, match="negative"):
        asyncio.run(main())


def test_the_queue_is_bounded_and_sheds_what_does_not_fit():
    release = threading.Event()

    def blocked(rows):
        release.wait(10)
        return [{"prediction": r[0]} for r in rows]

    async def main():
        batcher = MicroBatcher(blocked, ThreadPoolExecutor(1), max_rows=100, max_queue_rows=10)
        first = asyncio.ensure_future(batcher.submit([(0,)] * 8))
        await asyncio.sleep(0)  # let it in: 8 rows queued
        fits = asyncio.ensure_future(batcher.submit([(1,)] * 2))
        await asyncio.sleep(0)
        assert batcher.queued_rows == 10
        with pytest.raises(Overloaded, match="10 rows are waiting"):
            await batcher.submit([(2,)])
        release.set()
        assert len(await first) == 8 and len(await fits) == 2
        assert batcher.queued_rows == 0
        alone = await batcher.submit([(3,)] * 50)  # a lone request is taken even above the bound
        return alone, batcher

    alone, batcher = asyncio.run(main())
    assert len(alone) == 50 and batcher.idle and batcher.queued_rows == 0


def test_a_failing_call_frees_its_place_in_the_queue():
    async def main():
        batcher = MicroBatcher(slow_double, ThreadPoolExecutor(1), max_queue_rows=2)
        with pytest.raises(ValueError):
            await batcher.submit([(-1,), (-2,)])
        return batcher.queued_rows, await batcher.submit([(1,), (2,)])

    queued, results = asyncio.run(main())
    assert queued == 0 and [r["prediction"] for r in results] == [2, 4]
