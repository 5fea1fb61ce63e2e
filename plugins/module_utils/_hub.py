# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hub access for the ztp.sno_expand modules, built on kubernetes.core.

Authentication is entirely kubernetes.core's: the modules take ``AUTH_ARG_SPEC`` (and the ``K8S_AUTH_*``
environment variables) and get their client from ``get_api_client``. This file adds small helpers on top
of the dynamic client (get/list/create/patch/delete returning plain dicts) and ``WatchSet``, a set of
list+watch streams that survive an API server restart: every stream lists, watches from the list's
``resourceVersion``, resumes after the server ends a watch, and lists again after ``410 Gone`` or a
connection error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

try:
    import queue
except ImportError:  # pragma: no cover - Python 2 only
    import Queue as queue  # noqa: N813

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpError, ZtpInputError, ZtpInputErrors
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
    HAS_K8S_COLLECTION = True
    K8S_COLLECTION_ERROR = None
except ImportError:
    HAS_K8S_COLLECTION = False
    K8S_COLLECTION_ERROR = traceback.format_exc()
    AnsibleK8SModule = None

try:
    from kubernetes import watch as k8s_watch
    from kubernetes.client.rest import ApiException
    from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError
    HAS_KUBERNETES = True
except ImportError:
    HAS_KUBERNETES = False

    class ApiException(Exception):
        status = None

    class ResourceNotFoundError(Exception):
        pass

    class ResourceNotUniqueError(Exception):
        pass


GONE = 410
NOT_FOUND = 404
CONFLICT = 409
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "ztp.sno_expand"


class HubError(ZtpError):
    """An error talking to the hub (or a spoke), with a message meant for the user."""


def hub_argument_spec(module_args):
    """kubernetes.core's auth arguments plus the module's own."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(module_args)
    return spec


def hub_module(argument_spec, **kwargs):
    """An ``AnsibleK8SModule`` (kubernetes.core) for a hub module; checks that ``kubernetes`` is installed."""
    if AnsibleK8SModule is None:
        from ansible.module_utils.basic import AnsibleModule
        module = AnsibleModule(argument_spec=argument_spec, **kwargs)
        module.fail_json(msg="The kubernetes.core collection must be installed", exception=K8S_COLLECTION_ERROR)
    return AnsibleK8SModule(argument_spec=argument_spec, check_pyyaml=False, **kwargs)


def run_wait_module(waiter):
    """``main()`` of a hub wait module: ``waiter`` (a module_utils module) gives ``module_args()``,
    ``check_params(params)`` and ``run_wait(hub, nodes, params, check_mode)``."""
    module = hub_module(hub_argument_spec(waiter.module_args()), supports_check_mode=True)
    try:
        nodes = waiter.check_params(module.params)
        result = waiter.run_wait(Hub.from_module(module), nodes, module.params, module.check_mode)
    except (ZtpInputError, ZtpInputErrors, HubError) as exc:
        module.fail_json(msg=str(exc))
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


def api_status(exc):
    """HTTP status of an API exception, or None for other errors."""
    return getattr(exc, "status", None)


def api_message(exc):
    """The API server's own message of an exception (its Status ``message``), else ``str(exc)``."""
    body = getattr(exc, "body", None)
    if body:
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("message"):
                return data["message"]
        except (TypeError, ValueError):
            pass
    summary = getattr(exc, "summary", None)
    if callable(summary):
        try:
            return summary()
        except Exception:  # pylint: disable=broad-except
            pass
    return str(exc)


