"""--strategy options and their errors (in-process; nothing here starts a cluster or a TPU)."""

import argparse
import json
import time

import pytest

from tests.parallel.helpers import free_ports
from zoo.cli import load_recipe
from zoo.train import strategy as zs


def parse(*argv):
    return zs.add_strategy_args(argparse.ArgumentParser()).parse_args(list(argv))


def test_default_auto_and_one_device_run_inside_their_scope():
    assert parse().strategy == "auto"
    # No TPU and at most one GPU here: auto is the default strategy, with one replica.
    assert zs.make_strategy("auto", log=lambda *_: None).num_replicas_in_sync == 1
    assert zs.make_strategy("one_device").num_replicas_in_sync == 1

    @zs.distributed
    def train(args):
        import tensorflow as tf

        return tf.distribute.get_strategy().num_replicas_in_sync, args.runs_dir

    assert train(argparse.Namespace(strategy="one_device", batch_size=8, runs_dir="runs")) == (1, "runs")


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="Unknown strategy 'ring'; choose one of auto"):
        zs.make_strategy("ring")


def test_multi_worker_without_tf_config_says_what_to_set(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(zs.StrategyError, match="needs TF_CONFIG") as err:
        zs.strategy_from_args(parse("--strategy", "multi_worker"))
    assert "export TF_CONFIG=" in str(err.value) and "docs/distributed.md" in str(err.value)


@pytest.mark.parametrize(
    "raw, message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"task": {"type": "worker", "index": 0}}), "no cluster"),
        (json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}), "must name a job"),
        (json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}), "outside the 1"),
    ],
)
def test_bad_tf_config_is_explained(raw, message):
    with pytest.raises(zs.StrategyError, match=message):
        zs.read_tf_config({"TF_CONFIG": raw})


def test_workers_option_builds_the_tf_config_of_each_machine():
    config = json.loads(zs.tf_config_for(["h1:2222", "h2:2222"], 1))
    assert config == {"cluster": {"worker": ["h1:2222", "h2:2222"]}, "task": {"type": "worker", "index": 1}}
    lines = zs.tf_config_lines(["h1:2222", "h2:2222"])
    assert lines[0].startswith("on h1: export TF_CONFIG=") and '"index": 1' in lines[1]
    with pytest.raises(zs.StrategyError, match="host:port"):
        zs.tf_config_for(["h1"], 0)
    with pytest.raises(zs.StrategyError, match="go together"):
        zs.strategy_from_args(parse("--strategy", "multi_worker", "--workers", "h1:1,h2:1"))
    with pytest.raises(zs.StrategyError, match="--worker-index must be in 0..1"):
        zs.strategy_from_args(parse("--strategy", "multi_worker", "--workers", "h1:1,h2:1", "--worker-index", "2"))


def test_global_batch_must_split_over_the_replicas(monkeypatch):
    fake = type("TwoReplicas", (), {"num_replicas_in_sync": 2})()
    monkeypatch.setattr(zs, "strategy_from_args", lambda args: fake)

    @zs.distributed
    def train(args):
        raise AssertionError("must not start training")

    with pytest.raises(SystemExit, match="global batch size 7 is not divisible by the 2 replicas"):
        train(argparse.Namespace(strategy="mirrored", batch_size=7))


def test_cpu_replicas_after_start_up_is_refused():
    import tensorflow as tf

    tf.constant(1.0)  # TensorFlow has started its devices in this process
    with pytest.raises(zs.StrategyError, match="fresh process"):
        zs.split_cpu(3)


def test_tpu_unreachable_address_fails_fast():
    port = free_ports(1)[0]  # nothing listens there
    started = time.monotonic()
    with pytest.raises(zs.StrategyError, match=f"nothing answers at grpc://127.0.0.1:{port}"):
        zs.tpu_strategy(f"grpc://127.0.0.1:{port}", timeout=5)
    assert time.monotonic() - started < 15


def test_tpu_resolver_that_hangs_is_cut_off(monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", lambda tpu: time.sleep(30))
    started = time.monotonic()
    with pytest.raises(zs.StrategyError, match="took more than 1 s"):
        zs.tpu_strategy("my-tpu", timeout=1)
    assert time.monotonic() - started < 5


def test_recipe_with_tpu_strategy_and_no_tpu_exits_with_the_reason():
    train_cnn = load_recipe("train-cnn")
    port = free_ports(1)[0]
    with pytest.raises(SystemExit, match="--strategy tpu: nothing answers"):
        train_cnn.main(["--strategy", "tpu", "--tpu", f"grpc://127.0.0.1:{port}", "--epochs", "1"])


def test_recipe_with_multi_worker_and_no_tf_config_exits_with_the_reason(monkeypatch):
    pretrain_clm = load_recipe("pretrain-clm")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(SystemExit, match="needs TF_CONFIG"):
        pretrain_clm.main(["--strategy", "multi_worker", "--steps", "1"])
