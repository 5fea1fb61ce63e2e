# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Round-trip editing of Git-managed YAML files by text splicing.

The parser is used only to find where the nodes are; an edit replaces or inserts the lines of
one block and leaves every other byte of the file as it was (comments, quoting, blank lines, other
documents). New blocks are rendered in the indentation style of their neighbours. After each splice
the result is parsed again and compared with the intended data; a mismatch raises ``YamlEditError``.

A path is a list whose first element is the index of the document in the file, followed by mapping
keys and sequence indexes, for example ``[0, 'spec', 'clusters', 0, 'nodes']``.

Reading the data is ``yaml_load``; reading and writing the files themselves (locks, atomic writes, recovery) is
``yaml_files``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import io
import json
import re
from collections import Counter

from ansible_collections.ztp.sno_expand.plugins.module_utils._yaml_load import (
    YamlEditError, fast_load_all, get_value, load_documents, parse_events, path_text, ruamel_yaml, same_data)


# Plain scalars that YAML 1.1 readers (and some Go YAML libraries) resolve to a non-string type.
# Strings of that shape are written double-quoted, even though YAML 1.2 would read them back as strings.
_YAML11_SPECIAL = re.compile(r'''^(?:
    y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
   |~|null|Null|NULL|<<|=
   |[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
   |[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
   |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
   |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}.*)?
)$''', re.X)

# Strings that are plain scalars in every YAML version (checked without a dump and load).
_SIMPLE_PLAIN = re.compile(r'^[A-Za-z/][A-Za-z0-9 ._/:@+=,()~-]*$')
_FLOW_UNSAFE = re.compile(r'[,\[\]{}#]|: |^[-?:!&*|>\'"%@`]|^$|\s$|^\s')

# ---------------------------------------------------------------------------------------------
# Node positions


class _Node(object):
    """Position information of one YAML node, built from the parser's events."""

    def __init__(self, kind, event):
        self.kind = kind  # 'map', 'seq', 'scalar' or 'alias'
        self.start = event.start_mark.index
        self.end = event.end_mark.index
        self.flow = bool(getattr(event, 'flow_style', False))
        self.style = getattr(event, 'style', None)
        self.value = getattr(event, 'value', None)
        # the anchor a node defines (&name), or for an alias the anchor it refers to (*name)
        self.anchor = getattr(event, 'anchor', None)
        self.children = []  # seq: nodes; map: (key, value) tuples

    @property
    def implicit_null(self):
        return self.kind == 'scalar' and self.value == '' and not self.style

    @property
    def block_scalar(self):
        return self.kind == 'scalar' and self.style in ('|', '>')


def _build(event, events):
    name = type(event).__name__
    if name == 'ScalarEvent':
        return _Node('scalar', event)
    if name == 'AliasEvent':
        return _Node('alias', event)
    if name == 'SequenceStartEvent':
        node = _Node('seq', event)
        for child in events:
            if type(child).__name__ == 'SequenceEndEvent':
                node.end = child.end_mark.index
                return node
            node.children.append(_build(child, events))
    if name == 'MappingStartEvent':
        node = _Node('map', event)
        for child in events:
            if type(child).__name__ == 'MappingEndEvent':
                node.end = child.end_mark.index
                return node
            node.children.append((_build(child, events), _build(next(events), events)))
    raise YamlEditError('unexpected YAML event %s' % name)


def _parse_nodes(text):
    events = iter(parse_events(text))
    docs = []
    for event in events:
        if type(event).__name__ == 'DocumentStartEvent':
            docs.append(_build(next(events), events))
    return docs