def to_dict(obj):
    """A plain dict from a dynamic-client ResourceInstance, dict or None."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj
    return obj.to_dict()


def ident(obj):
    """``namespace/name`` of an object (``name`` for cluster-scoped ones)."""
    meta = (obj or {}).get("metadata") or {}
    if meta.get("namespace"):
        return "%s/%s" % (meta["namespace"], meta.get("name"))
    return meta.get("name")


def conditions_by_type(obj):
    """``{type: condition}`` of ``status.conditions``."""
    conds = ((obj or {}).get("status") or {}).get("conditions") or []
    return dict((c.get("type"), c) for c in conds if isinstance(c, dict))


def now_iso(now=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))


class Hub(object):
    """Plain-dict helpers over a kubernetes dynamic client."""

    def __init__(self, dynamic_client, dry_run=False):
        self.dyn = dynamic_client
        self.dry_run = dry_run
        self._resources = {}

    @classmethod
    def from_module(cls, module):
        """Client from the module's auth options (kubernetes.core), no server-side dry run."""
        try:
            # kubernetes.core's K8SClient holds the dynamic client as ``.client``
            return cls(get_api_client(module=module).client)
        except Exception as exc:  # pylint: disable=broad-except
            raise HubError("cannot create the hub client: %s" % exc)

    @classmethod
    def from_params(cls, params):
        """Client from kubernetes.core's auth options in ``params`` and the ``K8S_AUTH_*`` environment, for code
        that runs in the controller process (action plugins) rather than as a module."""
        if not HAS_K8S_COLLECTION or not HAS_KUBERNETES:
            raise HubError("the kubernetes.core collection and the kubernetes Python library are required")
        auth = dict((key, params[key]) for key in AUTH_ARG_SPEC if params.get(key) is not None)
        try:
            return cls(get_api_client(**auth).client)
        except Exception as exc:  # pylint: disable=broad-except
            raise HubError("cannot create the hub client: %s" % exc)

    @classmethod
    def from_kubeconfig(cls, path, context=None):
        """Client from one kubeconfig file only (no ``K8S_AUTH_*`` variables, which describe the hub)."""
        from kubernetes import config as k8s_config
        from kubernetes.dynamic import DynamicClient
        try:
            api_client = k8s_config.new_client_from_config(config_file=path, context=context)
        except Exception as exc:  # pylint: disable=broad-except
            raise HubError("cannot load kubeconfig %s: %s" % (path, exc))
        return cls(DynamicClient(api_client))

    def resource(self, api_version, kind):
        """The dynamic-client resource of a kind; HubError naming the kind if the server does not serve it."""
        key = (api_version, kind)
        if key not in self._resources:
            try:
                self._resources[key] = self.dyn.resources.get(api_version=api_version, kind=kind)
            except (ResourceNotFoundError, ResourceNotUniqueError) as exc:
                raise HubError("the API server does not serve %s %s (is its CRD installed?): %s"
                               % (api_version, kind, exc))
        return self._resources[key]

    def serves(self, api_version, kind):
        try:
            self.resource(api_version, kind)
            return True
        except HubError:
            return False

    def get(self, api_version, kind, name, namespace=None):
        """The object as a dict, or None when it does not exist."""
        res = self.resource(api_version, kind)
        try:
            return to_dict(res.get(name=name, namespace=namespace))
        except ApiException as exc:
            if api_status(exc) == NOT_FOUND:
                return None
            raise HubError("cannot read %s %s: %s" % (kind, _path(namespace, name), api_message(exc)))

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        """``(items, resourceVersion)`` of a list."""
        res = self.resource(api_version, kind)
        data = to_dict(res.get(namespace=namespace, label_selector=label_selector, field_selector=field_selector))
        items = data.get("items") or []
        # list items carry no apiVersion/kind
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items, (data.get("metadata") or {}).get("resourceVersion")

    def create(self, body, dry_run=None):
        res = self.resource(body["apiVersion"], body["kind"])
        params = {}
        if self.dry_run if dry_run is None else dry_run:
            params["dry_run"] = "All"
        meta = body.get("metadata") or {}
        try:
            return to_dict(res.create(body=body, namespace=meta.get("namespace"), **params))
        except ApiException as exc:
            raise HubError("cannot create %s %s: %s" % (body["kind"], ident(body), api_message(exc)))

    def patch(self, api_version, kind, name, namespace, patch, dry_run=None, subresource=None):
        """JSON merge patch (lists are replaced, ``None`` removes a key)."""
        res = self.resource(api_version, kind)
        if subresource:
            res = res.subresources[subresource]
        params = {"content_type": "application/merge-patch+json"}
        if self.dry_run if dry_run is None else dry_run:
            params["dry_run"] = "All"
        try:
            return to_dict(res.patch(body=patch, name=name, namespace=namespace, **params))
        except ApiException as exc:
            raise HubError("cannot patch %s %s: %s" % (kind, _path(namespace, name), api_message(exc)))

    def delete(self, api_version, kind, name, namespace=None, dry_run=None):
        """Delete; True when something was deleted, False when it did not exist."""
        res = self.resource(api_version, kind)
        params = {}
        if self.dry_run if dry_run is None else dry_run:
            params["dry_run"] = "All"
        try:
            res.delete(name=name, namespace=namespace, **params)
            return True
        except ApiException as exc:
            if api_status(exc) == NOT_FOUND:
                return False
            raise HubError("cannot delete %s %s: %s" % (kind, _path(namespace, name), api_message(exc)))

    def watch(self, api_version, kind, namespace=None, resource_version=None, label_selector=None,
              field_selector=None, timeout=60, watcher=None):
        """One watch request from ``resource_version``; yields ``(type, object dict)``.

        Ends when the server closes the stream (``timeout`` seconds at most); raises ``ApiException``
        (410 when the resourceVersion is too old) or connection errors for the caller to handle.
        """
        res = self.resource(api_version, kind)
        watcher = watcher or k8s_watch.Watch()
        stream = watcher.stream(
            res.get, namespace=namespace, label_selector=label_selector, field_selector=field_selector,
            resource_version=resource_version, serialize=False, timeout_seconds=int(timeout),
            allow_watch_bookmarks=True, _request_timeout=(10, int(timeout) + 15))
        for event in stream:
            obj = event.get("raw_object") or event.get("object")
            yield event.get("type"), to_dict(obj)


def _path(namespace, name):
    return "%s/%s" % (namespace, name) if namespace else name


# Requests in flight at once for a burst of independent writes (the views of a batch): the API server answers them in
# parallel, so hundreds of clusters do not wait for one round trip after the other.
PARALLEL_REQUESTS = 8


