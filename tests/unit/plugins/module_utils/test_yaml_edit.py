# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import multiprocessing
import os
import stat
import threading

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_edit as Y
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as L
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files

pytestmark = pytest.mark.skipif(not L.HAS_RUAMEL, reason='ruamel.yaml is not installed')


def changed_lines(before, after):
    """(removed, added) lines of a line diff."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith('- '):
            removed.append(line[2:])
        elif line.startswith('+ '):
            added.append(line[2:])
    return removed, added


SITE = """\
# leading comment
apiVersion: v1   # trailing comment
kind: Thing
spec:
  name: 'single quoted'
  other: "double quoted"
  clusters:
  - clusterName: "c1"

    nodes:
      # comment before the first item
      - hostName: "n1"   # host comment
        role: master
        labels: {a: "1"}

      # comment between items
      - hostName: n2
        role: worker
        # comment that belongs to n2
    # comment that belongs to the next key
    after: true
"""


def test_append_adds_only_new_lines_in_neighbour_style():
    item = {'hostName': 'n3', 'role': 'worker', 'net': {'ifs': [{'name': 'eno1'}]}}
    out = Y.append_sequence_item(SITE, [0, 'spec', 'clusters', 0, 'nodes'], item)
    removed, added = changed_lines(SITE, out)
    assert removed == []
    assert added == [
        '      - hostName: n3',
        '        role: worker',
        '        net:',
        '          ifs:',
        '          - name: eno1',
    ]
    lines = out.splitlines()
    # the comment owned by n2 stays with n2, the one of the next key stays before it
    assert lines.index('        # comment that belongs to n2') < lines.index('      - hostName: n3')
    assert lines.index('      - hostName: n3') < lines.index('    # comment that belongs to the next key')
    assert L.load_documents(out)[0]['spec']['clusters'][0]['nodes'][2]['hostName'] == 'n3'


def test_append_indentless_sequence_and_four_space_style():
    text = "items:\n- a: 1\n  b: 2\nnext: x\n"
    out = Y.append_sequence_item(text, [0, 'items'], {'a': 3})
    assert out == "items:\n- a: 1\n  b: 2\n- a: 3\nnext: x\n"
    text = "top:\n    items:\n        -   a: 1\n            b:\n                c: 2\n"
    out = Y.append_sequence_item(text, [0, 'top', 'items'], {'a': 3, 'b': {'c': 4}})
    assert out == text + "        -   a: 3\n            b:\n                c: 4\n"


def test_replace_item_keeps_comments_of_unchanged_parts():
    out = Y.replace_sequence_item(SITE, [0, 'spec', 'clusters', 0, 'nodes'], 0,
                                  {'hostName': 'n1', 'role': 'master', 'labels': {'a': '2'}, 'extra': 'yes'})
    removed, added = changed_lines(SITE, out)
    assert removed == ['        labels: {a: "1"}']
    assert added == ['        labels: {a: "2"}', '        extra: "yes"']
    assert '      - hostName: "n1"   # host comment' in out
    assert '# comment between items' in out


def test_replace_scalar_keeps_trailing_comment_and_quoting_elsewhere():
    out = Y.set_mapping_value(SITE, [0], 'apiVersion', 'v2')
    assert out == SITE.replace('apiVersion: v1   #', 'apiVersion: v2   #')


def test_remove_item_with_its_comments():
    out = Y.remove_sequence_item(SITE, [0, 'spec', 'clusters', 0, 'nodes'], 1)
    removed, added = changed_lines(SITE, out)
    assert added == []
    assert removed == ['      # comment between items', '      - hostName: n2', '        role: worker',
                       '        # comment that belongs to n2']
    assert '# comment that belongs to the next key' in out


def test_remove_last_item_leaves_empty_list():
    text = "a:\n  l:\n  - x  # c\n  b: 1\n"
    out = Y.remove_sequence_item(text, [0, 'a', 'l'], 0)
    assert L.load_documents(out) == [{'a': {'l': [], 'b': 1}}]
    assert out.endswith('  b: 1\n')


def test_flow_sequence_and_mapping_are_rerendered_in_flow_style():
    text = "a: [1, 2]  # keep\nb: {x: 1}\n"
    assert Y.append_sequence_item(text, [0, 'a'], 3) == "a: [1, 2, 3]  # keep\nb: {x: 1}\n"
    assert Y.set_mapping_value(text, [0, 'b'], 'z', 'two words') == "a: [1, 2]  # keep\nb: {x: 1, z: two words}\n"
    # "y" is a boolean for YAML 1.1 readers, so it is quoted
    assert Y.set_mapping_value(text, [0, 'b'], 'y', 'no') == 'a: [1, 2]  # keep\nb: {x: 1, "y": "no"}\n'
    assert Y.remove_sequence_item(text, [0, 'a'], 0) == "a: [2]  # keep\nb: {x: 1}\n"


def test_empty_flow_sequence_becomes_block():
    text = "spec:\n  nodes: []  # none yet\n  other: 1\n"
    out = Y.append_sequence_item(text, [0, 'spec', 'nodes'], {'hostName': 'w'})
    assert out == "spec:\n  nodes:  # none yet\n    - hostName: w\n  other: 1\n"
    text = "spec:\n  list:\n  - 1\n  nodes: []\n"
    out = Y.append_sequence_item(text, [0, 'spec', 'nodes'], {'hostName': 'w'})
    assert out == "spec:\n  list:\n  - 1\n  nodes:\n  - hostName: w\n"


def test_missing_and_null_key():
    text = "spec:\n  name: x\n"
    assert Y.set_mapping_value(text, [0, 'spec'], 'nodes', [{'h': 1}]) == "spec:\n  name: x\n  nodes:\n    - h: 1\n"
    text = "spec:\n  nodes:\n  name: x\n"
    out = Y.append_sequence_item(text, [0, 'spec', 'nodes'], 'w')
    assert L.load_documents(out) == [{'spec': {'nodes': ['w'], 'name': 'x'}}]


def test_no_trailing_newline():
    text = "l:\n- a\n- b"
    out = Y.append_sequence_item(text, [0, 'l'], 'c')
    assert out == "l:\n- a\n- b\n- c"
    assert Y.set_mapping_value("a: 1", [0], 'b', 2) == "a: 1\nb: 2"


def test_multi_document_with_end_markers():
    text = "# head\n---\na:\n- 1\n...\n---\nb:\n  - x\n---\nc: 3\n"
    out = Y.append_sequence_item(text, [1, 'b'], 'z')
    assert out == "# head\n---\na:\n- 1\n...\n---\nb:\n  - x\n  - z\n---\nc: 3\n"
    out = Y.append_sequence_item(text, [0, 'a'], 2)
    assert out == "# head\n---\na:\n- 1\n- 2\n...\n---\nb:\n  - x\n---\nc: 3\n"
    with pytest.raises(Y.YamlEditError, match='3 document'):
        Y.append_sequence_item(text, [5, 'a'], 1)


def test_multiline_and_yaml11_strings():
    out = Y.set_mapping_value("a: 1\n", [0], 'json', '{\n  "x": 1\n}\n')
    assert out == 'a: 1\njson: |\n  {\n    "x": 1\n  }\n'
    out = Y.set_mapping_value("a: 1\n", [0], 'flags', ['yes', 'on', '0755', '12:34:56', 'true', 'null', 'plain'])
    assert L.load_documents(out)[0]['flags'] == ['yes', 'on', '0755', '12:34:56', 'true', 'null', 'plain']
    assert '- "yes"' in out and '- "12:34:56"' in out and '- plain' in out


def test_block_scalar_with_hash_lines_is_one_item():
    text = "l:\n- |\n  text\n  # not a comment\n\n# comment after\n"
    out = Y.append_sequence_item(text, [0, 'l'], 'b')
    assert out == "l:\n- |\n  text\n  # not a comment\n- b\n\n# comment after\n"


def test_remove_mapping_key():
    text = "m:\n  - a: 1\n    b: 2  # b\n    c: 3\n"
    assert Y.remove_mapping_key(text, [0, 'm', 0], 'b') == "m:\n  - a: 1\n    c: 3\n"
    assert Y.remove_mapping_key(text, [0, 'm', 0], 'a') == "m:\n  - b: 2  # b\n    c: 3\n"


def test_path_errors():
    with pytest.raises(Y.YamlEditError, match='not found'):
        Y.append_sequence_item("a: 1\n", [0, 'b'], 1)
    with pytest.raises(Y.YamlEditError, match='not a sequence'):
        Y.append_sequence_item("a: 1\n", [0, 'a'], 1)
    with pytest.raises(Y.YamlEditError, match='not valid YAML'):
        Y.append_sequence_item("a: [\n", [0, 'a'], 1)


def test_verification_failure_raises_and_edit_file_writes_nothing(tmp_path, monkeypatch):
    path = tmp_path / 'f.yaml'
    path.write_text(SITE)

    def broken_insert(text, pos, lines):
        return text[:pos] + '\n'.join(lines) + '\n' + text[pos:].replace('after: true', 'after: false')
    monkeypatch.setattr(Y, '_insert_lines', broken_insert)
    with pytest.raises(Y.YamlEditError, match='more than intended'):
        yaml_files.edit_file(str(path), lambda t: Y.append_sequence_item(t, [0, 'spec', 'clusters', 0, 'nodes'], {'h': 1}))
    assert path.read_text() == SITE


def test_atomic_write_keeps_mode(tmp_path):
    path = tmp_path / 'f.yaml'
    path.write_text('a: 1\n')
    os.chmod(str(path), 0o640)
    yaml_files.atomic_write(str(path), 'a: 2\n')
    assert path.read_text() == 'a: 2\n'
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640
    assert os.listdir(str(tmp_path)) == ['f.yaml']


def test_edit_file_check_mode_and_diff(tmp_path):
    path = tmp_path / 'f.yaml'
    path.write_text('l: [a]\n')
    result = yaml_files.edit_file(str(path), lambda t: Y.append_sequence_item(t, [0, 'l'], 'b'), check_mode=True)
    assert result['changed'] is True
    assert result['diff'] == {'before': 'l: [a]\n', 'after': 'l: [a, b]\n', 'before_header': str(path),
                              'after_header': str(path)}
    assert path.read_text() == 'l: [a]\n'
    result = yaml_files.edit_file(str(path), lambda t: Y.append_sequence_item(t, [0, 'l'], 'b'))
    assert result['changed'] is True and path.read_text() == 'l: [a, b]\n'
    result = yaml_files.edit_file(str(path), lambda t: t)
    assert result['changed'] is False


def test_lock_file_is_outside_the_checkout(tmp_path):
    lock = yaml_files.lock_path(str(tmp_path / 'f.yaml'))
    assert not lock.startswith(str(tmp_path))
    assert os.path.basename(os.path.dirname(lock)) == yaml_files.LOCK_DIR_NAME


def _append_name(path, name):
    yaml_files.edit_file(path, lambda t: Y.append_sequence_item(t, [0, 'names'], name))


def test_lock_serialises_threads(tmp_path):
    path = str(tmp_path / 'k.yaml')
    with open(path, 'w') as handle:
        handle.write('names:\n- start\n')
    threads = [threading.Thread(target=_append_name, args=(path, 't%d' % i)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = L.load_documents(open(path).read())[0]['names']
    assert sorted(names) == sorted(['start'] + ['t%d' % i for i in range(10)])


def test_lock_serialises_processes(tmp_path):
    path = str(tmp_path / 'k.yaml')
    with open(path, 'w') as handle:
        handle.write('names:\n- start\n')
    ctx = multiprocessing.get_context('fork')
    procs = [ctx.Process(target=_append_name, args=(path, 'p%d' % i)) for i in range(10)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    names = L.load_documents(open(path).read())[0]['names']
    assert sorted(names) == sorted(['start'] + ['p%d' % i for i in range(10)])


# flow collections with comments: only the edited item is spliced

FLOW_MAP = """\
spec:
  labels: {
    a: "1",   # first
    b: "2"    # second
  }
  list: [x, y]  # short