class _Text(object):
    """The text being edited with its node tree and data."""

    def __init__(self, text):
        self.text = text
        self.roots = _parse_nodes(text)
        for root in self.roots:
            self._undecorate(root)
        self.data = load_documents(text)
        if len(self.roots) != len(self.data):
            raise YamlEditError('could not match the documents of the file')

    def _undecorate(self, node):
        """A block collection with an anchor or tag (``key: &name``, ``- !tag``) starts, for the splices and the
        indentation, at its first key or dash, not at the anchor (which may sit 30 columns to the right)."""
        stack = [node]
        while stack:
            node = stack.pop()
            if node.kind == 'map':
                stack.extend(v for pair in node.children for v in pair)
            elif node.kind == 'seq':
                stack.extend(node.children)
            else:
                continue
            node.decorated = False
            if node.flow or not node.children or self.text[node.start:node.start + 1] not in ('&', '!'):
                continue
            node.decorated = True
            if node.kind == 'map':
                node.start = node.children[0][0].start
            else:
                dash = self.text.rfind('-', node.start, node.children[0].start)
                if dash >= 0:
                    node.start = dash

    def line_start(self, idx):
        return self.text.rfind('\n', 0, idx) + 1

    def line_end(self, idx):
        """Index just after the newline ending the line that contains ``idx`` (or the end of text)."""
        nl = self.text.find('\n', idx)
        return len(self.text) if nl < 0 else nl + 1

    def col(self, idx):
        return idx - self.line_start(idx)

    def only_spaces_before(self, idx):
        return self.text[self.line_start(idx):idx].strip() == ''

    def locate(self, path):
        """Return the list of nodes from the document root down to the node at ``path``."""
        if not path or not isinstance(path[0], int) or not 0 <= path[0] < len(self.roots):
            raise YamlEditError('path %s: the file has %d document(s)' % (path_text(path), len(self.roots)))
        chain = [self.roots[path[0]]]
        for step in path[1:]:
            node = chain[-1]
            nxt = None
            if node.kind == 'map':
                value = get_value(self.data, path[:len(chain)])
                keys = list(value.keys()) if isinstance(value, dict) else []
                if step in keys and len(keys) == len(node.children):
                    nxt = node.children[keys.index(step)][1]
                elif isinstance(step, str):
                    found = [v for k, v in node.children if k.kind == 'scalar' and k.value == step]
                    nxt = found[0] if len(found) == 1 else None
            elif node.kind == 'seq' and isinstance(step, int) and 0 <= step < len(node.children):
                nxt = node.children[step]
            if nxt is None:
                raise YamlEditError('path %s not found in the file' % path_text(path))
            chain.append(nxt)
        return chain

    def dash(self, seq, index):
        """Index of the ``-`` of item ``index`` of a block sequence."""
        col = self.col(seq.start)
        pos = seq.children[index].start if index < len(seq.children) else seq.end
        while True:
            pos = self.text.rfind('-', 0, pos)
            if pos < 0 or pos < seq.start:
                return seq.start
            if self.col(pos) == col and self.text[self.line_start(pos):pos].strip('- ') == '':
                return pos

    def content_end(self, node):
        """Index just after the last character that belongs to ``node`` (None for an empty null)."""
        if node.implicit_null:
            return None
        if node.block_scalar:
            return self._block_scalar_end(node)
        if node.kind in ('scalar', 'alias') or node.flow:
            return node.end
        if not node.children:
            return node.end
        last = node.children[-1]
        if node.kind == 'map':
            end = self.content_end(last[1])
            return end if end is not None else self.content_end(last[0])
        end = self.content_end(last)
        return end if end is not None else self.dash(node, len(node.children) - 1) + 1

    def _block_scalar_end(self, node):
        end = node.end
        header = self.text[node.start:self.line_end(node.start)].split('#')[0]
        keep = '+' in header
        if self.only_spaces_before(end) and end > node.start:
            end = self.line_start(end) - 1
        while not keep and end > self.line_end(node.start):
            start = self.line_start(end)
            if self.text[start:end].strip():
                break
            end = start - 1
        return max(end, node.start)

    def after_owned_comments(self, end, owner_col):
        """Index of the line after ``end`` and after the comment lines indented deeper than ``owner_col``."""
        pos = self.line_end(end)
        while pos < len(self.text):
            line = self.text[pos:self.line_end(pos)]
            stripped = line.lstrip(' ')
            if not stripped.startswith('#') or len(line) - len(stripped) <= owner_col:
                break
            pos = self.line_end(pos)
        return pos


# ---------------------------------------------------------------------------------------------
# Rendering


def _dump(value):
    yaml = ruamel_yaml('rt')
    yaml.width = 1000000
    out = io.StringIO()
    yaml.dump(value, out)
    return out.getvalue()


def _reads_back(text, value):
    try:
        docs = fast_load_all(text)
        return len(docs) == 1 and same_data(docs[0], value)
    except Exception:  # any parse error means: not this rendering
        return False