def in_parallel(call, items, workers=PARALLEL_REQUESTS):
    """``call(item)`` for every item on a few threads; returns ``[(item, exception or None), ...]`` in order.

    The client must have resolved the API resource before (``Hub.resource``), so the threads only read its cache."""
    def attempt(item):
        try:
            call(item)
            return item, None
        except Exception as error:  # pylint: disable=broad-except
            return item, error
    if len(items) < 2:
        return [attempt(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(attempt, items))


class WatchSet(object):
    """Several list+watch streams feeding one queue, each in its own thread.

    ``add(key, api_version, kind, ...)`` registers a stream; ``start()`` starts them. Each stream sends
    ``("SYNC", key, [objects])`` after every (re-)list and then ``(type, key, object)`` for each watch event
    (``ADDED``, ``MODIFIED``, ``DELETED``); ``("RETRY", key, message)`` tells that a stream lost its
    connection or its resourceVersion and is listing again. ``get(timeout)`` returns the events queued so
    far (waiting up to ``timeout`` seconds for the first one). ``ObjectCache`` folds them into a view of
    the objects.
    """

    def __init__(self, hub, watch_timeout=55, retry_delay=0.5, max_retry_delay=5.0):
        self.hub = hub
        self.watch_timeout = watch_timeout
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.streams = []
        self.events = queue.Queue()
        self._stop = threading.Event()
        self._threads = []
        self._watchers = []
        self.relists = 0
        self.errors = []

    def add(self, key, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        # resolve the resource now: a missing CRD fails the caller, not a thread
        self.hub.resource(api_version, kind)
        self.streams.append(dict(key=key, api_version=api_version, kind=kind, namespace=namespace,
                                 label_selector=label_selector, field_selector=field_selector))

    def start(self):
        for stream in self.streams:
            thread = threading.Thread(target=self._run, args=(stream,), name="watch-%s" % (stream["key"],))
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def stop(self):
        self._stop.set()
        for watcher in list(self._watchers):
            watcher.stop()
            resp = getattr(watcher, "_resp", None)
            if resp is not None:
                try:
                    resp.close()
                except Exception:  # pylint: disable=broad-except
                    pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def get(self, timeout):
        out = []
        try:
            out.append(self.events.get(timeout=max(timeout, 0)))
            while True:
                out.append(self.events.get_nowait())
        except queue.Empty:
            pass
        return out

    def _run(self, stream):
        key = stream["key"]
        delay = self.retry_delay
        resource_version = None
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    items, resource_version = self.hub.list(
                        stream["api_version"], stream["kind"], namespace=stream["namespace"],
                        label_selector=stream["label_selector"], field_selector=stream["field_selector"])
                    self.events.put(("SYNC", key, items))
                watcher = k8s_watch.Watch()
                self._watchers.append(watcher)
                try:
                    for etype, obj in self.hub.watch(
                            stream["api_version"], stream["kind"], namespace=stream["namespace"],
                            resource_version=resource_version, label_selector=stream["label_selector"],
                            field_selector=stream["field_selector"], timeout=self.watch_timeout,
                            watcher=watcher):
                        delay = self.retry_delay
                        rv = ((obj or {}).get("metadata") or {}).get("resourceVersion")
                        if rv:
                            resource_version = rv
                        if etype in ("ADDED", "MODIFIED", "DELETED"):
                            self.events.put((etype, key, obj))
                        if self._stop.is_set():
                            return
                finally:
                    self._watchers.remove(watcher)
                # the server ended the watch normally: resume from the last resourceVersion
            except Exception as exc:  # pylint: disable=broad-except
                if self._stop.is_set():
                    return
                if api_status(exc) == GONE:
                    message = "resourceVersion %s expired (410 Gone); listing again" % resource_version
                else:
                    message = "%s; listing again" % (api_message(exc) if api_status(exc) else
                                                     "%s: %s" % (type(exc).__name__, exc))
                resource_version = None
                self.relists += 1
                self.errors.append(message)
                self.events.put(("RETRY", key, message))
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_retry_delay)


class ObjectCache(object):
    """Objects per stream key, kept current from ``WatchSet`` events.

    ``apply(events)`` returns the set of stream keys that changed. ``objects(key)`` lists a stream's
    objects; ``get(key, namespace, name)`` finds one.
    """

    def __init__(self):
        self.by_key = {}

    def apply(self, events):
        changed = set()
        for etype, key, payload in events:
            store = self.by_key.setdefault(key, {})
            if etype == "SYNC":
                fresh = dict((_obj_key(o), o) for o in payload)
                if fresh != store:
                    changed.add(key)
                self.by_key[key] = fresh
            elif etype in ("ADDED", "MODIFIED"):
                if store.get(_obj_key(payload)) != payload:
                    changed.add(key)
                store[_obj_key(payload)] = payload
            elif etype == "DELETED":
                if store.pop(_obj_key(payload), None) is not None:
                    changed.add(key)
        return changed

    def objects(self, key):
        return list(self.by_key.get(key, {}).values())

    def get(self, key, namespace, name):
        return self.by_key.get(key, {}).get((namespace, name))


def _obj_key(obj):
    meta = obj.get("metadata") or {}
    return (meta.get("namespace"), meta.get("name"))
