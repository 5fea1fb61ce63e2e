# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors shared by the modules, filters and action plugins of ztp.sno_expand.

Every rejection of user input names the field, the value found and what is expected, so that a user
can fix the input without reading the code. Input errors are raised before anything is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ZtpInputError(ValueError):
    """One bad input value.

    ``field`` is a dotted path as the user wrote it (``nodes[0].bootMACAddress``), ``value`` the value
    found (never a secret), ``expected`` what would be accepted (and how to fix it), ``where`` the file or
    object the field belongs to, if any.
    """

    def __init__(self, field, value, expected, where=None):
        self.field = field
        self.value = value
        self.expected = expected
        self.where = where
        super(ZtpInputError, self).__init__(self.describe())

    def describe(self):
        prefix = "%s: " % self.where if self.where else ""
        return "%s%s: invalid value %r: %s" % (prefix, self.field, self.value, self.expected)


class ZtpInputErrors(ValueError):
    """Several input errors, reported together."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(ZtpInputErrors, self).__init__(
            "%d input error(s):\n- %s" % (len(self.errors), "\n- ".join(e.describe() for e in self.errors)))


def raise_if_any(errors):
    """Raise ``ZtpInputError`` for one error and ``ZtpInputErrors`` for several; do nothing for none."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ZtpInputErrors(errors)