"""


def test_flow_map_add_and_remove_keep_comments():
    added = Y.set_mapping_value(FLOW_MAP, [0, 'spec', 'labels'], 'c', '3')
    assert '# first' in added and '# second' in added
    assert L.load_documents(added)[0]['spec']['labels'] == {'a': '1', 'b': '2', 'c': '3'}
    removed = Y.remove_mapping_key(added, [0, 'spec', 'labels'], 'c')
    assert removed == FLOW_MAP
    first_gone = Y.remove_mapping_key(FLOW_MAP, [0, 'spec', 'labels'], 'a')
    assert '# second' in first_gone and L.load_documents(first_gone)[0]['spec']['labels'] == {'b': '2'}


def test_flow_item_update_replaces_only_that_item():
    new = Y.update_value(FLOW_MAP, [0, 'spec', 'labels', 'b'], 'two')
    assert new == FLOW_MAP.replace('b: "2"', 'b: two')
    new = Y.update_value(FLOW_MAP, [0, 'spec', 'list', 1], 'zz')
    assert new == FLOW_MAP.replace('[x, y]', '[x, zz]')


def test_flow_sequence_append_and_remove_on_one_line():
    new = Y.append_sequence_item(FLOW_MAP, [0, 'spec', 'list'], 'z')
    assert new == FLOW_MAP.replace('[x, y]', '[x, y, z]')
    assert Y.remove_sequence_item(new, [0, 'spec', 'list'], 1) == FLOW_MAP.replace('[x, y]', '[x, z]')
    assert Y.remove_sequence_item(new, [0, 'spec', 'list'], 2) == FLOW_MAP


def test_append_to_sequences_in_one_pass_equals_one_by_one():
    text = "a:\n- 1\nb:\n  # items of b\n  - x\nc: [p]\nd:\n"
    items = [([0, 'a'], [2, 3]), ([0, 'b'], ['y']), ([0, 'c'], ['q']), ([0, 'd'], ['new'])]
    one_by_one = text
    for path, values in items:
        one_by_one = Y.append_sequence_items(one_by_one, path, values)
    assert Y.append_to_sequences(text, items) == one_by_one
    assert L.load_documents(one_by_one)[0] == {'a': [1, 2, 3], 'b': ['x', 'y'], 'c': ['p', 'q'], 'd': ['new']}


def test_crlf_text_stays_crlf_for_every_edit():
    text = "a:\r\n  b: 1\r\n  c: [1, 2]\r\nl:\r\n- x\r\n"
    for new in (Y.set_mapping_value(text, [0, 'a'], 'd', {'e': 'f'}), Y.remove_mapping_key(text, [0, 'a'], 'b'),
                Y.update_value(text, [0, 'a', 'b'], 2), Y.append_sequence_item(text, [0, 'l'], 'y'),
                Y.remove_sequence_item(Y.append_sequence_item(text, [0, 'l'], 'y'), [0, 'l'], 0)):
        assert new.count('\n') == new.count('\r\n') and new != text


def test_anchored_mapping_gets_new_keys_at_its_key_column():
    text = "spec:\n  creds: &c\n    name: a\n  other: *c\n"
    new = Y.set_mapping_value(text, [0, 'spec', 'creds'], 'extra', 'b')
    assert new == "spec:\n  creds: &c\n    name: a\n    extra: b\n  other: *c\n"
    assert Y.alias_at(text, [0, 'spec', 'other']) == 'c' and Y.alias_at(text, [0, 'spec', 'creds']) is None
