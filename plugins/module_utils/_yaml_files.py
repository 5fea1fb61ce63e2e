# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files of the Git working copy: locks, atomic writes, text reading and writing, crash recovery.

Every writer of the collection goes through here: ``edit_file`` locks the file (and its working copy), reads it,
applies a transform and writes the result atomically; ``write_files`` writes several files as one journaled change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import difflib
import errno
import fcntl
import hashlib
import json
import os
import random
import re
import signal
import socket
import tempfile
import threading
import time
from collections import Counter

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError


LOCK_DIR_NAME = 'ztp-sno-expand-locks'
# How long a run waits for a lock held by another run (seconds); the environment variable overrides it.
LOCK_TIMEOUT = 600
LOCK_TIMEOUT_ENV = 'ZTP_LOCK_TIMEOUT'
UTF8_BOM = '\ufeff'
# Temporary files of the writers: '.<name>.ztp-tmp-<pid>-<random>' beside the file. Publishing never takes them and the
# next writer in the folder (or the next checkout or publish of the working copy) removes those of ended processes.
TEMP_MARK = '.ztp-tmp-'
_TEMP_NAME = re.compile(r'^\..+\.ztp-tmp-([0-9]+)-[0-9a-z]+$')
# Tests only: make this process stop or wait at a given point, to test kills and races with real processes.
# '<point>:<n>:kill' sends SIGKILL to this process at the n-th time it reaches <point>; '<point>:<n>:wait=<file>'
# creates <file>.reached there and waits until <file> exists. Several entries are separated by ';'.
TEST_FAULT_ENV = 'ZTP_SNO_EXPAND_TEST_FAULT'
_FAULT_COUNTS = Counter()


def lock_path(path):
    """The lock file used for ``path``: outside the checkout, named after the real path."""
    digest = hashlib.sha256(os.path.realpath(path).encode('utf-8')).hexdigest()
    return os.path.join(tempfile.gettempdir(), LOCK_DIR_NAME, digest + '.lock')


