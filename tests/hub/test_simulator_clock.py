"""The simulator's clock: simulated time runs at the set speed, except for the time its own loop stalls."""

from __future__ import annotations

from testhub.simulator import core


class FakeTime:
    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


def test_a_stall_of_the_loop_counts_only_up_to_the_gap(monkeypatch):
    fake = FakeTime(1000.0)
    monkeypatch.setattr(core.time, "time", fake.time)
    clock = core.Clock(600, max_gap=1.0)
    assert clock.now() == 0.0
    fake.now += 0.5
    assert clock.now() == 300.0                     # 0.5 s at 600x
    fake.now += 6.0                                  # one render took 6 s: without the hold, an hour would pass
    assert clock.now() == 900.0                      # only 1 s of the stall counts
    assert clock.held_seconds == 5.0
    assert clock.sim_at(1000.5 + 0.5) == 600.0       # moments inside the counted part keep their time
    assert clock.sim_at(1000.5 + 3.0) == 900.0       # the held part maps to where the clock stopped
    fake.now += 0.25
    assert clock.now() == 1050.0                     # then it runs at the set speed again
    clock.set_speed(60)
    fake.now += 1.0
    assert clock.now() == 1110.0
    readings = []
    for step in (0.3, 0.9, 2.5, 0.1):
        fake.now += step
        readings.append(clock.now())
    assert readings == sorted(readings)              # monotonic
