"""Data-parallel pieces that need no second process: shards, rank rules, seeds, the public API."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve.callbacks import CSVLogger, History, ModelCheckpoint, ProgbarLogger
from nerve.callbacks.callback_list import CallbackList
from nerve.distribution import runtime
from nerve.training import data_adapter


@pytest.mark.parametrize("n", [0, 1, 5, 54, 799])
@pytest.mark.parametrize("world", [1, 2, 3, 8])
def test_split_range_cuts_contiguous_near_equal_parts(n: int, world: int) -> None:
    parts = [data_adapter.split_range(n, r, world) for r in range(world)]
    assert parts[0][0] == 0 and parts[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))  # contiguous, in rank order
    sizes = [hi - lo for lo, hi in parts]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def _batches(data: data_adapter.ArrayData) -> list[tuple[np.ndarray, int | None, float]]:
    return [(bx.numpy().ravel(), data.count, data.scale) for bx, _, _ in data]


@pytest.mark.parametrize("n,batch", [(10, 2), (11, 3), (9, 4), (7, 3)])
def test_array_shards_join_into_the_one_process_batches_of_the_global_size(n: int, batch: int) -> None:
    x = np.arange(n, dtype="float32")
    one = _batches(data_adapter.ArrayData(x, x, batch_size=2 * batch))
    ranks = [_batches(data_adapter.ArrayData(x, x, batch_size=batch).shard(r, 2)) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1]) == len(one)  # every process takes every step
    for step, (whole, _, _) in enumerate(one):
        (a, ca, sa), (b, cb, sb) = ranks[0][step], ranks[1][step]
        got = np.concatenate([a[:ca], b[:cb]])
        np.testing.assert_array_equal(got, whole)
        # DDP averages the processes' gradients; the scales make every sample weigh 1/len(whole)
        # in that average, as in the one-process mean: scale / (world * count) == 1 / len(whole).
        assert sa == pytest.approx(ca * 2 / len(whole)) and sb == pytest.approx(cb * 2 / len(whole))
        assert (sa + sb) / 2 == pytest.approx(1.0)


def test_a_shard_with_no_sample_in_the_last_step_takes_one_with_weight_zero() -> None:
    x = np.arange(5, dtype="float32")  # global batch 4: steps of 4 and 1; rank 1 has nothing in the last
    data = data_adapter.ArrayData(x, x, batch_size=2).shard(1, 2)
    last = _batches(data)[-1]
    assert last[1] == 0 and last[2] == 0.0 and len(last[0]) == 1


def test_array_subset_is_a_view_with_the_same_batching() -> None:
    x = np.arange(12, dtype="float32").reshape(6, 2)
    data = data_adapter.ArrayData(x, np.arange(6), batch_size=4)
    part = data.subset(2, 5)
    assert part.num_samples == 3 and part.batch_size == 4
    assert part.x.data_ptr() == data.x[2:].data_ptr()


def test_iterable_shards_deal_batches_round_robin_for_evaluation() -> None:
    batches = [(np.full((2, 1), i, dtype="float32"), np.zeros(2)) for i in range(5)]
    seen = []
    for rank in range(2):
        data = data_adapter.IterableData(batches).shard(rank, 2, in_step=False)
        seen.append([int(bx[0, 0]) for bx, _, _ in data])
        assert data.steps == len(seen[-1])
    assert seen == [[0, 2, 4], [1, 3]]


def test_single_process_has_rank_zero_and_world_one() -> None:
    assert nerve.distribution.world_size() == 1
    assert nerve.distribution.rank() == 0
    assert nerve.distribution.is_main_process()
    assert not nerve.distribution.is_initialized()
    nerve.distribution.initialize()  # no job described: nothing to join
    nerve.distribution.barrier()
    assert not nerve.distribution.is_initialized()


def test_initialize_refuses_a_rank_outside_the_world() -> None:
    with pytest.raises(ValueError, match=r"process_id must be in \[0, 2\)"):
        nerve.distribution.initialize("127.0.0.1:1", num_processes=2, process_id=2)


def test_initialize_without_an_address_says_how_to_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(nerve.distribution.DistributedError, match="MASTER_ADDR is not set.*torchrun"):
        nerve.distribution.initialize(num_processes=2, process_id=0)


@pytest.mark.parametrize("raw,message", [("soon", "must be a number of seconds"), ("-3", "positive number")])
def test_a_bad_timeout_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str, message: str) -> None:
    monkeypatch.setenv("NERVE_DIST_TIMEOUT", raw)
    with pytest.raises((nerve.distribution.DistributedError, ValueError), match=message):
        runtime._resolve_timeout(None)


def test_set_distribution_takes_a_data_parallel_only() -> None:
    with pytest.raises(TypeError, match="DataParallel"):
        nerve.distribution.set_distribution("mirrored")
    strategy = nerve.distribution.DataParallel(sync_batchnorm=True)
    nerve.distribution.set_distribution(strategy)
    try:
        assert nerve.distribution.distribution() is strategy
    finally:
        nerve.distribution.set_distribution(None)


def test_only_rank_zero_keeps_the_progress_bar_and_log_writers(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    def kept(rank: str) -> list[type]:
        monkeypatch.setenv("RANK", rank)
        cbs = CallbackList([ProgbarLogger(), CSVLogger(tmp_path / "log.csv"), History(),
                            ModelCheckpoint(str(tmp_path / "m.keras"))])
        return [type(cb) for cb in cbs]

    assert kept("0") == [ProgbarLogger, CSVLogger, History, ModelCheckpoint]
    assert kept("1") == [History, ModelCheckpoint]  # ModelCheckpoint tracks `best` everywhere, writes on 0


def test_callback_messages_print_on_rank_zero_only(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from nerve.callbacks.callback import print_msg

    monkeypatch.setenv("RANK", "1")
    print_msg("hidden")
    monkeypatch.setenv("RANK", "0")
    print_msg("shown")
    assert capsys.readouterr().out == "shown\n"


def test_seeds_give_each_rank_its_own_torch_stream_and_the_same_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = {}
    for rank in ("0", "1"):
        monkeypatch.setenv("RANK", rank)
        nerve.utils.set_random_seed(5)
        draws[rank] = (torch.initial_seed(), np.random.rand(), torch.rand(1).item())
    assert draws["0"][0] == 5 and draws["1"][0] == 6
    assert draws["0"][1] == draws["1"][1]  # data shuffled with numpy is the same on every process
    assert draws["0"][2] != draws["1"][2]  # dropout masks differ


def test_metric_variables_carry_their_aggregation() -> None:
    metric = nerve.metrics.Metric(name="m")
    summed = metric.add_variable((), name="total")
    first = metric.add_variable((), name="seen", aggregation="only_first_replica")
    assert summed.aggregation == "sum" and first.aggregation == "only_first_replica"