def lock_timeout():
    """Seconds to wait for a lock: ``ZTP_LOCK_TIMEOUT`` from the environment, else ``LOCK_TIMEOUT``."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV)
    if raw is None or not raw.strip():
        return LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not 0 <= value < float('inf'):
        raise ZtpInputError(LOCK_TIMEOUT_ENV, raw, 'a number of seconds to wait for a lock held by another run, 0 or '
                                                   'more (default %d); fix or unset the environment variable' % LOCK_TIMEOUT)
    return value


class LockTimeout(ZtpInputError):
    """Another run held the lock on a file or working copy for longer than the lock timeout (nothing was written)."""

    def __init__(self, target, lock_file, holder, timeout):
        self.target = target
        self.lock_file = lock_file
        self.holder = holder
        self.timeout = timeout
        super(LockTimeout, self).__init__('lock', lock_file, 'held by another run', where=target)

    def describe(self):
        holder = self.holder or {}
        if holder.get('pid'):
            who = 'process %s on host %s, holding it since %s' % (holder.get('pid'), holder.get('host', '(unknown host)'),
                                                                  holder.get('started', '(unknown time)'))
            stop = 'let that run finish, or stop it if it hangs (process %s on host %s)' % (
                holder.get('pid'), holder.get('host', '(unknown host)'))
        else:
            who = 'holder unknown: the lock file does not name it'
            stop = 'let the other run (ansible-playbook or a ztp module) on this host finish, or stop it if it hangs'
        return ('%s: another run holds the lock %s (%s); waited %g seconds, nothing was written. Fix: %s, then run '
                'again; to wait longer, set the environment variable %s (seconds, default %d) for the task'
                % (self.where, self.lock_file, who, self.timeout, stop, LOCK_TIMEOUT_ENV, LOCK_TIMEOUT))


_HELD = {}


def _lock_holder(lock_file):
    """What the holder of ``lock_file`` wrote into it (``{pid, host, started, path}``), or None."""
    try:
        with open(lock_file, 'r', encoding='utf-8') as handle:
            holder = json.loads(handle.read())
    except (IOError, OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


@contextlib.contextmanager
def file_lock(path, timeout=None):
    """Hold an exclusive lock for editing ``path`` (threads and processes of this host).

    Waits at most ``timeout`` seconds (default: ``lock_timeout()``) for another holder, then raises
    ``LockTimeout`` naming the lock file and its holder. The holder's pid, host and start time are written into
    the lock file while it is held.
    """
    timeout = lock_timeout() if timeout is None else timeout
    lock_file = lock_path(path)
    key = (lock_file, threading.get_ident())
    if _HELD.get(key):
        # this thread holds it already (a writer inside a batch that holds the working copy's lock)
        _HELD[key] += 1
        try:
            yield lock_file
        finally:
            _HELD[key] -= 1
        return
    try:
        os.makedirs(os.path.dirname(lock_file), 0o700)
    except OSError:
        if not os.path.isdir(os.path.dirname(lock_file)):
            raise
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        pause = 0.02
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockTimeout(os.path.realpath(path), lock_file, _lock_holder(lock_file), timeout)
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.5)
        try:
            holder = {'pid': os.getpid(), 'host': socket.gethostname(), 'path': os.path.realpath(path),
                      'started': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode('utf-8'), 0)
            _HELD[key] = 1
            try:
                yield lock_file
            finally:
                _HELD.pop(key, None)
        finally:
            try:
                os.ftruncate(fd, 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _working_copy_root(folder):
    """The nearest folder at or above ``folder`` that holds ``.git`` (the working copy), or None."""
    current = folder
    while True:
        if os.path.lexists(os.path.join(current, '.git')):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def working_copy_root(path):
    """The Git working copy that holds ``path`` (a file or a folder; its real folder), or None."""
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    return _working_copy_root(os.path.realpath(folder))


@contextlib.contextmanager
def checkout_lock(path, timeout=None):
    """Hold the lock of the Git working copy that holds ``path`` (the lock ``ztp_gitops_checkout`` and
    ``ztp_gitops_publish`` take), and finish or clean up what an interrupted writer left there first.

    Every writer holds it across read, plan and write, so that a checkout never moves the files between the read
    and the write of an edit (the edit would be computed from the old text and revert the merged change). Outside a
    working copy it locks nothing. Yields the working copy root or None."""
    root = working_copy_root(path)
    if root is None:
        yield None
        return
    with file_lock(root, timeout):
        recover_writes(root, walk=False)
        yield root


def fault_point(point):
    """Tests only (see ``TEST_FAULT_ENV``): stop or wait here when the environment asks for it."""
    spec = os.environ.get(TEST_FAULT_ENV)
    if not spec:
        return
    for entry in spec.split(';'):
        name, _sep, rest = entry.partition(':')
        count, _sep, action = rest.partition(':')
        if name != point:
            continue
        _FAULT_COUNTS[point] += 1
        if str(_FAULT_COUNTS[point]) != count:
            continue
        if action == 'kill':
            os.kill(os.getpid(), signal.SIGKILL)
        elif action.startswith('wait='):
            release = action[len('wait='):]
            with open(release + '.reached', 'w') as handle:
                handle.write(str(os.getpid()))
            deadline = time.monotonic() + 120
            while not os.path.exists(release) and time.monotonic() < deadline:
                time.sleep(0.05)


def is_temporary_name(path):
    """Whether ``path`` names a temporary file of these writers (never published, removed when left over)."""
    return _TEMP_NAME.match(os.path.basename(path)) is not None


def _temporary_path(target):
    suffix = ''.join(random.choice('0123456789abcdefghijklmnopqrstuvwxyz') for dummy in range(8))
    return os.path.join(os.path.dirname(target), '.%s%s%d-%s' % (os.path.basename(target), TEMP_MARK, os.getpid(), suffix))


def _process_alive(pid):
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _journal_path(root):
    return lock_path(root)[:-len('.lock')] + '.journal'


def recover_writes(root, walk=True):
    """Finish a batch of writes that was interrupted after all its temporary files were complete (its journal names
    them; the renames are done now), then remove the temporary files of ended processes: those in the folders of the
    journal, or (``walk``) anywhere in the working copy ``root``. Returns the paths finished and removed."""
    done = {'finished': [], 'removed': []}
    journal = _journal_path(root)
    folders = set()
    try:
        with open(journal, 'r', encoding='utf-8') as handle:
            record = json.loads(handle.read())
        entries = record.get('files', [])
        if record.get('pid') != os.getpid() and _process_alive(int(record.get('pid') or 0)):
            entries = []  # its writer still runs (it does not hold the lock): not left over
            journal = None
    except (IOError, OSError, ValueError, AttributeError, TypeError):
        entries = []
    for tmp, target in entries:
        folders.add(os.path.dirname(target))
        if os.path.exists(tmp):
            os.replace(tmp, target)
            done['finished'].append(target)
    if journal and os.path.exists(journal):
        os.unlink(journal)
    if walk:
        for folder, dirs, dummy in os.walk(root):
            dirs[:] = [d for d in dirs if d != '.git']
            folders.add(folder)
    for folder in folders:
        done['removed'].extend(_remove_left_overs(folder))
    return done


def _remove_left_overs(folder):
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _TEMP_NAME.match(name)
        if match and not _process_alive(int(match.group(1))):
            try:
                os.unlink(os.path.join(folder, name))
                removed.append(os.path.join(folder, name))
            except OSError:
                pass
    return removed


def write_files(texts):
    """Write several files as one change: ``texts`` maps each path to its text, or to ``(text, bom)``.

    Every temporary file is written and synced first; then a journal naming them is written (outside the working
    copy), then they are renamed, new files first; the journal goes last. A run killed before the journal leaves only
    temporary files (removed by the next writer, never published); a run killed during the renames is finished by
    the next writer or checkout of the working copy (``recover_writes``). Hold ``checkout_lock`` around it.
    """
    items = []
    for path, value in texts.items():
        text, bom = value if isinstance(value, tuple) else (value, False)
        items.append((write_target(path), (UTF8_BOM + text) if bom else text))
    items.sort(key=lambda item: os.path.exists(item[0]))  # new files first: a listing never names a missing file
    temps = []
    try:
        for target, text in items:
            temps.append((_write_temporary(target, text), target))
        fault_point('temporaries-written')
        root = working_copy_root(items[0][0]) if items else None
        journal = _journal_path(root) if root and len(items) > 1 else None
        if journal:
            _write_journal(journal, temps)
        for tmp, target in temps:
            fault_point('rename')
            os.replace(tmp, target)
        for folder in sorted(set(os.path.dirname(target) for dummy, target in temps)):
            _sync_folder(folder)
        if journal:
            os.unlink(journal)
    except BaseException:
        for tmp, dummy in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise


def _write_journal(journal, temps):
    folder = os.path.dirname(journal)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.journal.')
    with os.fdopen(fd, 'w', encoding='utf-8') as handle:
        handle.write(json.dumps({'pid': os.getpid(), 'files': [list(pair) for pair in temps]}))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, journal)
    _sync_folder(folder)


def _sync_folder(folder):
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_temporary(target, text):
    """A complete, synced temporary copy of ``text`` beside ``target`` with ``target``'s mode; returns its path."""
    folder = os.path.dirname(target)
    _remove_left_overs(folder)
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp = _temporary_path(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', newline='') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return tmp


def write_target(path):
    """The real file that an edit of ``path`` writes: ``path`` itself, or the file a symbolic link points at.

    A link is followed only to a file inside the same Git working copy (or, outside any working copy, inside
    the link's folder); any other link is refused, since an edit there would never be published."""
    real = os.path.realpath(path)
    if not os.path.islink(path):
        return real
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    root = _working_copy_root(folder)
    boundary = root or folder
    if os.path.commonpath([real, boundary]) != boundary or os.path.isdir(real):
        raise ZtpInputError(
            'path', path, 'a file inside %s %s: it is a symbolic link to %s, %s, so the edit would not be published; '
            'replace the link by a copy of the file, or point it at a file inside %s; nothing was written'
            % ('the working copy' if root else 'the folder', boundary, real,
               'a folder' if os.path.isdir(real) else 'outside it', boundary), where=path)
    return real


def atomic_write(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder; keep the file mode.

    A symbolic link stays a link: its target is written (see ``write_target``). The temporary file is named so that
    publishing never takes it, and removed by the next writer of the folder if this process is killed."""
    path = write_target(path)
    tmp = _write_temporary(path, text)
    try:
        fault_point('rename')
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _sync_folder(os.path.dirname(path))


_UTF16_32_BOMS = ((b'\xff\xfe\x00\x00', 'UTF-32'), (b'\x00\x00\xfe\xff', 'UTF-32'),
                  (b'\xff\xfe', 'UTF-16'), (b'\xfe\xff', 'UTF-16'))


def decode_text(data, path):
    """``data`` (the bytes of the file ``path``) as text; a leading UTF-8 byte order mark is kept as ``UTF8_BOM``.

    Text that is not UTF-8 is an input error naming the file, what it seems to be and how to convert it."""
    for bom, encoding in _UTF16_32_BOMS:
        if data.startswith(bom):
            raise ZtpInputError('path', path, 'a UTF-8 file: this file is %s (it starts with a %s byte order mark); '
                                'convert it to UTF-8, for example: iconv -f %s -t UTF-8 FILE > FILE.new && mv FILE.new '
                                'FILE; nothing was written' % (encoding, encoding, encoding), where=path)
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        line = data.count(b'\n', 0, exc.start) + 1
        if b'\x00' in data:
            seems = 'it holds NUL bytes, so it may be UTF-16 or UTF-32 without a byte order mark'
            source = 'UTF-16'
        else:
            seems = 'it may be Latin-1 or Windows-1252'
            source = 'LATIN1'
        raise ZtpInputError('path', path, 'a UTF-8 file: byte 0x%02x on line %d is not UTF-8 (%s); convert the file '
                            'to UTF-8, for example: iconv -f %s -t UTF-8 FILE > FILE.new && mv FILE.new FILE; nothing '
                            'was written' % (data[exc.start], line, seems, source), where=path)


def read_text(path):
    """The text of ``path`` (a missing file is an empty text) and whether it starts with a UTF-8 byte order mark.

    The mark is not part of the text: an edit works after it and ``write_text(path, text, bom)`` puts it back."""
    if not os.path.exists(path):
        return '', False
    with open(path, 'rb') as handle:
        text = decode_text(handle.read(), path)
    if text.startswith(UTF8_BOM):
        return text[len(UTF8_BOM):], True
    return text, False


def write_text(path, text, bom=False):
    """``atomic_write`` of ``text``, after a UTF-8 byte order mark if ``bom``."""
    atomic_write(path, (UTF8_BOM + text) if bom else text)


def edit_file(path, transform, check_mode=False):
    """Lock ``path`` (and its Git working copy, see ``checkout_lock``), apply ``transform(text) -> new_text`` and
    write the result if it changed.

    A missing file is passed to ``transform`` as an empty text; a UTF-8 byte order mark is kept out of the text
    and written back. Returns ``{changed, diff: {before, after, before_header, after_header}}``.
    """
    write_target(path)  # a link out of the working copy is refused, in check mode too
    with checkout_lock(path), file_lock(path):
        before, bom = read_text(path)
        fault_point('edit-read')
        after = transform(before)
        changed = after != before
        if changed and not check_mode:
            write_text(path, after, bom)
    return {
        'changed': changed,
        'diff': {'before': before, 'after': after, 'before_header': path, 'after_header': path},
    }


def unified_diff(before, after, path='file'):
    """A unified diff text of two versions of a file (for messages and tests)."""
    return ''.join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), path, path))
