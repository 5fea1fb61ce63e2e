# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_fleet_report: write the fleet report (HTML and JSON) on the controller.

The report is a file for the people running the play (an AWX artifact, a mail attachment), so it is written where
the play runs, not on a managed host. The JSON written at the end of an earlier batch is read back and the new
records merged into it; each file is written atomically, and only when its content changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

from ansible_collections.ztp.sno_expand.plugins.module_utils import _fleet_report as fr
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.plugin_utils import _validate as validate


def default_json_path(path):
    root, ext = os.path.splitext(path)
    return (root if ext.lower() in ('.html', '.htm') else path) + '.json'


def _read(path):
    if not os.path.exists(path):
        return None
    with open(path, 'rb') as handle:
        return handle.read().decode('utf-8', 'replace')


class ActionModule(ActionBase):
    """Merge the batch's cluster records into the report files on the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=validate.module_spec('ztp_fleet_report'))
        path = os.path.abspath(args['path'])
        json_path = os.path.abspath(args['json_path'] or default_json_path(path))
        if json_path == path:
            result.update(failed=True, msg='json_path must differ from path (%s)' % path)
            return result
        if not args['docs_url'].startswith(('https://', 'http://')):
            result.update(failed=True, msg='docs_url must be an http(s) URL, got %r' % args['docs_url'])
            return result
        try:
            with yaml_files.file_lock(json_path):
                outcome = self._write(path, json_path, args)
        except (ZtpInputError, ZtpInputErrors) as error:
            result.update(failed=True, changed=False, msg=str(error))
            return result
        except (OSError, IOError) as error:
            result.update(failed=True, changed=False, msg='cannot write the fleet report: %s' % error)
            return result
        result.update(outcome)
        return result

    def _write(self, path, json_path, args):
        old_json, old_html = _read(json_path), _read(path)
        old = None
        if old_json:
            try:
                old = fr.load_report(old_json)
            except ValueError as error:
                raise ZtpInputError('json_path', json_path, 'a fleet report JSON file written by this module, or a new file '
                                    '(%s); nothing was written' % error, where=json_path)
        base = old
        if old is not None and not args['merge']:
            base = fr.new_report(old['title'])
        report = fr.merge(base, args['clusters'], batch=args['batch'], title=args['title'])
        if old is not None and report['clusters'] == old['clusters'] and report['title'] == old['title']:
            report['updated'] = old['updated']
        timelines = fr.report_timelines(report)
        summary = fr.aggregates(report, timelines)
        new_html = fr.render_html(report, summary, args['docs_url'], timelines)
        new_json = fr.render_json(report, summary)
        changed = [p for p, before, after in ((path, old_html, new_html), (json_path, old_json, new_json)) if before != after]
        if changed and not self._task.check_mode:
            for target, text in ((path, new_html), (json_path, new_json)):
                if target in changed:
                    folder = os.path.dirname(target)
                    if not os.path.isdir(folder):
                        os.makedirs(folder)
                    yaml_files.atomic_write(target, text)
        out = dict(changed=bool(changed), path=path, json_path=json_path, written=changed,
                   clusters=summary['clusters'], nodes=summary['nodes'], batches=len(summary['batches']),
                   updated=report['updated'])
        if self._task.diff:
            before = fr.summary_lines(old) if old is not None else ''
            out['diff'] = {'before': before, 'after': fr.summary_lines(report),
                           'before_header': json_path, 'after_header': json_path}
        return out
