# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper: writes the wall-clock start and end of every task to the JSON file $ZTP_BENCH_TIMES."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: bench_timer
type: aggregate
short_description: Task start and end times for the benchmarks
description:
  - Writes the wall-clock start and end of every task to the JSON file named by E(ZTP_BENCH_TIMES).
options: {}
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.tasks = []

    def _start(self, task):
        role = task._role.get_name() if task._role else ''
        self.tasks.append({'name': task.get_name(), 'role': role, 'action': task.action, 'start': time.time(), 'end': None})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task)

    def _done(self, result):
        if self.tasks:
            self.tasks[-1]['end'] = time.time()

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _done

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('ZTP_BENCH_TIMES')
        if path:
            with open(path, 'w') as handle:
                json.dump({'tasks': self.tasks, 'end': time.time()}, handle)
