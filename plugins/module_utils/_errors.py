# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors shared by the modules, filters and action plugins of ztp.sno_expand.

Every rejection of user input names the field, the value found and what is expected, so that a user
can fix the input without reading the code. Input errors are raised before anything is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MASK = "********"
# Keys whose values are never echoed: any key containing one of these words, in any case.
SECRET_KEY_WORDS = ("password", "token", "secret")
# scheme://userinfo@ in a URL: the userinfo (user:password, or a token alone) is masked.
URL_USERINFO = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@\s]*)@")


def is_secret_key(key):
    """Whether a field or key name (``bmcPassword``, ``nodes[0].apiToken``) names a secret."""
    lowered = str(key).lower()
    return any(word in lowered for word in SECRET_KEY_WORDS)


def mask_url_credentials(text):
    """``text`` with the userinfo of every URL in it masked: ``https://admin:********@host/``; a userinfo
    without ``:`` is masked entirely (``https://********@host/``: it may be a token alone), except the user
    name of an SSH URL (``ssh://git@host/``)."""
    def mask(match):
        user, sep, _password = match.group(2).partition(":")
        if sep:
            return match.group(1) + user + ":" + MASK + "@"
        return match.group(1) + (user if "ssh" in match.group(1).lower() else MASK) + "@"

    return URL_USERINFO.sub(mask, text)


def redact(value, key=None):
    """``value`` as it may be echoed in a message or a result: values of secret keys (``is_secret_key``) masked,
    at any depth of dicts and lists, and credentials in URLs masked (``mask_url_credentials``)."""
    if key is not None and is_secret_key(key):
        return MASK
    if isinstance(value, dict):
        return dict((k, redact(v, k)) for k, v in value.items())
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    if isinstance(value, str):
        return mask_url_credentials(value)
    return value


class ZtpError(Exception):
    """The base of every error of this collection meant for the user: its message says what happened and what to
    do. Modules, action plugins and filters turn one into a result with ``error_result``."""


class ZtpInputError(ZtpError, ValueError):
    """One bad input value.

    ``field`` is a dotted path as the user wrote it (``nodes[0].bootMACAddress``), ``value`` the value
    found (kept and shown through ``redact``: never a secret), ``expected`` what would be accepted (and how to
    fix it), ``where`` the file or object the field belongs to, if any.
    """

    def __init__(self, field, value, expected, where=None):
        self.field = field
        self.value = redact(value, field.rsplit(".", 1)[-1] if isinstance(field, str) else None)
        self.expected = mask_url_credentials(expected) if isinstance(expected, str) else expected
        self.where = where
        super(ZtpInputError, self).__init__(self.describe())

    def describe(self):
        prefix = "%s: " % self.where if self.where else ""
        return "%s%s: invalid value %r: %s" % (prefix, self.field, self.value, self.expected)


class ZtpInputErrors(ZtpError, ValueError):
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


def error_result(exc):
    """A failed task result for ``exc``: ``{failed, msg}``, plus ``errors`` (one line each) for several input errors."""
    result = {"failed": True, "msg": str(exc)}
    if isinstance(exc, ZtpInputErrors):
        result["errors"] = [e.describe() for e in exc.errors]
    return result
