# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nodes of SiteConfig (``ran.openshift.io/v1``, ``/v2``) and ClusterInstance files.

Format detection, validation of a worker node entry and adding, updating or removing it with
``yaml_edit`` (text splices, so the rest of the file stays byte-identical). Node entries keep the
upstream field names; every rejection names the field, the value and the fix, and all of them are
raised together before anything is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import difflib
import ipaddress
import json
import re

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import MASK, ZtpInputError, ZtpInputErrors, is_secret_key, raise_if_any
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_edit as yaml_edit
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files


FORMAT_SITECONFIG_V1 = 'siteconfig-v1'
FORMAT_SITECONFIG_V2 = 'siteconfig-v2'
FORMAT_CLUSTERINSTANCE = 'clusterinstance'

API_VERSIONS = {
    ('ran.openshift.io/v1', 'SiteConfig'): FORMAT_SITECONFIG_V1,
    ('ran.openshift.io/v2', 'SiteConfig'): FORMAT_SITECONFIG_V2,
    ('siteconfig.open-cluster-management.io/v1alpha1', 'ClusterInstance'): FORMAT_CLUSTERINSTANCE,
}

SITECONFIG_NODE_KEYS = (
    'hostName', 'role', 'bmcAddress', 'bmcCredentialsName', 'bootMACAddress', 'bootMode',
    'automatedCleaningMode', 'rootDeviceHints', 'nodeNetwork', 'nodeLabels', 'installerArgs',
    'ignitionConfigOverride', 'userData', 'cpuset', 'ironicInspect', 'biosConfigRef', 'diskPartition',
    'crTemplates', 'crAnnotations', 'crSuppression',
)
CLUSTERINSTANCE_NODE_KEYS = (
    'hostName', 'role', 'bmcAddress', 'bmcCredentialsName', 'bootMACAddress', 'bootMode',
    'automatedCleaningMode', 'rootDeviceHints', 'nodeNetwork', 'nodeLabels', 'installerArgs',
    'ignitionConfigOverride', 'hostRef', 'cpuArchitecture', 'extraAnnotations', 'extraLabels',
    'suppressedManifests', 'pruneManifests', 'ironicInspect', 'templateRefs',
)
ROOT_DEVICE_HINT_KEYS = (
    'deviceName', 'hctl', 'model', 'vendor', 'serialNumber', 'minSizeGigabytes', 'wwn',
    'wwnWithExtension', 'wwnVendorExtension', 'rotational',
)
BOOT_MODES = ('UEFI', 'UEFISecureBoot', 'legacy')
CLEANING_MODES = ('disabled', 'metadata')
CPU_ARCHITECTURES = ('x86_64', 'aarch64')
IRONIC_INSPECT = {
    FORMAT_SITECONFIG_V1: ('enabled', 'disabled'),
    FORMAT_SITECONFIG_V2: ('enabled', 'disabled'),
    FORMAT_CLUSTERINSTANCE: ('', 'disabled'),
}

# BMC URL schemes of the metal3 baremetal-operator and the "+http"/"+https" transports each accepts.
BMC_DRIVERS = {
    'ipmi': (), 'libvirt': (),
    'redfish': ('http', 'https'), 'redfish-virtualmedia': ('http', 'https'), 'redfish-uefihttp': ('http', 'https'),
    'idrac': ('http', 'https'), 'idrac-redfish': ('http', 'https'), 'idrac-virtualmedia': ('http', 'https'),
    'ilo4': ('https',), 'ilo4-virtualmedia': ('https',),
    'ilo5': ('https',), 'ilo5-redfish': ('http', 'https'), 'ilo5-virtualmedia': ('https',),
    'irmc': (), 'irmc-redfish': ('http', 'https'), 'irmc-virtualmedia': (),
    'ibmc': ('http', 'https'),
}

MAC_RE = re.compile(r'^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$')
DNS_SUBDOMAIN_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
HOST_LABEL_RE = re.compile(r'^[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?$')
MAC_EXAMPLE = 'a MAC address of six hex pairs separated by colons, like 0c:42:a1:8a:74:ec'


class ClusterRef(object):
    """Where one cluster lives in a file."""

    def __init__(self, fmt, doc_index, cluster_path, cluster, name):
        self.format = fmt
        self.doc_index = doc_index
        self.cluster_path = cluster_path
        self.cluster = cluster
        self.name = name

    @property
    def nodes_path(self):
        return self.cluster_path + ['nodes']

    @property
    def nodes(self):
        nodes = self.cluster.get('nodes')
        return nodes if isinstance(nodes, list) else []


def document_format(doc):
    """The format of one YAML document (``siteconfig-v1``, ``siteconfig-v2``, ``clusterinstance``) or None."""
    if not isinstance(doc, dict):
        return None
    return API_VERSIONS.get((doc.get('apiVersion'), doc.get('kind')))


def detect_format(text):
    """The format of the first SiteConfig/ClusterInstance document of ``text``, or None."""
    for doc in yaml_load.load_documents(text):
        fmt = document_format(doc)
        if fmt:
            return fmt
    return None


def list_clusters(docs):
    """Every cluster of the documents as ``ClusterRef``."""
    refs = []
    for index, doc in enumerate(docs):
        fmt = document_format(doc)
        spec = doc.get('spec') if fmt else None
        if not isinstance(spec, dict):
            continue
        if fmt == FORMAT_CLUSTERINSTANCE:
            refs.append(ClusterRef(fmt, index, [index, 'spec'], spec, spec.get('clusterName')))
            continue
        clusters = spec.get('clusters')
        for ci, cluster in enumerate(clusters if isinstance(clusters, list) else []):
            if isinstance(cluster, dict):
                refs.append(ClusterRef(fmt, index, [index, 'spec', 'clusters', ci], cluster, cluster.get('clusterName')))
    return refs


def find_cluster(docs, cluster, where=None):
    """The ``ClusterRef`` of cluster ``cluster``; a ``ZtpInputError`` lists the clusters found otherwise."""
    refs = list_clusters(docs)
    found = [r for r in refs if r.name == cluster]
    if len(found) == 1:
        return found[0]
    if not refs:
        raise ZtpInputError('path', where, 'a file with a SiteConfig (ran.openshift.io/v1 or /v2) or a ClusterInstance '
                            '(siteconfig.open-cluster-management.io/v1alpha1) document', where)
    if found:
        raise ZtpInputError('cluster', cluster, 'a cluster defined once in the file; it is defined %d times' % len(found), where)
    names = ', '.join(sorted(str(r.name) for r in refs))
    raise ZtpInputError('cluster', cluster, 'one of the clusters in the file: %s' % names, where)


def is_master(node):
    """Both formats default ``role`` to master; the SiteConfig generator treats an empty role as master."""
    return not isinstance(node, dict) or node.get('role') in (None, '', 'master')


