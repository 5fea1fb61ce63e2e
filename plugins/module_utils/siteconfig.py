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

import difflib
import ipaddress
import json
import re

from ansible_collections.ztp.sno_expand.plugins.module_utils.errors import MASK, ZtpInputError, ZtpInputErrors, is_secret_key, raise_if_any
from ansible_collections.ztp.sno_expand.plugins.module_utils import yaml_edit


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
    for doc in yaml_edit.load_documents(text):
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


def sno_errors(ref, where=None):
    """Errors when the cluster is not a single-node OpenShift cluster."""
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
    return errors


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
    if address is not None:
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


def set_node(text, cluster, node, default_template_refs=None, where=None):
    """Add or update a worker node; return ``(new_text, entry, format, warnings)``."""
    docs = yaml_edit.load_documents(text)
    ref = find_cluster(docs, cluster, where)
    errors = sno_errors(ref, where)
    host = node.get('hostName') if isinstance(node, dict) else None
    matches = _node_index(ref, host) if _is_str(host) else []
    replacing = matches[0] if len(matches) == 1 else None
    if len(matches) > 1:
        errors.append(ZtpInputError('node.hostName', host, 'a host name used once in cluster %s; it is there %d times'
                                    % (cluster, len(matches)), where))
    if replacing is not None and is_master(ref.nodes[replacing]):
        errors.append(ZtpInputError('node.hostName', host, 'the host name of a worker: %s is the master of cluster %s, '
                                    'which this module never changes' % (host, cluster), where))
    try:
        entry = validate_node(node, ref, default_template_refs, where, replacing)
    except ZtpInputErrors as exc:
        errors.extend(exc.errors)
        entry = None
    except ZtpInputError as exc:
        errors.append(exc)
        entry = None
    raise_if_any(errors)
    warnings = []
    if replacing is None:
        if 'nodes' in ref.cluster and ref.cluster['nodes'] is not None:
            new_text = yaml_edit.append_sequence_item(text, ref.nodes_path, entry)
        else:
            new_text = yaml_edit.set_mapping_value(text, ref.cluster_path, 'nodes', [entry])
    else:
        old = ref.nodes[replacing]
        new_text = yaml_edit.replace_sequence_item(text, ref.nodes_path, replacing, entry)
        if ref.format == FORMAT_CLUSTERINSTANCE and new_text != text:
            mutable = ('extraAnnotations', 'extraLabels', 'suppressedManifests', 'pruneManifests')
            changed = sorted(k for k in set(old) | set(entry) if k not in mutable and
                             not yaml_edit.same_data(old.get(k), entry.get(k)))
            if changed:
                warnings.append('node %s of ClusterInstance %s: the siteconfig webhook rejects changes to %s of a node '
                                'after the cluster is provisioned' % (host, cluster, ', '.join(changed)))
    return new_text, entry, ref.format, warnings


def remove_node(text, cluster, host_name, where=None):
    """Remove a worker node; return ``(new_text, format)`` (unchanged text when the node is absent)."""
    docs = yaml_edit.load_documents(text)
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
    raise_if_any(errors)
    if not matches:
        return text, ref.format
    return yaml_edit.remove_sequence_item(text, ref.nodes_path, matches[0]), ref.format


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

    outcome = yaml_edit.edit_file(path, transform, check_mode)
    outcome.update(result)
    return outcome