def scalar_text(value):
    """A one-line YAML rendering of a scalar (strings quoted when a YAML 1.1 reader would retype them)."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, str):
        if _YAML11_SPECIAL.match(value):
            return json.dumps(value, ensure_ascii=False)
        if _SIMPLE_PLAIN.match(value) and ': ' not in value and not value.endswith((':', ' ')):
            return value
        text = _dump({'k': value})
        if text.startswith('k: ') and text.count('\n') == 1 and _reads_back(text, {'k': value}):
            return text[3:-1]
        return json.dumps(value, ensure_ascii=False)
    text = _dump([value])
    if text.startswith('- ') and text.count('\n') == 1:
        return text[2:-1]
    raise YamlEditError('cannot render the value %r' % (value,))


def flow_text(value):
    """A one-line flow-style YAML rendering of ``value``."""
    if isinstance(value, dict):
        return '{' + ', '.join('%s: %s' % (flow_text(k), flow_text(v)) for k, v in value.items()) + '}'
    if isinstance(value, list):
        return '[' + ', '.join(flow_text(v) for v in value) + ']'
    if isinstance(value, str) and ('\n' in value or _FLOW_UNSAFE.search(value)):
        return json.dumps(value, ensure_ascii=False)
    return scalar_text(value)


class _Style(object):
    """Indentation of new blocks, learnt from a neighbour node and from the whole document."""

    def __init__(self, doc, root, template=None, common=None):
        self.doc = doc
        self.local = None
        if common is not None:
            self.common = common  # learnt before from the same root
        else:
            self.common = {'map': Counter(), 'seq': Counter(), 'item': Counter()}
            self._learn(root, ())
        self.local = {}
        if template is not None:
            self._learn(template, ())

    def _learn(self, node, rel):
        if node.kind == 'map' and not node.flow:
            for key, value in node.children:
                sub = rel + (key.value,)
                if value.kind in ('map', 'seq') and not value.flow and value.children and \
                        self.doc.line_start(value.start) != self.doc.line_start(key.start):
                    kind = 'map' if value.kind == 'map' else 'seq'
                    self._record(kind, sub, self.doc.col(value.start) - self.doc.col(key.start))
                self._learn(value, sub)
        elif node.kind == 'seq' and not node.flow:
            for i, item in enumerate(node.children):
                if item.kind in ('map', 'seq') and not item.flow and item.children and not getattr(item, 'decorated', False):
                    dash = self.doc.dash(node, i)
                    if self.doc.line_start(dash) == self.doc.line_start(item.start):
                        self._record('item', rel, item.start - dash)
                self._learn(item, rel + ('*',))

    def _record(self, kind, rel, amount):
        if amount < (0 if kind == 'seq' else 1):
            return
        if self.local is None:
            self.common[kind][amount] += 1
        else:
            # later siblings win: a new item follows the style of the last one
            self.local[(kind, rel)] = amount

    def get(self, kind, rel):
        if (kind, rel) in self.local:
            return self.local[(kind, rel)]
        best = self.common[kind].most_common(1)
        if best:
            return best[0][0]
        return 2


class _Emitter(object):
    def __init__(self, style):
        self.style = style

    def pair(self, key, value, col, rel):
        key_text = scalar_text(key) if not isinstance(key, str) or '\n' in key else flow_text(key)
        sub = rel + (key,)
        head = ' ' * col + key_text + ':'
        if isinstance(value, dict) and value:
            return [head] + self.mapping(value, col + self.style.get('map', sub), sub)
        if isinstance(value, list) and value:
            return [head] + self.sequence(value, col + self.style.get('seq', sub), sub)
        block = self.block_scalar(value, col + self.style.get('map', sub))
        if block:
            return [head + ' ' + block[0]] + block[1:]
        if value is None:
            return [head]
        return [head + ' ' + self.inline(value)]

    def mapping(self, value, col, rel):
        lines = []
        for key, item in value.items():
            lines.extend(self.pair(key, item, col, rel))
        return lines

    def sequence(self, value, col, rel):
        lines = []
        step = max(self.style.get('item', rel), 2)
        sub = rel + ('*',)
        for item in value:
            if isinstance(item, dict) and item:
                inner = self.mapping(item, col + step, sub)
            elif isinstance(item, list) and item:
                inner = self.sequence(item, col + step, sub)
            else:
                block = self.block_scalar(item, col + step)
                if block:
                    lines.append(' ' * col + '- ' + block[0])
                    lines.extend(block[1:])
                else:
                    lines.append(' ' * col + '- ' + self.inline(item))
                continue
            lines.append(' ' * col + '-' + ' ' * (step - 1) + inner[0][col + step:])
            lines.extend(inner[1:])
        return lines

    @staticmethod
    def inline(value):
        if isinstance(value, (dict, list)):
            return flow_text(value)
        return scalar_text(value)

    @staticmethod
    def block_scalar(value, indent):
        """Literal block lines (header first) for a multi-line string, or None."""
        if not isinstance(value, str) or '\n' not in value.rstrip('\n') or value[0] in ' \n':
            return None
        if value.endswith('\n\n'):
            chomp, body = '+', value[:-1]
        elif value.endswith('\n'):
            chomp, body = '', value[:-1]
        else:
            chomp, body = '-', value
        lines = ['|' + chomp] + [(' ' * indent + line) if line else '' for line in body.split('\n')]
        if not _reads_back('k: ' + '\n'.join(lines) + '\n', {'k': value}):
            return None
        return lines


# ---------------------------------------------------------------------------------------------
# Splicing


def _keeps_line_ends(edit):
    """Run ``edit(text, ...)`` on a CRLF text as LF and give the result back with CRLF line ends, so that a file
    written on Windows does not get LF lines among its CRLF ones. A text with mixed line ends is edited as it is."""
    def wrapper(text, *args, **kwargs):
        if '\r\n' not in text or text.count('\r\n') != text.count('\n') or text.count('\r') != text.count('\n'):
            return edit(text, *args, **kwargs)
        lf = text.replace('\r\n', '\n')
        result = edit(lf, *args, **kwargs)
        return text if result == lf else result.replace('\n', '\r\n')
    wrapper.__name__ = edit.__name__
    wrapper.__doc__ = edit.__doc__
    return wrapper


def _replace_range(doc, start, end, lines, prefix, suffix=''):
    """Replace the whole lines text[start:end] by ``lines``; the first line keeps ``prefix``."""
    text = doc.text
    lines = [prefix + lines[0][len(prefix):] + suffix] + lines[1:]
    block = '\n'.join(lines)
    if not (end == len(text) and not text.endswith('\n')):
        block += '\n'
    return text[:start] + block + text[end:]


def _insert_lines(text, pos, lines):
    block = '\n'.join(lines) + '\n'
    if pos == len(text) and text and not text.endswith('\n'):
        return text + '\n' + block[:-1]
    return text[:pos] + block + text[pos:]


def _verify(new_text, expected, path):
    try:
        got = load_documents(new_text)
    except YamlEditError as exc:
        raise YamlEditError('editing %s produced invalid YAML (nothing written): %s' % (path_text(path), exc))
    if not same_data(got, expected):
        raise YamlEditError('editing %s would change more than intended (nothing written)' % path_text(path))
    return new_text


def _expected(data, path, change):
    """Deep copy of ``data`` with ``change(container, last_step)`` applied at ``path``."""
    docs = copy.deepcopy(data)
    parent = get_value(docs, path[:-1]) if len(path) > 1 else docs
    change(parent, path[-1])
    return docs


def _set(value):
    def change(parent, step):
        parent[step] = copy.deepcopy(value)
    return change


def _flow_ancestor(chain):
    for i, node in enumerate(chain):
        if node.kind in ('map', 'seq') and node.flow:
            return i
    return None


def _comment_after(doc, end):
    rest = doc.text[end:doc.line_end(end)].rstrip('\n')
    return rest if rest.strip().startswith('#') else ''


def _replace_in_parent(doc, path, chain, value):
    """Replace the whole block of the node at ``path`` (its key or dash line included) by ``value``."""
    node = chain[-1]
    if len(chain) < 2:
        raise YamlEditError('path %s: replacing a whole document is not supported' % path_text(path))
    parent = chain[-2]
    end = doc.content_end(node)
    emitter = _Emitter(_Style(doc, chain[0], parent))
    if parent.kind == 'map':
        start = [k for k, v in parent.children if v is node][0].start
        end = end if end is not None else doc.content_end([k for k, v in parent.children if v is node][0])
        lines = emitter.pair(path[-1], value, doc.col(start), ())
    else:
        start = doc.dash(parent, parent.children.index(node))
        end = end if end is not None else start + 1
        lines = emitter.sequence([value], doc.col(start), ())
    single_line = doc.line_start(start) == doc.line_start(max(end - 1, start))
    suffix = _comment_after(doc, end) if single_line else ''
    line_start = doc.line_start(start)
    return _replace_range(doc, line_start, doc.line_end(end), lines, doc.text[line_start:start], suffix)


def _begin_edit(doc, path, change, extra=(), flow_edit=None):
    """``(expected, chain, done)`` for an edit of the node at ``path``: the data the edit must produce, the node
    chain of ``path + extra``, and, when ``path`` lies inside a flow collection, the finished edit, else None.

    Inside a flow collection ``flow_edit(doc, chain)`` splices only the edited item (comments and the other items of
    the collection stay as they are); when there is none, or it fails, the outermost flow collection is re-rendered,
    but only when it holds no comment (re-rendering would drop them).
    """
    expected = _expected(doc.data, path, change)
    chain = doc.locate(list(path) + list(extra))
    own = chain[:len(chain) - len(extra)]
    flow_at = _flow_ancestor(own)
    if flow_at is None:
        return expected, chain, None
    if flow_edit is not None:
        try:
            new_text = flow_edit(doc, chain)
            if new_text is not None:
                return expected, chain, _verify(new_text, expected, path)
        except YamlEditError:
            pass
    outer = own[flow_at]
    if _has_comment(doc, outer):
        raise YamlEditError('editing %s: the flow-style collection ([...] or {...}) on line %d holds comments that '
                            'this edit would drop (nothing written); write that collection in block style (one item '
                            'per line, "- " before each), then run again'
                            % (path_text(path), doc.text.count('\n', 0, outer.start) + 1))
    return expected, chain, _verify(_replace_flow(doc, path, own, flow_at, expected), expected, path)


def _has_comment(doc, node):
    """Whether the text of the flow collection ``node`` holds a comment (a ``#`` after a blank, outside quotes)."""
    text = doc.text
    quote = None
    pos = node.start
    while pos < node.end:
        char = text[pos]
        if quote == '"' and char == '\\':
            pos += 2
            continue
        if quote:
            if char == quote:
                if quote == "'" and text[pos + 1:pos + 2] == "'":
                    pos += 2
                    continue
                quote = None
        elif char in '\'"' and (pos == node.start or text[pos - 1] in ' \t\n[{,:'):
            quote = char
        elif char == '#' and text[pos - 1] in ' \t\n':
            return True
        pos += 1
    return False


def _flow_item_end(doc, node):
    end = doc.content_end(node)
    return node.start if end is None else end


def _flow_insert(doc, container, last_start, last_end, new):
    """Text with ``new`` (flow text of one or more items) added after the last item of the flow collection
    ``container`` whose last item ends at ``last_end``."""
    text = doc.text
    close = container.end - 1
    pos = last_end
    while pos < close and text[pos] in ' \t':
        pos += 1
    has_comma = pos < close and text[pos] == ','
    after = pos + 1 if has_comma else last_end
    closing_line = doc.line_start(close)
    if '\n' not in text[container.start:container.end] or closing_line <= doc.line_start(last_end):
        # the closing bracket follows the last item on its line
        return text[:after] + (' ' + new + ',' if has_comma else ', ' + new) + text[after:]
    # one item per line: the new one on its own line, indented like the line of the last item
    line = doc.line_start(last_start)
    indent = len(text[line:]) - len(text[line:].lstrip(' '))
    insert_at = doc.line_end(last_end)
    comma = '' if has_comma else ','
    return (text[:last_end] + comma + text[last_end:insert_at] + ' ' * indent + new + (',' if has_comma else '') +
            '\n' + text[insert_at:])


def _flow_remove(doc, container, index, starts, ends):
    """Text without item ``index`` of the flow collection ``container`` (items span ``starts[i]:ends[i]``); the
    comments and line breaks around the other items stay."""
    text = doc.text
    if index + 1 < len(starts):
        cut_end = text.find(',', ends[index], starts[index + 1])
        if cut_end < 0:
            return None
        cut_end += 1
        while cut_end < starts[index + 1] and text[cut_end] in ' \t':
            cut_end += 1
        cut_start = starts[index]
        if text[cut_end:cut_end + 1] == '\n' and doc.only_spaces_before(cut_start):
            cut_start, cut_end = doc.line_start(cut_start), cut_end + 1
        return text[:cut_start] + text[cut_end:]
    start, after = starts[index], ends[index]
    pos = after
    while pos < container.end - 1 and text[pos] in ' \t':
        pos += 1
    if text[pos:pos + 1] == ',':
        # a trailing comma after the last item: the item and its comma go, the comma before it stays
        cut_end = pos + 1
        while text[cut_end:cut_end + 1] in (' ', '\t'):
            cut_end += 1
        if doc.only_spaces_before(start) and text[cut_end:cut_end + 1] == '\n':
            start, cut_end = doc.line_start(start), cut_end + 1
        return text[:start] + text[cut_end:]
    comma = text.rfind(',', ends[index - 1], start)
    if comma < 0:
        return None
    if doc.only_spaces_before(start):
        line = doc.line_start(start)
        if text[after:doc.line_end(after)].strip() == '':
            return text[:comma] + text[comma + 1:line] + text[doc.line_end(after):]
        return text[:comma] + text[comma + 1:start] + text[after:]
    return text[:comma] + text[after:]


def _replace_value(text, path, value):
    doc = _Text(text)
    if same_data(get_value(doc.data, path), value):
        return text

    def flow_edit(doc, chain):
        node = chain[-1]
        if node.kind in ('map', 'seq') and not node.children and len(chain) > 1 and not chain[-2].flow:
            return None  # an empty [] or {} in block context becomes a block (below)
        return doc.text[:node.start] + flow_text(value) + doc.text[_flow_item_end(doc, node):]
    expected, chain, done = _begin_edit(doc, path, _set(value), flow_edit=flow_edit)
    if done is not None:
        return done
    node = chain[-1]
    simple_new = not isinstance(value, (dict, list)) and _Emitter.block_scalar(value, 0) is None
    if node.kind == 'scalar' and not node.block_scalar and not node.implicit_null and simple_new:
        new_text = doc.text[:node.start] + scalar_text(value) + doc.text[node.end:]
        return _verify(new_text, expected, path)
    return _verify(_replace_in_parent(doc, path, chain, value), expected, path)


def _replace_flow(doc, path, chain, flow_at, expected):
    """Re-render the outermost flow collection around the edit; an empty one in block context becomes block."""
    flow_path = path[:flow_at + 1]
    node = chain[flow_at]
    new_value = get_value(expected, flow_path)
    if not node.children and flow_at > 0 and not chain[flow_at - 1].flow and new_value:
        return _replace_in_parent(doc, flow_path, chain[:flow_at + 1], new_value)
    return doc.text[:node.start] + flow_text(new_value) + doc.text[node.end:]


@_keeps_line_ends
def append_sequence_item(text, path, item):
    """Append ``item`` to the sequence at ``path`` (a null value becomes a one-item sequence)."""
    return append_sequence_items(text, path, [item])


@_keeps_line_ends
def append_sequence_items(text, path, items):
    """Append ``items`` to the sequence at ``path`` in one splice (a null value becomes a sequence of them).

    One parse and one verification for any number of items: a batch of entries added to a long list (for
    example 500 ``generators:`` of a ``kustomization.yaml``) costs about as much as one.
    """
    items = list(items)
    if not items:
        return text
    doc = _Text(text)
    current = get_value(doc.data, path)
    if current is None:
        return _replace_value(text, path, items)
    if not isinstance(current, list):
        raise YamlEditError('path %s is not a sequence' % path_text(path))

    def change(parent, step):
        parent[step].extend(copy.deepcopy(items))

    def flow_edit(doc, chain):
        seq = chain[-1]
        if not seq.flow or not seq.children:
            return None
        return _flow_insert(doc, seq, seq.children[-1].start, _flow_item_end(doc, seq.children[-1]), ', '.join(flow_text(i) for i in items))
    expected, chain, done = _begin_edit(doc, path, change, flow_edit=flow_edit)
    if done is not None:
        return done
    seq = chain[-1]
    dash_col = doc.col(seq.start)
    end = doc.content_end(seq)
    pos = doc.after_owned_comments(end, dash_col)
    lines = _Emitter(_Style(doc, chain[0], seq)).sequence(items, dash_col, ())
    return _verify(_insert_lines(doc.text, pos, lines), expected, path)


@_keeps_line_ends
def append_to_sequences(text, items_by_path):
    """Append items to several sequences of ``text`` in one pass: ``items_by_path`` is a list of ``(path, items)``.

    One parse, one splice pass and one verification for all block sequences (the style of each document is learnt
    once); a sequence that is null, empty, flow-style or inside a flow collection gets its items through
    ``append_sequence_items`` afterwards. Nothing is changed when any path is not a sequence.
    """
    items_by_path = [(list(path), list(items)) for path, items in items_by_path if items]
    if not items_by_path:
        return text
    doc = _Text(text)
    expected = copy.deepcopy(doc.data)
    splices = []
    later = []
    styles = {}
    for path, items in items_by_path:
        current = get_value(doc.data, path)
        if current is not None and not isinstance(current, list):
            raise YamlEditError('path %s is not a sequence' % path_text(path))
        chain = doc.locate(path)
        seq = chain[-1]
        if not current or seq.kind != 'seq' or _flow_ancestor(chain) is not None:
            later.append((path, items))
            continue
        get_value(expected, path).extend(copy.deepcopy(items))
        if path[0] not in styles:
            styles[path[0]] = _Style(doc, chain[0]).common
        dash_col = doc.col(seq.start)
        pos = doc.after_owned_comments(doc.content_end(seq), dash_col)
        lines = _Emitter(_Style(doc, chain[0], seq, common=styles[path[0]])).sequence(items, dash_col, ())
        splices.append((pos, len(splices), lines))
    new_text = doc.text
    for pos, dummy, lines in sorted(splices, reverse=True):
        new_text = _insert_lines(new_text, pos, lines)
    if splices:
        new_text = _verify(new_text, expected, [])
    for path, items in later:
        new_text = append_sequence_items(new_text, path, items)
    return new_text


@_keeps_line_ends
def replace_sequence_item(text, path, index, item):
    """Replace item ``index`` of the sequence at ``path``, keeping the comments of unchanged parts."""
    current = get_value(text, path)
    if not isinstance(current, list) or not 0 <= index < len(current):
        raise YamlEditError('path %s has no item %r' % (path_text(path), index))
    return update_value(text, list(path) + [index], item)


@_keeps_line_ends
def remove_sequence_item(text, path, index):
    """Remove item ``index`` of the sequence at ``path`` with its own comments; the last one leaves ``[]``."""
    doc = _Text(text)
    current = get_value(doc.data, path)
    if not isinstance(current, list) or not 0 <= index < len(current):
        raise YamlEditError('path %s has no item %r' % (path_text(path), index))
    if len(current) == 1:
        return _replace_value(text, path, [])

    def change(parent, step):
        del parent[step][index]

    def flow_edit(doc, chain):
        seq = chain[-1]
        if not seq.flow:
            return None
        return _flow_remove(doc, seq, index, [c.start for c in seq.children],
                            [_flow_item_end(doc, c) for c in seq.children])
    expected, chain, done = _begin_edit(doc, path, change, flow_edit=flow_edit)
    if done is not None:
        return done
    seq = chain[-1]
    dash = doc.dash(seq, index)
    dash_col = doc.col(dash)
    if not doc.only_spaces_before(dash):
        new_text = doc.text[:dash] + doc.text[doc.dash(seq, index + 1):]
        return _verify(new_text, expected, path)
    content = doc.content_end(seq.children[index])
    content = content if content is not None else dash + 1
    end = doc.after_owned_comments(content, dash_col)
    if index + 1 < len(seq.children):
        # comment lines right above the next item's dash (no blank line between) are that item's: they stay
        keep_from = doc.line_start(doc.dash(seq, index + 1))
        while keep_from > doc.line_end(content):
            above = doc.line_start(keep_from - 1)
            if not doc.text[above:keep_from].lstrip(' ').startswith('#'):
                break
            keep_from = above
        end = max(min(end, keep_from), doc.line_end(content))
    start = _own_leading_comments(doc, doc.line_start(dash), dash_col)
    return _verify(doc.text[:start] + doc.text[end:], expected, path)


def alias_at(text, path):
    """The anchor name when the node at ``path`` is an alias (``*name``), else None."""
    node = _Text(text).locate(list(path))[-1]
    return node.anchor if node.kind == 'alias' else None


def _own_leading_comments(doc, line_start, col):
    """Start of the comment lines directly above ``line_start`` indented exactly ``col``."""
    start = line_start
    while start > 0:
        prev = doc.line_start(start - 1)
        line = doc.text[prev:start]
        stripped = line.lstrip(' ')
        if not stripped.startswith('#') or len(line) - len(stripped) != col:
            break
        start = prev
    return start


@_keeps_line_ends
def set_mapping_value(text, path, key, value):
    """Set ``key`` of the mapping at ``path`` to ``value``: replace it in place or add it at the end."""
    doc = _Text(text)
    current = get_value(doc.data, path)
    if current is None:
        return _replace_value(text, path, {key: value})
    if not isinstance(current, dict):
        raise YamlEditError('path %s is not a mapping' % path_text(path))
    if key in current:
        return update_value(text, list(path) + [key], value)

    def change(parent, step):
        parent[step][key] = copy.deepcopy(value)

    def flow_edit(doc, chain):
        mapping = chain[-1]
        if not mapping.flow or not mapping.children:
            return None
        last_key, last_value = mapping.children[-1]
        end = doc.content_end(last_value)
        return _flow_insert(doc, mapping, last_key.start, end if end is not None else last_key.end,
                            '%s: %s' % (flow_text(key), flow_text(value)))
    expected, chain, done = _begin_edit(doc, path, change, flow_edit=flow_edit)
    if done is not None:
        return done
    mapping = chain[-1]
    key_col = doc.col(mapping.start)
    pos = doc.after_owned_comments(doc.content_end(mapping), key_col)
    lines = _Emitter(_Style(doc, chain[0], mapping)).pair(key, value, key_col, ())
    return _verify(_insert_lines(doc.text, pos, lines), expected, path)


@_keeps_line_ends
def remove_mapping_key(text, path, key):
    """Remove ``key`` (and the comments indented under it) from the mapping at ``path``."""
    doc = _Text(text)
    current = get_value(doc.data, path)
    if not isinstance(current, dict):
        raise YamlEditError('path %s is not a mapping' % path_text(path))
    if key not in current:
        return text
    if len(current) == 1:
        return _replace_value(text, path, {})

    def change(parent, step):
        del parent[step][key]

    def flow_edit(doc, chain):
        mapping = chain[-2]
        if not mapping.flow:
            return None
        ends = []
        for key_node, value_node in mapping.children:
            end = doc.content_end(value_node)
            ends.append(end if end is not None else key_node.end)
        return _flow_remove(doc, mapping, list(current.keys()).index(key), [k.start for k, v in mapping.children], ends)
    expected, chain, done = _begin_edit(doc, path, change, extra=[key], flow_edit=flow_edit)
    if done is not None:
        return done
    mapping = chain[-2]
    index = list(current.keys()).index(key)
    key_node, value_node = mapping.children[index]
    if not doc.only_spaces_before(key_node.start):
        # first key on a "- " line: pull the next key up to it
        new_text = doc.text[:key_node.start] + doc.text[mapping.children[index + 1][0].start:]
        return _verify(new_text, expected, path)
    end = doc.content_end(value_node)
    end = end if end is not None else doc.content_end(key_node)
    end = doc.after_owned_comments(end, doc.col(key_node.start))
    return _verify(doc.text[:doc.line_start(key_node.start)] + doc.text[end:], expected, path)


@_keeps_line_ends
def update_value(text, path, value):
    """Make the value at ``path`` equal ``value`` with the smallest edits (comments of unchanged parts stay)."""
    doc = _Text(text)
    current = get_value(doc.data, path)
    if same_data(current, value):
        return text
    expected = _expected(doc.data, path, _set(value))
    chain = doc.locate(path)
    node = chain[-1]
    block = node.kind in ('map', 'seq') and not node.flow and _flow_ancestor(chain) is None
    if block and isinstance(current, dict) and isinstance(value, dict) and current and value:
        for key, item in value.items():
            if key in current:
                if not same_data(current[key], item):
                    text = update_value(text, list(path) + [key], item)
            else:
                text = set_mapping_value(text, path, key, item)
        for key in current:
            if key not in value:
                text = remove_mapping_key(text, list(path), key)
        return _verify(text, expected, path)
    if block and isinstance(current, list) and isinstance(value, list) and len(current) == len(value) and value:
        for index, item in enumerate(value):
            if not same_data(current[index], item):
                text = update_value(text, list(path) + [index], item)
        return _verify(text, expected, path)
    return _replace_value(text, path, value)