def sno_errors(ref, where=None, adding=False):
    """Errors when the cluster is not a single-node OpenShift cluster.

    ``adding``: a worker is being added (a scale-out); a ClusterInstance then needs ``clusterType: SNO`` itself.
    """
    errors = []
    masters = len([n for n in ref.nodes if is_master(n)])
    cluster_type = ref.cluster.get('clusterType')
    if ref.format == FORMAT_CLUSTERINSTANCE and cluster_type not in (None, 'SNO'):
        errors.append(ZtpInputError('cluster %s: clusterType' % ref.name, cluster_type,
                                    'SNO: worker nodes are added here only to single-node OpenShift (SNO) clusters', where))
    elif masters != 1:
        errors.append(ZtpInputError('cluster %s: nodes' % ref.name, '%d control-plane (master) node(s)' % masters,
                                    'exactly 1 master node: worker nodes are added here only to single-node '
                                    'OpenShift (SNO) clusters', where))
    elif ref.format == FORMAT_CLUSTERINSTANCE and cluster_type is None and adding:
        # Without clusterType the siteconfig operator does not treat the cluster as SNO (the SNO rule of exactly one
        # control-plane agent, api/v1alpha1/clusterinstance_validation.go lines 864-867 of the siteconfig operator,
        # applies only to clusterType SNO), and the webhook refuses setting clusterType after provisioning
        # (ClusterLevelAllowedPaths, clusterinstance_validation.go lines 136-144).
        errors.append(ZtpInputError('cluster %s: clusterType' % ref.name, None,
                                    'SNO: a worker is added (scale-out) only to a ClusterInstance with spec.clusterType: '
                                    'SNO. Add clusterType: SNO to spec before the cluster is installed; the siteconfig '
                                    'webhook refuses adding it to a provisioned cluster', where))
    return errors


# Node fields that the siteconfig webhook lets change on an existing node of a provisioned cluster:
# NodeLevelAllowedPaths in api/v1alpha1/clusterinstance_validation.go (lines 146-152) of the siteconfig operator,
# enforced by validatePostProvisioningChanges from ValidateUpdate in clusterinstance_webhook.go (lines 133-156).
WEBHOOK_MUTABLE_NODE_FIELDS = ('extraAnnotations', 'extraLabels', 'suppressedManifests', 'pruneManifests')


def provisioning_state(doc):
    """The reason of the ``Provisioned`` condition in the status of a ClusterInstance document (``InProgress``,
    ``Completed``, ...), or None when the document carries no status (the usual case in Git)."""
    status = doc.get('status') if isinstance(doc, dict) else None
    conditions = status.get('conditions') if isinstance(status, dict) else None
    for condition in conditions if isinstance(conditions, list) else []:
        if isinstance(condition, dict) and condition.get('type') == 'Provisioned':
            return condition.get('reason')
    return None


def webhook_errors(ref, doc, old, entry, where=None):
    """What the siteconfig operator's admission webhook would refuse in this change of a ClusterInstance node.

    ``old`` is the existing entry (None for an addition), ``entry`` the new one (None for a removal).
    - During provisioning no spec change is accepted (ValidateUpdate, api/v1alpha1/clusterinstance_webhook.go lines
      107-118: determineSpecChangePermission returns SpecChangeBlocked while the Provisioned condition is InProgress).
    - After provisioning, an existing node may change only in ``WEBHOOK_MUTABLE_NODE_FIELDS`` (clusterinstance_webhook.go
      lines 133-156, clusterinstance_validation.go lines 146-152). The file in Git carries no status, so an existing
      node is taken as provisioned: its other fields are never changed here.
    """
    if ref.format != FORMAT_CLUSTERINSTANCE or (old is not None and entry is not None and yaml_load.same_data(old, entry)):
        return []
    host = (entry or old or {}).get('hostName')
    if provisioning_state(doc) == 'InProgress':
        return [ZtpInputError('cluster %s: status.conditions[Provisioned]' % ref.name, 'InProgress',
                              'a cluster that is not being provisioned: the siteconfig webhook refuses every spec change '
                              'of a ClusterInstance while it is provisioned or reinstalled, so node %s was not %s. Wait '
                              'until the Provisioned condition is Completed, then run again'
                              % (host, 'removed' if entry is None else 'written'), where)]
    if old is None or entry is None:
        return []
    changed = sorted(str(k) for k in set(old) | set(entry) if k not in WEBHOOK_MUTABLE_NODE_FIELDS and
                     not yaml_load.same_data(old.get(k), entry.get(k)))
    if not changed:
        return []
    return [ZtpInputError('node.%s' % field, entry.get(field), 'the value node %s of ClusterInstance %s has (%r): after '
                          'provisioning the siteconfig webhook accepts changes of an existing node only in %s. To change '
                          '%s, remove the worker (state: absent) and publish, then add it again with the new values'
                          % (host, ref.name, old.get(field), ', '.join(WEBHOOK_MUTABLE_NODE_FIELDS), field), where)
            for field in changed]


def _closest(key, allowed):
    lowered = dict((k.lower(), k) for k in allowed)
    if key.lower() in lowered:
        return lowered[key.lower()]
    close = difflib.get_close_matches(key, allowed, 1, 0.6)
    return close[0] if close else None


def _is_str(value):
    return isinstance(value, str)


class _Checker(object):
    def __init__(self, fmt, where):
        self.format = fmt
        self.where = where
        self.errors = []

    def add(self, field, value, expected):
        self.errors.append(ZtpInputError('node.' + field, value, expected, self.where))

    def string(self, node, key, required=False):
        value = node.get(key)
        if value is None:
            if required:
                self.add(key, None, 'a string; the field is required')
            return None
        if not _is_str(value):
            self.add(key, value, 'a string (quote it in YAML)')
            return None
        return value

    def enum(self, node, key, allowed):
        value = node.get(key)
        if value is not None and value not in allowed:
            self.add(key, value, 'one of %s' % ', '.join(repr(a) for a in allowed))

    def mac(self, field, value):
        if not _is_str(value) or not MAC_RE.match(value):
            self.add(field, value, MAC_EXAMPLE)
            return False
        return True


def validate_node(node, ref, default_template_refs=None, where=None, replacing=None):
    """Check ``node`` for the cluster ``ref``; return the entry to write (ClusterInstance ``templateRefs`` filled in).

    ``replacing`` is the index of the existing entry being updated (excluded from the duplicate checks).
    All problems are raised together (``ZtpInputError`` or ``ZtpInputErrors``).
    """
    chk = _Checker(ref.format, where)
    if not isinstance(node, dict):
        raise ZtpInputError('node', node, 'a mapping of node fields (hostName, role, bmcAddress, ...)', where)
    node = dict(node)
    allowed = CLUSTERINSTANCE_NODE_KEYS if ref.format == FORMAT_CLUSTERINSTANCE else SITECONFIG_NODE_KEYS
    for key in node:
        if key == 'cpuset':
            chk.add('cpuset', node[key], 'no cpuset on a worker node: remove it; the workload partitioning of a worker '
                    'comes from the worker policies (PolicyGenTemplate/PolicyGenerator), and cpuset only works at '
                    'cluster install')
        elif key not in allowed:
            close = _closest(str(key), allowed)
            hint = ('did you mean %r? ' % close) if close else ''
            chk.add(str(key), node[key], '%sa known %s node field: %s' % (hint, _format_name(ref.format), ', '.join(allowed)))

    _check_identity(chk, node, ref, replacing)
    _check_bmc(chk, node)
    chk.enum(node, 'bootMode', BOOT_MODES)
    chk.enum(node, 'automatedCleaningMode', CLEANING_MODES)
    chk.enum(node, 'ironicInspect', IRONIC_INSPECT[ref.format])
    if ref.format == FORMAT_CLUSTERINSTANCE:
        chk.enum(node, 'cpuArchitecture', CPU_ARCHITECTURES)
    _check_root_device_hints(chk, node)
    for key in ('installerArgs', 'ignitionConfigOverride'):
        _check_json_string(chk, node, key)
    _check_labels(chk, node, ref.format)
    _check_node_network(chk, node)
    _check_against_other_nodes(chk, node, ref, replacing)
    if ref.format == FORMAT_CLUSTERINSTANCE:
        node = _fill_template_refs(chk, node, ref, default_template_refs)
    raise_if_any(chk.errors)
    return node


