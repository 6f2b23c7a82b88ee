"""``score_dask`` on a real two-process ``distributed.LocalCluster``: the function travels as source
text, every worker process scores in its own sandbox, and the result is ``predict``'s, row for row.
"""

from __future__ import annotations

import os
from pathlib import Path

# The dev extra installs dask and distributed: without them this file fails, it does not skip.
import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest
from sandbox_helpers import body

from rewardsmith.sandbox import ScoringFunction
from rewardsmith.scoring.dask import score_dask

LINEAR = body("return 2.0 * attrs['a'] - attrs['b']")
BRANCHING = body("if attrs['a'] > 0:", "    return attrs['b']", "return -attrs['a']")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(4000, 2)), columns=["a", "b"])
    df.index = pd.RangeIndex(100, 4100)
    return df


@pytest.mark.parametrize("source", [LINEAR, BRANCHING], ids=["linear", "branching"])
def test_dask_on_a_local_cluster_equals_predict_row_for_row(client, frame, source):
    function = ScoringFunction(source)
    ddf = dd.from_pandas(frame, npartitions=4)
    scores = score_dask(function, ddf).compute()
    assert scores.name == "score"
    assert scores.index.equals(frame.index)
    np.testing.assert_array_equal(scores.to_numpy(), function.predict(frame))


def sandboxes_of_this_process():
    """(this process's id, the ids of its column-mode sandbox workers and of their parents)."""
    from rewardsmith.sandbox.pool import default_column_pool

    pids = default_column_pool().worker_pids()
    parents = [int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
               for pid in pids]
    return os.getpid(), pids, parents


def test_partitions_are_scored_by_sandboxes_of_the_dask_workers(client, frame):
    # Each worker process unpickles the function without a sandbox and starts its own.
    function = ScoringFunction(LINEAR)
    ddf = dd.from_pandas(frame, npartitions=4)
    scored = ddf.assign(score=score_dask(function, ddf)).compute()
    np.testing.assert_array_equal(scored["score"].to_numpy(), function.predict(frame))
    seen = client.run(sandboxes_of_this_process).values()
    assert any(pids for _, pids, _ in seen)
    for worker, _, parents in seen:
        assert worker != os.getpid() and set(parents) <= {worker}
