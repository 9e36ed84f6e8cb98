"""Schedule configs are data: deserializing one never imports the module it names."""

from __future__ import annotations

import sys

import pytest

from nerve import optimizers
from nerve.optimizers._registry import deserialize_schedule


@pytest.mark.parametrize("config", [
    {"class_name": "function", "module": "os", "config": "system"},
    {"class_name": "Popen", "module": "subprocess", "config": {"args": ["true"]}},
    {"class_name": "function", "module": "json_never_imported_here", "config": "loads"},
])
def test_a_schedule_config_naming_a_module_is_refused_without_importing_it(config):
    before = set(sys.modules)
    with pytest.raises(ValueError, match="learning-rate"):
        deserialize_schedule(config)
    assert set(sys.modules) == before


def test_own_and_custom_schedules_still_resolve():
    decay = optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    config = {"class_name": "ExponentialDecay", "config": decay.get_config()}
    assert isinstance(deserialize_schedule(config), optimizers.schedules.ExponentialDecay)

    def warmup(step):
        return 0.01

    restored = deserialize_schedule({"class_name": "function", "module": __name__, "config": "warmup"},
                                    custom_objects={"warmup": warmup})
    assert restored is warmup