def _format_name(fmt):
    return 'ClusterInstance' if fmt == FORMAT_CLUSTERINSTANCE else 'SiteConfig'


def _check_identity(chk, node, ref, replacing):
    host = chk.string(node, 'hostName', required=True)
    if host is not None:
        if len(host) > 253 or not DNS_SUBDOMAIN_RE.match(host):
            fix = ' (use lowercase: %r)' % host.lower() if host.lower() != host and DNS_SUBDOMAIN_RE.match(host.lower()) else ''
            chk.add('hostName', host, 'an RFC 1123 DNS subdomain: lowercase letters, digits, "-" and ".", starting and '
                    'ending with a letter or digit, at most 253 characters%s' % fix)
    role = node.get('role')
    if role != 'worker':
        chk.add('role', role, "'worker': only worker nodes can be added to a single-node OpenShift cluster "
                "(without role the node would be a master)")
    mac = chk.string(node, 'bootMACAddress', required=True)
    if mac is not None:
        chk.mac('bootMACAddress', mac)
    for index, other in enumerate(ref.nodes):
        if index == replacing or not isinstance(other, dict):
            continue
        if host is not None and other.get('hostName') == host:
            chk.add('hostName', host, 'a host name not used by another node of cluster %s' % ref.name)
        other_mac = other.get('bootMACAddress')
        if mac is not None and _is_str(other_mac) and other_mac.lower() == mac.lower():
            chk.add('bootMACAddress', mac, 'a MAC address not used by node %s of cluster %s'
                    % (other.get('hostName'), ref.name))


def _check_bmc(chk, node):
    address = chk.string(node, 'bmcAddress', required=True)
    if address is not None and (address != address.strip() or any(c.isspace() or ord(c) < 32 for c in address)):
        where = 'at the end' if address.rstrip() != address else 'at the start' if address.lstrip() != address else 'inside it'
        chk.add('bmcAddress', address, 'a BMC address without spaces, tabs, line breaks or control characters (there is '
                'one %s): write %r' % (where, ''.join(c for c in address if not (c.isspace() or ord(c) < 32))))
    elif address is not None:
        problem = bmc_address_problem(address)
        if problem:
            chk.add('bmcAddress', address, problem)
    creds = node.get('bmcCredentialsName')
    name = creds.get('name') if isinstance(creds, dict) else None
    if not _is_str(name) or not name:
        chk.add('bmcCredentialsName.name', name, 'the name of the Secret with the BMC username and password, written '
                'as bmcCredentialsName: {name: <secret name>}; the field is required')
    elif not DNS_SUBDOMAIN_RE.match(name) or len(name) > 253:
        chk.add('bmcCredentialsName.name', name, 'a Secret name: lowercase RFC 1123 DNS subdomain')
    elif isinstance(creds, dict) and set(creds) - set(['name']):
        extra = sorted(str(key) for key in creds if key != 'name')
        # only the key names are shown: the values of the extra keys are usually the credentials themselves
        chk.add('bmcCredentialsName', dict((str(key), MASK if key != 'name' else value) for key, value in creds.items()),
                'only the key name: remove the key(s) %s. %s' % (', '.join(extra), BMC_SECRET_HELP))


BMC_SECRET_HELP = ('The BMC user name and password go into the hub Secret named by bmcCredentialsName (the playbooks '
                   'create it from ztp_bmc_credentials, or ztp_bmc_username and ztp_bmc_password, kept in Ansible Vault '
                   'or an AWX credential), never into Git')


def bmc_address_problem(address):
    """None when metal3 accepts the BMC address, else what is expected."""
    schemes = ', '.join(sorted(BMC_DRIVERS))
    if '://' not in address:
        # metal3 reads an address without scheme as ipmi host[:port]
        return None if _host_port_problem(address) is None else (
            'a URL like redfish-virtualmedia+https://<host>/redfish/v1/Systems/1 with one of the schemes %s' % schemes)
    scheme, rest = address.split('://', 1)
    driver, _sep, transport = scheme.partition('+')
    if driver not in BMC_DRIVERS:
        close = _closest(driver, list(BMC_DRIVERS))
        hint = ('did you mean %r? ' % close) if close else ''
        return '%sa BMC URL scheme of metal3: %s' % (hint, schemes)
    if transport and transport not in BMC_DRIVERS[driver]:
        if BMC_DRIVERS[driver]:
            return 'scheme %s accepts only the suffixes %s' % (driver, ', '.join('+' + t for t in BMC_DRIVERS[driver]))
        return 'scheme %s takes no +http/+https suffix' % driver
    netloc = rest.split('/', 1)[0].split('?', 1)[0]
    return _host_port_problem(netloc)


def _host_port_problem(netloc):
    if '@' in netloc:
        return ('no user name or password in the BMC address: remove "<user>:<password>@" from it. %s'
                % BMC_SECRET_HELP)
    if netloc.startswith('['):
        host, _sep, port = netloc[1:].partition(']')
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return 'a valid IPv6 address inside the brackets, found %r' % host
        if port and not re.match(r'^:\d{1,5}$', port):
            return 'an optional :port after the bracketed IPv6 address'
        return None
    if netloc.count(':') > 1:
        return 'an IPv6 address in brackets, like redfish://[%s]/redfish/v1/Systems/1' % netloc
    host, _sep, port = netloc.partition(':')
    if _sep and not re.match(r'^\d{1,5}$', port):
        return 'a numeric port after the host, found %r' % port
    if not host or not all(HOST_LABEL_RE.match(label) for label in host.split('.')):
        return 'a host name or IP address in the BMC address, found %r' % host
    return None


def _check_root_device_hints(chk, node):
    hints = node.get('rootDeviceHints')
    if hints is None:
        return
    if not isinstance(hints, dict):
        chk.add('rootDeviceHints', hints, 'a mapping of hints like {deviceName: /dev/disk/by-path/...}')
        return
    for key in hints:
        if key not in ROOT_DEVICE_HINT_KEYS:
            close = _closest(str(key), ROOT_DEVICE_HINT_KEYS)
            hint = ('did you mean %r? ' % close) if close else ''
            chk.add('rootDeviceHints.%s' % key, hints[key], '%sone of the hints %s' % (hint, ', '.join(ROOT_DEVICE_HINT_KEYS)))
            continue
        _check_hint_type(chk, key, hints[key])


def _check_hint_type(chk, key, value):
    """The types of the metal3 BareMetalHost CRD (spec.rootDeviceHints): minSizeGigabytes an integer, rotational a
    boolean, every other hint a string."""
    field = 'rootDeviceHints.%s' % key
    if key == 'minSizeGigabytes':
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            fix = ''
            if _is_str(value) and value.strip().isdigit() and value.strip().isascii():
                fix = ': write %s: %d without quotes' % (key, int(value.strip()))
            chk.add(field, value, 'a whole number of gigabytes, 0 or more, e.g. minSizeGigabytes: 200%s' % fix)
    elif key == 'rotational':
        if not isinstance(value, bool):
            fix = ''
            if _is_str(value) and value.strip().lower() in ('true', 'false'):
                fix = ': write rotational: %s without quotes' % value.strip().lower()
            chk.add(field, value, 'true (a spinning disk) or false (an SSD or NVMe disk)%s' % fix)
    elif not _is_str(value) or not value:
        chk.add(field, value, 'a non-empty string (quote it in YAML), e.g. deviceName: /dev/disk/by-path/pci-0000:01:00.0-scsi-0:2:0:0')


