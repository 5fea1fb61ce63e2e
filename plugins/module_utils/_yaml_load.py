# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading YAML: the data of a file's documents with ruamel.yaml's safe YAML 1.2 rules, parsed by libyaml when it is
available, and the plain-data helpers the edits compare with.

Splicing edits into the text is ``yaml_edit``; reading and writing the files themselves is ``yaml_files``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import traceback

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpError

# the one guarded import of ruamel.yaml: everything else that needs it takes it from here
try:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError as RuamelYAMLError
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString
    HAS_RUAMEL = True
    RUAMEL_IMPORT_ERROR = None
except ImportError:
    HAS_RUAMEL = False
    RUAMEL_IMPORT_ERROR = traceback.format_exc()
    RuamelYAMLError = ValueError
    DoubleQuotedScalarString = LiteralScalarString = str

try:
    # libyaml through PyYAML: parsing in C, about 20 times faster than ruamel.yaml's pure Python parser.
    # It finds node positions and reads data with the YAML 1.2 rules of ruamel.yaml (below); ruamel.yaml
    # stays the reference and the fallback.
    import yaml as _pyyaml
    from yaml.cyaml import CParser as _CParser
    from yaml.constructor import ConstructorError as _ConstructorError, SafeConstructor as _SafeConstructor
    from yaml.resolver import BaseResolver as _BaseResolver
    HAS_LIBYAML = True
except ImportError:
    HAS_LIBYAML = False


class YamlEditError(ZtpError):
    """A file is not valid YAML, or an edit could not be made without changing more than intended (nothing was
    written)."""


try:
    from yaml import YAMLError as _LibYamlError
except ImportError:
    _LibYamlError = ValueError

# what a parse by fast_load_all or ruamel.yaml raises for text that is not valid YAML
PARSE_ERRORS = (RuamelYAMLError, _LibYamlError)


def double_quoted(text):
    """``text`` to be written in double quotes by ruamel.yaml."""
    return DoubleQuotedScalarString(text)


def literal_block(text):
    """``text`` to be written as a literal block (``|``) by ruamel.yaml."""
    return LiteralScalarString(text)


def require_ruamel():
    """Raise ``YamlEditError`` when the Python library ruamel.yaml is missing."""
    if not HAS_RUAMEL:
        raise YamlEditError('the Python library ruamel.yaml is required: %s' % RUAMEL_IMPORT_ERROR)


def ruamel_yaml(typ, pure=False):
    """A ruamel.yaml ``YAML`` instance (``YamlEditError`` when the library is missing)."""
    require_ruamel()
    return YAML(typ=typ, pure=pure)


if HAS_LIBYAML:
    class _Resolver12(_BaseResolver):
        """The implicit types of YAML 1.2 as ruamel.yaml resolves them (``yes`` and ``010`` stay what 1.2 says)."""

    for _tag, _regexp, _first in (
            ('bool', r'^(?:true|True|TRUE|false|False|FALSE)$', 'tTfF'),
            ('float', r'''^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$''', '-+0123456789.'),
            ('int', r'''^(?:[-+]?0b[0-1_]+
                |[-+]?0o?[0-7_]+
                |[-+]?[0-9_]+
                |[-+]?0x[0-9a-fA-F_]+)$''', '-+0123456789'),
            ('merge', r'^(?:<<)$', '<'),
            ('null', r'^(?:~|null|Null|NULL|)$', ['~', 'n', 'N', '']),
            ('timestamp', r'''^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
                (?:[Tt]|[ \t]+)[0-9][0-9]?
                :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
                (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$''', '0123456789'),
            ('value', r'^(?:=)$', '=')):
        _Resolver12.add_implicit_resolver('tag:yaml.org,2002:' + _tag, re.compile(_regexp, re.X), list(_first))

    class _Constructor12(_SafeConstructor):
        """PyYAML's safe constructor with ruamel.yaml's YAML 1.2 integers and its refusal of duplicate keys."""

        def construct_yaml_int(self, node):
            value = self.construct_scalar(node).replace('_', '')
            sign = -1 if value[0] == '-' else 1
            if value[0] in '+-':
                value = value[1:]
            for prefix, base in (('0b', 2), ('0x', 16), ('0o', 8)):
                if value.startswith(prefix):
                    return sign * int(value[2:], base)
            return sign * int(value)

        def construct_mapping(self, node, deep=False):
            if isinstance(node, _pyyaml.MappingNode):
                seen = set()
                for key_node, dummy in node.value:
                    if key_node.tag == 'tag:yaml.org,2002:merge':
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        duplicate = key in seen
                        seen.add(key)
                    except TypeError:
                        continue
                    if duplicate:
                        raise _ConstructorError('while constructing a mapping', node.start_mark,
                                                'found duplicate key "%s"' % (key,), key_node.start_mark)
            return _SafeConstructor.construct_mapping(self, node, deep=deep)

    _Constructor12.add_constructor('tag:yaml.org,2002:int', _Constructor12.construct_yaml_int)

    class _FastLoader(_CParser, _Constructor12, _Resolver12):  # pylint: disable=too-many-ancestors
        def __init__(self, stream):
            _CParser.__init__(self, stream)
            _Constructor12.__init__(self)
            _Resolver12.__init__(self)