def _check_json_string(chk, node, key):
    value = node.get(key)
    if value is None:
        return
    example = ('\'["--append-karg", "ip=dhcp"]\'' if key == 'installerArgs' else '\'{"ignition": {"version": "3.2.0"}}\'')
    if not _is_str(value):
        chk.add(key, value, 'a JSON string, not a YAML %s: write it as a JSON string, e.g. %s: %s'
                % ('list' if isinstance(value, list) else 'mapping' if isinstance(value, dict) else 'value', key, example))
        return
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        chk.add(key, value, 'valid JSON (%s), e.g. %s' % (exc, example))
        return
    if key == 'installerArgs' and not (isinstance(parsed, list) and all(_is_str(a) for a in parsed)):
        chk.add(key, value, 'a JSON array of strings, e.g. %s' % example)
    if key == 'ignitionConfigOverride' and not isinstance(parsed, dict):
        chk.add(key, value, 'a JSON object, e.g. %s' % example)


def _check_labels(chk, node, fmt):
    labels = node.get('nodeLabels')
    if labels is not None:
        if not isinstance(labels, dict):
            chk.add('nodeLabels', labels, 'a mapping of label names to string values')
        else:
            for name, value in labels.items():
                _check_label_value(chk, 'nodeLabels.%s' % name, value, fmt)
    if fmt != FORMAT_CLUSTERINSTANCE:
        return
    for key in ('extraLabels', 'extraAnnotations'):
        kinds = node.get(key)
        if kinds is None:
            continue
        if not isinstance(kinds, dict) or not all(isinstance(v, dict) for v in kinds.values()):
            chk.add(key, kinds, 'a mapping of resource Kind to a mapping of strings, e.g. {BareMetalHost: {name: "value"}}')
            continue
        for kind, values in kinds.items():
            for name, value in values.items():
                _check_label_value(chk, '%s.%s.%s' % (key, kind, name), value, fmt)


def _check_label_value(chk, field, value, fmt):
    if _is_str(value):
        return
    if fmt == FORMAT_CLUSTERINSTANCE:
        chk.add(field, value, 'a string: quote the value, e.g. "%s"' % ('' if value is None else yaml_edit.scalar_text(value)
                                                                        if not isinstance(value, (dict, list))
                                                                        and not is_secret_key(field) else '...'))
    elif isinstance(value, (dict, list)):
        chk.add(field, value, 'a scalar label value (a quoted string)')


def _check_node_network(chk, node):
    network = node.get('nodeNetwork')
    if network is None:
        return
    if not isinstance(network, dict):
        chk.add('nodeNetwork', network, 'a mapping with interfaces (name, macAddress) and config (nmstate)')
        return
    for key in network:
        if key not in ('config', 'interfaces'):
            chk.add('nodeNetwork.%s' % key, network[key], 'only the keys config and interfaces')
    interfaces = network.get('interfaces')
    names = []
    if not isinstance(interfaces, list) or not interfaces:
        chk.add('nodeNetwork.interfaces', interfaces, 'a list of at least one {name, macAddress} entry')
        interfaces = []
    for i, entry in enumerate(interfaces):
        field = 'nodeNetwork.interfaces[%d]' % i
        if not isinstance(entry, dict):
            chk.add(field, entry, 'a mapping with name and macAddress')
            continue
        if not _is_str(entry.get('name')) or not entry.get('name'):
            chk.add(field + '.name', entry.get('name'), 'the interface name used in nodeNetwork.config, e.g. eno1')
        else:
            names.append(entry['name'])
        chk.mac(field + '.macAddress', entry.get('macAddress'))
    config = network.get('config')
    if config is None:
        return
    if not isinstance(config, dict):
        chk.add('nodeNetwork.config', config, 'an nmstate configuration mapping')
        return
    defined = _check_nmstate_interfaces(chk, config)
    used = set(defined) | _referenced_interfaces(config)
    for name in names:
        if name not in used:
            chk.add('nodeNetwork.interfaces', name, 'an interface name that nodeNetwork.config uses: add %s to '
                    'config.interfaces or remove it from nodeNetwork.interfaces' % name)
    _check_routes(chk, config, defined)
    _check_dns(chk, config)


def _node_addresses(node):
    """``[(field, ip_address)]`` of the static addresses in ``nodeNetwork.config.interfaces`` of ``node``."""
    network = node.get('nodeNetwork') if isinstance(node, dict) else None
    config = network.get('config') if isinstance(network, dict) else None
    entries = config.get('interfaces') if isinstance(config, dict) else None
    found = []
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        for family in ('ipv4', 'ipv6'):
            section = entry.get(family) if isinstance(entry, dict) else None
            addresses = section.get('address') if isinstance(section, dict) else None
            for j, addr in enumerate(addresses if isinstance(addresses, list) else []):
                try:
                    ip = ipaddress.ip_address(str(addr.get('ip'))) if isinstance(addr, dict) else None
                except ValueError:
                    ip = None
                if ip is not None:
                    found.append(('nodeNetwork.config.interfaces[%d].%s.address[%d].ip' % (i, family, j), ip))
    return found


def _node_macs(node):
    """``[(field, lower-case MAC)]`` of the boot MAC and the interface MACs of ``node``."""
    if not isinstance(node, dict):
        return []
    found = []
    if _is_str(node.get('bootMACAddress')):
        found.append(('bootMACAddress', node['bootMACAddress'].lower()))
    network = node.get('nodeNetwork') if isinstance(node.get('nodeNetwork'), dict) else {}
    for i, entry in enumerate(network.get('interfaces') if isinstance(network.get('interfaces'), list) else []):
        if isinstance(entry, dict) and _is_str(entry.get('macAddress')):
            found.append(('nodeNetwork.interfaces[%d].macAddress' % i, entry['macAddress'].lower()))
    return found


def _machine_networks(cluster):
    networks = []
    entries = cluster.get('machineNetwork') if isinstance(cluster, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        cidr = entry.get('cidr') if isinstance(entry, dict) else entry
        try:
            networks.append(ipaddress.ip_network(str(cidr), strict=False))
        except ValueError:
            continue
    return networks


def _check_against_other_nodes(chk, node, ref, replacing):
    """The worker's IP addresses and MACs are its own, and it has an address in the cluster's machineNetwork."""
    mine = _node_addresses(node)
    for index, other in enumerate(ref.nodes):
        if index == replacing or not isinstance(other, dict):
            continue
        role = 'master' if is_master(other) else 'node'
        theirs = dict((ip, field) for field, ip in _node_addresses(other))
        for field, ip in mine:
            if ip in theirs:
                chk.add(field, str(ip), 'an address of its own: %s %s of cluster %s has it (%s); two nodes with one '
                        'address break the cluster network. Give the worker a free address in the machine network'
                        % (role, other.get('hostName'), ref.name, theirs[ip]))
        other_macs = dict((mac, field) for field, mac in reversed(_node_macs(other)))  # the boot MAC named first
        for field, mac in _node_macs(node):
            if field != 'bootMACAddress' and mac in other_macs:
                chk.add(field, mac, 'the MAC address of one of this worker\'s own NICs: %s %s of cluster %s has it (%s); '
                        'copy the worker\'s MAC from its hardware inventory or BMC'
                        % (role, other.get('hostName'), ref.name, other_macs[mac]))
            elif field == 'bootMACAddress' and mac in other_macs and other_macs[mac] != 'bootMACAddress':
                chk.add(field, mac, 'a MAC address not used by %s %s of cluster %s (its %s)'
                        % (role, other.get('hostName'), ref.name, other_macs[mac]))
    networks = _machine_networks(ref.cluster)
    for version in (4, 6):
        family = [n for n in networks if n.version == version]
        addresses = [(field, ip) for field, ip in mine if ip.version == version]
        if not family or not addresses:
            continue
        if not any(ip in net for dummy, ip in addresses for net in family):
            for field, ip in addresses:
                chk.add(field, str(ip), 'an address inside the machineNetwork of cluster %s (%s): the worker joins the '
                        'cluster through it. Use an address of that network, or fix machineNetwork'
                        % (ref.name, ', '.join(str(n) for n in family)))


def _check_nmstate_interfaces(chk, config):
    entries = config.get('interfaces')
    if entries is None:
        return []
    if not isinstance(entries, list):
        chk.add('nodeNetwork.config.interfaces', entries, 'a list of nmstate interfaces')
        return []
    defined = []
    for i, entry in enumerate(entries):
        field = 'nodeNetwork.config.interfaces[%d]' % i
        if not isinstance(entry, dict):
            chk.add(field, entry, 'an nmstate interface mapping')
            continue
        if _is_str(entry.get('name')):
            defined.append(entry['name'])
        else:
            chk.add(field + '.name', entry.get('name'), 'the interface name as a string')
        if entry.get('mac-address') is not None:
            chk.mac(field + '.mac-address', entry.get('mac-address'))
        for family, version, limit in (('ipv4', 4, 32), ('ipv6', 6, 128)):
            section = entry.get(family)
            addresses = section.get('address') if isinstance(section, dict) else None
            if addresses is None:
                continue
            if not isinstance(addresses, list):
                chk.add('%s.%s.address' % (field, family), addresses, 'a list of {ip, prefix-length}')
                continue
            for j, addr in enumerate(addresses):
                _check_address(chk, '%s.%s.address[%d]' % (field, family, j), addr, version, limit)
    return defined


def _check_address(chk, field, addr, version, limit):
    if not isinstance(addr, dict):
        chk.add(field, addr, 'a mapping {ip: <IPv%d address>, prefix-length: <0-%d>}' % (version, limit))
        return
    ip = addr.get('ip')
    try:
        if ipaddress.ip_address(str(ip)).version != version:
            raise ValueError('wrong family')
    except ValueError:
        chk.add(field + '.ip', ip, 'an IPv%d address' % version)
    prefix = addr.get('prefix-length')
    if isinstance(prefix, bool) or not isinstance(prefix, int) or not 0 <= prefix <= limit:
        chk.add(field + '.prefix-length', prefix, 'an integer from 0 to %d' % limit)


def _referenced_interfaces(config):
    """Interface names the nmstate config refers to (bond ports, bridge ports, VLAN bases, route interfaces)."""
    found = set()

    def walk(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                if key in ('port', 'ports', 'slaves') and _is_str(v):
                    found.add(v)
                else:
                    walk(v, key)
        elif _is_str(value) and key in ('base-iface', 'next-hop-interface', 'name'):
            found.add(value)
    walk(config)
    return found


def _check_routes(chk, config, defined):
    routes = config.get('routes')
    entries = routes.get('config') if isinstance(routes, dict) else None
    if not isinstance(entries, list):
        return
    for i, route in enumerate(entries):
        field = 'nodeNetwork.config.routes.config[%d]' % i
        if not isinstance(route, dict):
            continue
        iface = route.get('next-hop-interface')
        if iface is not None and iface not in defined:
            chk.add(field + '.next-hop-interface', iface, 'an interface defined in nodeNetwork.config.interfaces (%s)'
                    % ', '.join(defined))
        dest = route.get('destination')
        if dest is not None:
            try:
                ipaddress.ip_network(str(dest), strict=False)
            except ValueError:
                chk.add(field + '.destination', dest, 'a network in CIDR form, like 0.0.0.0/0 or ::/0')
        hop = route.get('next-hop-address')
        if hop is not None:
            try:
                ipaddress.ip_address(str(hop))
            except ValueError:
                chk.add(field + '.next-hop-address', hop, 'an IP address')


def _check_dns(chk, config):
    dns = config.get('dns-resolver')
    servers = dns.get('config', {}).get('server') if isinstance(dns, dict) and isinstance(dns.get('config'), dict) else None
    if not isinstance(servers, list):
        return
    for i, server in enumerate(servers):
        try:
            ipaddress.ip_address(str(server))
        except ValueError:
            chk.add('nodeNetwork.config.dns-resolver.config.server[%d]' % i, server, 'an IP address of a DNS server')


def _fill_template_refs(chk, node, ref, default_template_refs):
    refs = node.get('templateRefs')
    if refs is None:
        refs = default_template_refs
    if refs is None:
        existing = [n.get('templateRefs') for n in ref.nodes if isinstance(n, dict) and n.get('templateRefs')]
        refs = existing[0] if existing else None
    if refs is None:
        chk.add('templateRefs', None, 'a list like [{name: ai-node-templates-v1, namespace: open-cluster-management}]; '
                'no other node of cluster %s has one to copy, so give templateRefs or default_template_refs' % ref.name)
        return node
    if not isinstance(refs, list) or not refs or not all(
            isinstance(r, dict) and _is_str(r.get('name')) and _is_str(r.get('namespace')) and set(r) <= set(['name', 'namespace'])
            for r in refs):
        chk.add('templateRefs', refs, 'a list of {name, namespace} strings, e.g. '
                '[{name: ai-node-templates-v1, namespace: open-cluster-management}]')
        return node
    node['templateRefs'] = refs
    return node


def _node_index(ref, host_name):
    matches = [i for i, n in enumerate(ref.nodes) if isinstance(n, dict) and n.get('hostName') == host_name]
    return matches


def _plan_node(docs, ref, node, default_template_refs, where):
    """Validate ``node`` for the cluster ``ref`` (its ``nodes`` as they will be); return ``(entry, replacing)``."""
    host = node.get('hostName') if isinstance(node, dict) else None
    matches = _node_index(ref, host) if _is_str(host) else []
    replacing = matches[0] if len(matches) == 1 else None
    errors = sno_errors(ref, where, adding=replacing is None)
    if len(matches) > 1:
        errors.append(ZtpInputError('node.hostName', host, 'a host name used once in cluster %s; it is there %d times'
                                    % (ref.name, len(matches)), where))
    if replacing is not None and is_master(ref.nodes[replacing]):
        errors.append(ZtpInputError('node.hostName', host, 'the host name of a worker: %s is the master of cluster %s, '
                                    'which this module never changes' % (host, ref.name), where))
    try:
        entry = validate_node(node, ref, default_template_refs, where, replacing)
    except ZtpInputErrors as exc:
        errors.extend(exc.errors)
        entry = None
    except ZtpInputError as exc:
        errors.append(exc)
        entry = None
    if entry is not None:
        errors.extend(webhook_errors(ref, docs[ref.doc_index], None if replacing is None else ref.nodes[replacing],
                                     entry, where))
    raise_if_any(errors)
    return entry, replacing


def set_node(text, cluster, node, default_template_refs=None, where=None):
    """Add or update a worker node; return ``(new_text, entry, format, warnings)``."""
    docs = yaml_load.load_documents(text)
    ref = find_cluster(docs, cluster, where)
    entry, replacing = _plan_node(docs, ref, node, default_template_refs, where)
    warnings = []
    if replacing is None:
        if 'nodes' in ref.cluster and ref.cluster['nodes'] is not None:
            _refuse_alias(text, ref, where)
            new_text = yaml_edit.append_sequence_item(text, ref.nodes_path, entry)
        else:
            new_text = yaml_edit.set_mapping_value(text, ref.cluster_path, 'nodes', [entry])
    else:
        _refuse_alias(text, ref, where)
        new_text = yaml_edit.replace_sequence_item(text, ref.nodes_path, replacing, entry)
    return new_text, entry, ref.format, warnings


def set_nodes(text, edits, default_template_refs=None, where=None):
    """Add or update many worker nodes of the clusters of one file in one pass: about one parse, one splice pass and
    one verification of the text for any number of added workers (a file of 500 clusters gets 100 workers in about
    the time of one ``set_node``).

    ``edits`` is a list of ``(cluster, node)``, ``(cluster, node, default_template_refs)`` or ``(cluster, node,
    default_template_refs, bmh_annotations)`` (annotations the node's BareMetalHost gets, see
    ``with_bmh_annotations``). Each edit is checked
    as ``set_node`` checks it, against the cluster's nodes as the earlier edits of the list leave them. Returns
    ``(new_text, outcomes)``: one ``{cluster, entry, format, warnings, error}`` per edit, ``error`` the
    ``ZtpInputError``/``ZtpInputErrors`` of an edit that was refused (that edit is left out, the others are made).
    """
    docs = yaml_load.load_documents(text)
    refs = {}
    for ref in list_clusters(docs):
        refs.setdefault(ref.name, []).append(ref)
    views = {}
    appends = {}      # nodes path -> entries added to the end of an existing nodes list
    created = {}      # cluster path -> entries of a cluster without a nodes list
    updates = []      # (cluster, entry): updates of nodes already in the file, made one by one
    outcomes = []
    for edit in edits:
        cluster, node = edit[0], edit[1]
        refs_default = edit[2] if len(edit) > 2 and edit[2] is not None else default_template_refs
        outcome = {'cluster': cluster, 'entry': None, 'format': None, 'warnings': [], 'error': None}
        outcomes.append(outcome)
        try:
            if cluster not in views:
                ref = find_cluster(docs, cluster, where) if len(refs.get(cluster, [])) != 1 else refs[cluster][0]
                view = dict(ref.cluster)
                view['nodes'] = list(ref.nodes) if ref.cluster.get('nodes') is not None else None
                views[cluster] = (ClusterRef(ref.format, ref.doc_index, ref.cluster_path, view, ref.name), len(ref.nodes))
                if view['nodes'] is not None:
                    _refuse_alias(text, ref, where)
            ref, existing = views[cluster]
            if len(edit) > 3 and edit[3]:
                node = with_bmh_annotations(node, edit[3], ref.format)
            entry, replacing = _plan_node(docs, ref, node, refs_default, where)
        except (ZtpInputError, ZtpInputErrors) as exc:
            outcome['error'] = exc
            continue
        outcome.update(entry=entry, format=ref.format)
        nodes = ref.cluster['nodes']
        if nodes is None:
            nodes = ref.cluster['nodes'] = []
            created[tuple(ref.cluster_path)] = nodes
        if replacing is None:
            nodes.append(entry)
            if tuple(ref.cluster_path) not in created:
                appends.setdefault(tuple(ref.nodes_path), []).append(entry)
        else:
            nodes[replacing] = entry
            if replacing < existing and tuple(ref.cluster_path) not in created:
                updates.append((cluster, entry))
            else:
                pending = appends.get(tuple(ref.nodes_path)) or created.get(tuple(ref.cluster_path))
                pending[replacing - existing if tuple(ref.cluster_path) not in created else replacing] = entry
    for cluster, entry in updates:
        text = set_node(text, cluster, entry, None, where)[0]
    for path, entries in created.items():
        text = yaml_edit.set_mapping_value(text, list(path), 'nodes', entries)
    text = yaml_edit.append_to_sequences(text, [(list(path), entries) for path, entries in appends.items()])
    return text, outcomes


def _refuse_alias(text, ref, where):
    """A ``nodes`` list written as an alias (``nodes: *shared``) is the list of another place of the file: refuse."""
    if not re.search(r'[:\-\[,{]\s*(?:![^\s]*\s+)?\*', text):
        return  # no alias in the file (checked without a parse)
    anchor = yaml_edit.alias_at(text, ref.nodes_path)
    if anchor is not None:
        raise ZtpInputError('cluster %s: nodes' % ref.name, '*' + anchor, 'a nodes list of its own: here it is the '
                            'alias *%s of the list anchored &%s elsewhere in the file, so an edit here would change every '
                            'place that uses it. Replace the alias by a copy of the list (or move the anchor to this '
                            'list), then run again; nothing was written' % (anchor, anchor), where)


def remove_node(text, cluster, host_name, where=None):
    """Remove a worker node; return ``(new_text, format)`` (unchanged text when the node is absent)."""
    docs = yaml_load.load_documents(text)
    ref = find_cluster(docs, cluster, where)
    errors = sno_errors(ref, where)
    if not _is_str(host_name) or not host_name:
        errors.append(ZtpInputError('node.hostName', host_name, 'the hostName of the worker to remove', where))
    matches = _node_index(ref, host_name) if _is_str(host_name) else []
    if len(matches) > 1:
        errors.append(ZtpInputError('node.hostName', host_name, 'a host name used once in cluster %s; it is there %d times'
                                    % (cluster, len(matches)), where))
    if len(matches) == 1 and is_master(ref.nodes[matches[0]]):
        errors.append(ZtpInputError('node.hostName', host_name, 'the host name of a worker: %s is the master of cluster '
                                    '%s and is never removed' % (host_name, cluster), where))
    if len(matches) == 1:
        errors.extend(webhook_errors(ref, docs[ref.doc_index], ref.nodes[matches[0]], None, where))
    raise_if_any(errors)
    if not matches:
        return text, ref.format
    _refuse_alias(text, ref, where)
    return yaml_edit.remove_sequence_item(text, ref.nodes_path, matches[0]), ref.format


# ---- worker removal (issue #17) -------------------------------------------------------------------------------
# The order of openshift-docs "Deleting a managed cluster node with GitOps ZTP" / "Deleting a node by using the
# ClusterInstance CR" (after OCPBUGS-38801): 1. the BareMetalHost annotation below, pushed, and seen on the hub's
# BareMetalHost; 2. the BareMetalHost suppressed (SiteConfig ``crSuppression``, the annotation kept on the node) or
# pruned (ClusterInstance ``pruneManifests``) and pushed, so that the BareMetalHost is deleted and BMAC removes the
# Agent and the spoke Node; 3. once the BareMetalHost is gone, the node entry removed from Git.

REMOVE_AGENT_ANNOTATION = 'bmac.agent-install.openshift.io/remove-agent-and-node-on-delete'
BMH_KIND = 'BareMetalHost'
BMH_API_VERSION = 'metal3.io/v1alpha1'
REMOVAL_STEPS = ('annotate', 'suppress', 'remove')
# ``status`` only reads: the state of each node, a worker no longer in the file being ``absent``.
REMOVAL_READ = 'status'
# How far a node entry is in the removal: present (nothing yet), annotated, suppressed (its BareMetalHost no longer
# rendered), absent (not in the file).
REMOVAL_STATES = ('present', 'annotated', 'suppressed', 'absent')


def with_bmh_annotations(node, annotations, fmt):
    """A copy of the node entry ``node`` whose BareMetalHost gets ``annotations`` (SiteConfig
    ``crAnnotations.add.BareMetalHost``, ClusterInstance ``extraAnnotations.BareMetalHost``), merged with its own."""
    if not annotations or not isinstance(node, dict):
        return node
    node = copy.deepcopy(node)
    target = node
    for key in _annotation_field(fmt):
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target.update((str(k), str(v)) for k, v in annotations.items())
    return node


def _annotation_field(fmt):
    return ('extraAnnotations', BMH_KIND) if fmt == FORMAT_CLUSTERINSTANCE else ('crAnnotations', 'add', BMH_KIND)


def _suppression_field(fmt):
    return 'pruneManifests' if fmt == FORMAT_CLUSTERINSTANCE else 'crSuppression'


def _dig(node, keys):
    value = node
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def is_annotated_for_removal(node, fmt):
    """The node carries the BMAC annotation that removes the Agent and the spoke Node when its BareMetalHost is deleted,
    with the value ``"true"`` of the documentation (BMAC itself only checks that the annotation is there:
    assisted-service bmh_agent_controller.go handleBMHFinalizer, line 350)."""
    annotations = _dig(node, _annotation_field(fmt))
    return isinstance(annotations, dict) and str(annotations.get(REMOVE_AGENT_ANNOTATION)).lower() == 'true'


def is_bmh_suppressed(node, fmt):
    """The node's BareMetalHost is no longer rendered: ``crSuppression: [BareMetalHost]`` (SiteConfig generator,
    siteConfigBuilder.go ``suppressCrGeneration``) or ``pruneManifests: [{apiVersion: metal3.io/v1alpha1, kind:
    BareMetalHost}]`` (siteconfig operator, template_engine.go ``pruneManifest``)."""
    value = (node or {}).get(_suppression_field(fmt))
    if not isinstance(value, list):
        return False
    if fmt == FORMAT_CLUSTERINSTANCE:
        return any(isinstance(v, dict) and v.get('kind') == BMH_KIND and v.get('apiVersion') == BMH_API_VERSION for v in value)
    return BMH_KIND in value


def removal_state(node, fmt):
    """One of ``REMOVAL_STATES`` for the node entry ``node`` (None: absent)."""
    if node is None:
        return 'absent'
    if is_bmh_suppressed(node, fmt):
        return 'suppressed'
    return 'annotated' if is_annotated_for_removal(node, fmt) else 'present'


def _removal_target(docs, cluster, host_name, step, where, absent_ok=False):
    """``(ref, index)`` of the worker ``host_name`` (index None: not in the file); every problem raised together."""
    ref = find_cluster(docs, cluster, where)
    errors = sno_errors(ref, where)
    if step not in REMOVAL_STEPS + (REMOVAL_READ,):
        errors.append(ZtpInputError('removal_step', step, 'one of %s' % ', '.join(REMOVAL_STEPS + (REMOVAL_READ,)), where))
    if not _is_str(host_name) or not host_name:
        raise_if_any(errors + [ZtpInputError('node.hostName', host_name, 'the hostName of the worker to remove', where)])
    matches = _node_index(ref, host_name)
    hosts = [str(n.get('hostName')) for n in ref.nodes if isinstance(n, dict)]
    if len(matches) > 1:
        errors.append(ZtpInputError('node.hostName', host_name, 'a host name used once in cluster %s; it is there %d times'
                                    % (cluster, len(matches)), where))
    elif matches and is_master(ref.nodes[matches[0]]):
        masters = len([n for n in ref.nodes if is_master(n)])
        errors.append(ZtpInputError('node.hostName', host_name, 'the host name of a worker of cluster %s (workers: %s): %s '
                                    'is %s master (control-plane) node and is never removed here'
                                    % (cluster, ', '.join(h for n, h in zip(ref.nodes, hosts) if not is_master(n)) or 'none',
                                       host_name, 'the only' if masters == 1 else 'a'), where))
    elif not matches and step not in ('remove', REMOVAL_READ) and not absent_ok:
        errors.append(ZtpInputError('node.hostName', host_name, 'a node of cluster %s (its nodes: %s). Check the spelling; a '
                                    'worker already removed from the file needs nothing more' % (cluster, ', '.join(hosts)),
                                    where))
    raise_if_any(errors)
    return ref, (matches[0] if matches else None)


def _set_nested(text, path, current, keys, value, where, host):
    """Set ``current[keys[0]]...[keys[-1]] = value`` at ``path``: the missing levels are added as one mapping."""
    for depth, key in enumerate(keys[:-1]):
        nested = current.get(key)
        if nested is None:
            for inner in reversed(keys[depth + 1:]):
                value = {inner: value}
            return yaml_edit.set_mapping_value(text, path, key, value)
        if not isinstance(nested, dict):
            raise ZtpInputError('node.%s' % '.'.join(keys[:depth + 1]), nested, 'a mapping (node %s): the removal annotation '
                                'goes under it; fix the entry in Git, nothing was written' % host, where)
        path, current = path + [key], nested
    return yaml_edit.set_mapping_value(text, path, keys[-1], value)


def removal_edit(text, cluster, host_name, step, where=None, absent_ok=False):
    """One step of the removal of worker ``host_name`` of ``cluster``; returns ``(new_text, info)``.

    ``step``: ``annotate`` (the BMAC annotation on the node's BareMetalHost), ``suppress`` (SiteConfig
    ``crSuppression: [BareMetalHost]``, ClusterInstance ``pruneManifests`` of the BareMetalHost; needs the annotation,
    which stays), ``remove`` (the node entry). Idempotent: a step already made leaves the text unchanged.
    ``absent_ok``: a worker not in the file is reported ``absent`` by every step (a run after the removal) instead of
    refused. ``info``: ``{format, state_before, state, message}`` (``REMOVAL_STATES``). Nothing is changed on error.
    """
    docs = yaml_load.load_documents(text)
    ref, index = _removal_target(docs, cluster, host_name, step, where, absent_ok)
    node = ref.nodes[index] if index is not None else None
    before = removal_state(node, ref.format)
    info = {'format': ref.format, 'state_before': before, 'state': before, 'message': ''}
    if node is None:
        info['message'] = ('%s is not a node of cluster %s in %s (its nodes: %s): taken as already removed'
                           % (host_name, cluster, where or 'the file',
                              ', '.join(str(n.get('hostName')) for n in ref.nodes if isinstance(n, dict))))
    if node is None or step == REMOVAL_READ:
        return text, info
    if step != 'remove' and not isinstance(node, dict):
        raise ZtpInputError('node', node, 'a mapping of node fields', where)
    fmt = ref.format
    path = ref.nodes_path + [index]
    new_text = text
    if step == 'annotate':
        if not is_annotated_for_removal(node, fmt):
            new_text = _set_nested(text, path, node, list(_annotation_field(fmt)) + [REMOVE_AGENT_ANNOTATION], 'true',
                                   where, host_name)
    elif step == 'suppress':
        if not is_annotated_for_removal(node, fmt):
            raise ZtpInputError('node.%s' % '.'.join(_annotation_field(fmt)), _dig(node, _annotation_field(fmt)),
                                '%s: "true" on node %s of cluster %s first (removal_step annotate), published and seen on '
                                'the hub\'s BareMetalHost: deleting the BareMetalHost without it leaves the Agent and the '
                                'spoke Node behind (OCPBUGS-38801). Nothing was written'
                                % (REMOVE_AGENT_ANNOTATION, host_name, cluster), where)
        if not is_bmh_suppressed(node, fmt):
            field = _suppression_field(fmt)
            item = {'apiVersion': BMH_API_VERSION, 'kind': BMH_KIND} if fmt == FORMAT_CLUSTERINSTANCE else BMH_KIND
            current = node.get(field)
            if current is not None and not isinstance(current, list):
                raise ZtpInputError('node.%s' % field, current, 'a list (node %s); fix the entry in Git, nothing was '
                                    'written' % host_name, where)
            if current:
                new_text = yaml_edit.append_sequence_item(text, path + [field], item)
            else:
                new_text = yaml_edit.set_mapping_value(text, path, field, [item])
    else:
        if not is_bmh_suppressed(node, fmt):
            field = _suppression_field(fmt)
            raise ZtpInputError('node.%s' % field, node.get(field), 'the BareMetalHost of node %s of cluster %s suppressed '
                                '(removal_step suppress) and deleted on the hub before its entry is removed: removing the '
                                'entry first deletes the BareMetalHost %s. Nothing was written'
                                % (host_name, cluster, 'without the Agent and spoke Node cleanup' if not
                                   is_annotated_for_removal(node, fmt) else 'before its removal was confirmed'), where)
        new_text = remove_node(text, cluster, host_name, where)[0]
    if new_text == text:
        return text, info
    after = find_cluster(yaml_load.load_documents(new_text), cluster, where)
    after_index = _node_index(after, host_name)
    entry = after.nodes[after_index[0]] if after_index else None
    raise_if_any(webhook_errors(ref, docs[ref.doc_index], node, entry, where))
    info['state'] = removal_state(entry, fmt)
    return new_text, info


def apply_removal(path, nodes, step, check_mode=False, absent_ok=False):
    """``removal_edit`` of every ``(cluster, hostName)`` of ``nodes`` on the file ``path``: one lock, one read, one write.

    Returns ``{changed, diff, nodes: [{cluster, hostName, format, state_before, state}]}``; on any error nothing is
    written and the errors of all the nodes are raised together."""
    result = {'nodes': []}

    def transform(text):
        if not text:
            raise ZtpInputError('path', path, 'an existing SiteConfig or ClusterInstance file', path)
        errors = []
        for cluster, host in nodes:
            try:
                text, info = removal_edit(text, cluster, host, step, path, absent_ok)
            except ZtpInputErrors as exc:
                errors.extend(exc.errors)
                continue
            except ZtpInputError as exc:
                errors.append(exc)
                continue
            info.update(cluster=cluster, hostName=host)
            result['nodes'].append(info)
        raise_if_any(errors)
        return text

    outcome = yaml_files.edit_file(path, transform, check_mode)
    outcome.update(result)
    return outcome


def removal_batch(clusters, step, repo_dir=None, check_mode=False, absent_ok=False):
    """``apply_removal`` for the workers of many clusters and files. ``clusters``: ``[{path, cluster, workers,
    namespace}]`` (``path`` relative to ``repo_dir`` unless absolute, ``workers`` the host names, ``namespace`` passed
    through to the result). Every file is checked first; nothing is written when any worker is refused (all errors
    raised together). Returns ``{changed, paths, nodes, diffs}``: one row per worker (``path``, ``cluster``,
    ``hostName``, ``namespace``, ``format``, ``state_before``, ``state``, ``message``), ``paths`` the changed files."""
    by_path, order, errors, namespaces = {}, [], [], {}
    for index, item in enumerate(clusters or []):
        workers = item.get('workers') if isinstance(item, dict) else None
        if not isinstance(item, dict) or not all(_is_str(item.get(k)) and item.get(k) for k in ('path', 'cluster')) or \
                not isinstance(workers, list) or not all(_is_str(w) and w for w in workers):
            errors.append(ZtpInputError('clusters[%d]' % index, item, 'a mapping {path, cluster, workers: [host names]}: the '
                                        'cluster file, the cluster name and the hostName of each worker to remove'))
            continue
        if item['path'] not in order:
            order.append(item['path'])
        for worker in workers:
            by_path.setdefault(item['path'], []).append((item['cluster'], worker))
            namespaces[(item['cluster'], worker)] = item.get('namespace') or item['cluster']
    raise_if_any(errors)

    def full(path):
        return path if not repo_dir or path.startswith('/') else '%s/%s' % (repo_dir.rstrip('/'), path)

    for path in order:
        try:
            apply_removal(full(path), by_path.get(path, []), step, True, absent_ok)
        except ZtpInputErrors as exc:
            errors.extend(exc.errors)
        except ZtpInputError as exc:
            errors.append(exc)
    raise_if_any(errors)
    result = {'changed': False, 'paths': [], 'nodes': [], 'diffs': []}
    for path in order:
        outcome = apply_removal(full(path), by_path.get(path, []), step, check_mode or step == REMOVAL_READ, absent_ok)
        for info in outcome['nodes']:
            info.update(path=path, namespace=namespaces[(info['cluster'], info['hostName'])])
            result['nodes'].append(info)
        if outcome['changed']:
            result['changed'] = True
            result['paths'].append(path)
            result['diffs'].append(outcome['diff'])
    return result


def apply_node(path, cluster, node, state='present', default_template_refs=None, check_mode=False):
    """Add/update (``present``) or remove (``absent``) a worker node of ``cluster`` in the file ``path``.

    Returns ``{changed, diff, node, format, warnings}``; nothing is written on error or in check mode.
    """
    result = {'node': None, 'format': None, 'warnings': []}

    def transform(text):
        if not text:
            raise ZtpInputError('path', path, 'an existing SiteConfig or ClusterInstance file', path)
        if state == 'present':
            new_text, entry, fmt, warnings = set_node(text, cluster, node, default_template_refs, path)
            result.update(node=entry, format=fmt, warnings=warnings)
        else:
            new_text, fmt = remove_node(text, cluster, (node or {}).get('hostName'), path)
            result['format'] = fmt
        return new_text

    outcome = yaml_files.edit_file(path, transform, check_mode)
    outcome.update(result)
    return outcome


def apply_nodes(path, edits, default_template_refs=None, check_mode=False):
    """``set_nodes`` on the file ``path``: one lock, one read, one write for all the edits.

    Returns ``{changed, diff, outcomes}``; when any edit is refused nothing is written and the errors are raised
    together (``ZtpInputErrors``)."""
    result = {'outcomes': []}

    def transform(text):
        if not text:
            raise ZtpInputError('path', path, 'an existing SiteConfig or ClusterInstance file', path)
        new_text, outcomes = set_nodes(text, edits, default_template_refs, path)
        result['outcomes'] = outcomes
        errors = []
        for outcome in outcomes:
            error = outcome['error']
            if error is not None:
                errors.extend(error.errors if isinstance(error, ZtpInputErrors) else [error])
        raise_if_any(errors)
        return new_text

    outcome = yaml_files.edit_file(path, transform, check_mode)
    outcome.update(result)
    return outcome