def _use_libyaml(text):
    # a %YAML directive may ask for 1.1 rules, which only ruamel.yaml applies like before
    return HAS_LIBYAML and not (text.startswith('%') or '\n%' in text)


def fast_load_all(text):
    """Data of every document of ``text`` with ruamel.yaml's safe YAML 1.2 rules (libyaml when available).

    Parse errors are raised as they come (``yaml.YAMLError`` or ruamel's errors)."""
    if _use_libyaml(text):
        loader = _FastLoader(text)
        try:
            docs = []
            while loader.check_data():
                docs.append(loader.get_data())
            return docs
        finally:
            loader.dispose()
    return list(ruamel_yaml('safe', pure=True).load_all(text))


def parse_events(text):
    """The parser's events for ``text`` (libyaml when available), each with ``start_mark`` and ``end_mark``."""
    try:
        if _use_libyaml(text):
            return list(_pyyaml.parse(text, Loader=_pyyaml.CSafeLoader))
        return list(ruamel_yaml('rt').parse(text))
    except YamlEditError:
        raise
    except Exception as exc:  # ruamel raises many different error classes
        raise YamlEditError('the file is not valid YAML: %s' % exc)


def load_documents(text):
    """Return the plain data (dict/list/scalars) of every document in ``text``."""
    try:
        return fast_load_all(text)
    except YamlEditError:
        raise
    except Exception as exc:  # ruamel raises many different error classes
        raise YamlEditError('the file is not valid YAML: %s' % exc)


def plain(value):
    """Deep copy of ``value`` with Ansible's tagged/lazy containers and strings turned into plain Python types
    (ruamel.yaml represents only those; in a module they arrive plain already)."""
    if isinstance(value, dict):
        return dict((plain(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def same_data(a, b):
    """Strict equality of plain YAML data (``True`` differs from ``1``, ``1`` from ``1.0``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(k in b and same_data(v, b[k]) for k, v in a.items())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_data(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return a == b


def get_value(data_or_text, path):
    """Return the value at ``path`` of the documents (a text or the list from ``load_documents``)."""
    docs = load_documents(data_or_text) if isinstance(data_or_text, str) else data_or_text
    cur = docs
    for i, step in enumerate(path):
        if isinstance(cur, dict) and step in cur:
            cur = cur[step]
        elif isinstance(cur, list) and isinstance(step, int) and not isinstance(step, bool) and 0 <= step < len(cur):
            cur = cur[step]
        elif i == 0:
            raise YamlEditError('path %s not found: the file has %d document(s)' % (path_text(path), len(docs)))
        else:
            raise YamlEditError('path %s not found (stopped at %r)' % (path_text(path), path[i]))
    return cur


def path_text(path):
    return ''.join('[%r]' % p for p in path)
