# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import difflib
import os

import pytest

import yaml

from ansible_collections.ztp.sno_expand.plugins.module_utils import _siteconfig as S
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as L
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors

pytestmark = pytest.mark.skipif(not L.HAS_RUAMEL, reason='ruamel.yaml is not installed')

SNO_SITECONFIG = """\
# site of one SNO cluster
apiVersion: ran.openshift.io/v2
kind: SiteConfig
metadata:
  name: "site"
  namespace: "site"
spec:
  baseDomain: "example.com"
  clusters:
  - clusterName: "sno-a"
    nodes:
      - hostName: "sno-a-master"
        role: "master"
        bmcAddress: "idrac-virtualmedia+https://10.0.0.10/redfish/v1/Systems/System.Embedded.1"
        bmcCredentialsName:
          name: "sno-a-master-bmc"
        bootMACAddress: "AA:BB:CC:00:00:01"
  - clusterName: "sno-b"
    nodes:
      - hostName: "sno-b-master"
        bmcAddress: "ipmi://10.0.0.20"
        bmcCredentialsName:
          name: "sno-b-master-bmc"
        bootMACAddress: "AA:BB:CC:00:00:02"
      - hostName: "sno-b-worker"
        role: worker
        bmcAddress: "ipmi://10.0.0.21"
        bmcCredentialsName:
          name: "sno-b-worker-bmc"
        bootMACAddress: "AA:BB:CC:00:00:03"
"""

SNO_CLUSTERINSTANCE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: ci-sno
---
apiVersion: siteconfig.open-cluster-management.io/v1alpha1
kind: ClusterInstance
metadata:
  name: ci-sno
  namespace: ci-sno
spec:
  clusterName: ci-sno
  clusterType: SNO
  nodes:
    - hostName: ci-sno-master
      role: master
      bmcAddress: redfish://10.0.0.30/redfish/v1/Systems/1
      bmcCredentialsName:
        name: ci-sno-master-bmc
      bootMACAddress: "AA:BB:CC:00:00:30"
      templateRefs:
        - name: ai-node-templates-v1
          namespace: open-cluster-management
"""


def worker(**changes):
    node = {
        'hostName': 'worker-0.example.com',
        'role': 'worker',
        'bmcAddress': 'redfish-virtualmedia+https://[fd00::99]/redfish/v1/Systems/1',
        'bmcCredentialsName': {'name': 'worker-0-bmc'},
        'bootMACAddress': 'AA:BB:CC:DD:EE:99',
        'bootMode': 'UEFI',
        'nodeNetwork': {
            'interfaces': [{'name': 'eno1', 'macAddress': 'AA:BB:CC:DD:EE:99'}],
            'config': {
                'interfaces': [{'name': 'eno1', 'type': 'ethernet', 'state': 'up',
                                'ipv6': {'enabled': True, 'address': [{'ip': 'fd00::9', 'prefix-length': 64}]}}],
                'dns-resolver': {'config': {'server': ['fd00::2']}},
                'routes': {'config': [{'destination': '::/0', 'next-hop-interface': 'eno1', 'next-hop-address': 'fd00::1'}]},
            },
        },
    }
    for key, value in changes.items():
        if value is None:
            node.pop(key, None)
        else:
            node[key] = value
    return node


def rejection(node, text=SNO_SITECONFIG, cluster='sno-a', **kwargs):
    """The input errors of adding ``node``, as a list of ZtpInputError."""
    with pytest.raises((ZtpInputError, ZtpInputErrors)) as info:
        S.set_node(text, cluster, node, **kwargs)
    return getattr(info.value, 'errors', [info.value])


def only_error(errors, field):
    matching = [e for e in errors if e.field == field]
    assert matching, 'no error for %s in %s' % (field, [e.describe() for e in errors])
    return matching[0]


def assert_names(error, field, value, *fix_words):
    """The message names the field, the value and the fix."""
    message = error.describe()
    assert error.field == field
    assert error.value == value
    assert field in message and repr(value) in message
    for word in fix_words:
        assert word in message


# ---------------------------------------------------------------------------------------------- format


def test_detect_format():
    assert S.detect_format(SNO_SITECONFIG) == S.FORMAT_SITECONFIG_V2
    assert S.detect_format(SNO_SITECONFIG.replace('/v2', '/v1')) == S.FORMAT_SITECONFIG_V1
    assert S.detect_format(SNO_CLUSTERINSTANCE) == S.FORMAT_CLUSTERINSTANCE
    assert S.detect_format('kind: Kustomization\n') is None


def test_valid_worker_is_added_to_siteconfig_and_clusterinstance():
    new, entry, fmt, warnings = S.set_node(SNO_SITECONFIG, 'sno-a', worker())
    assert fmt == S.FORMAT_SITECONFIG_V2 and warnings == []
    assert L.load_documents(new)[0]['spec']['clusters'][0]['nodes'][1] == entry == worker()
    new, entry, fmt, warnings = S.set_node(SNO_CLUSTERINSTANCE, 'ci-sno', worker())
    assert fmt == S.FORMAT_CLUSTERINSTANCE
    assert entry['templateRefs'] == [{'name': 'ai-node-templates-v1', 'namespace': 'open-cluster-management'}]
    assert L.load_documents(new)[1]['spec']['nodes'][1] == entry


# ---------------------------------------------------------------------------------------------- rules


def test_unknown_key_suggests_closest():
    node = worker(hostname='x')
    error = only_error(rejection(node), 'node.hostname')
    assert_names(error, 'node.hostname', 'x', "did you mean 'hostName'")


def test_unknown_key_of_the_other_format():
    error = only_error(rejection(worker(templateRefs=[{'name': 'a', 'namespace': 'b'}])), 'node.templateRefs')
    assert 'SiteConfig node field' in error.describe()
    error = only_error(rejection(worker(userData={'a': 'b'}), SNO_CLUSTERINSTANCE, 'ci-sno'), 'node.userData')
    assert 'ClusterInstance node field' in error.describe()


def test_host_name_must_be_dns_subdomain():
    error = only_error(rejection(worker(hostName='Worker-0.Example.com')), 'node.hostName')
    assert_names(error, 'node.hostName', 'Worker-0.Example.com', 'RFC 1123', "use lowercase: 'worker-0.example.com'")
    error = only_error(rejection(worker(hostName='worker_0')), 'node.hostName')
    assert_names(error, 'node.hostName', 'worker_0', 'RFC 1123')


def test_host_name_required():
    error = only_error(rejection(worker(hostName=None)), 'node.hostName')
    assert_names(error, 'node.hostName', None, 'required')


@pytest.mark.parametrize('role', ['master', 'arbiter', None])
def test_only_worker_role(role):
    error = only_error(rejection(worker(role=role)), 'node.role')
    assert_names(error, 'node.role', role, "'worker'", 'single-node OpenShift')


def test_boot_mac_format():
    error = only_error(rejection(worker(bootMACAddress='aa-bb-cc-dd-ee-ff')), 'node.bootMACAddress')
    assert_names(error, 'node.bootMACAddress', 'aa-bb-cc-dd-ee-ff', 'six hex pairs separated by colons')


def test_interface_mac_format():
    node = worker()
    node['nodeNetwork']['interfaces'][0]['macAddress'] = 'AA:BB:CC:DD:EE'
    error = only_error(rejection(node), 'node.nodeNetwork.interfaces[0].macAddress')
    assert_names(error, 'node.nodeNetwork.interfaces[0].macAddress', 'AA:BB:CC:DD:EE', 'six hex pairs')


def test_boot_mode():
    error = only_error(rejection(worker(bootMode='BIOS')), 'node.bootMode')
    assert_names(error, 'node.bootMode', 'BIOS', "'UEFI'", "'UEFISecureBoot'", "'legacy'")


@pytest.mark.parametrize('address', [
    'ipmi://10.0.0.1', 'ipmi://10.0.0.1:623', '10.0.0.1:623', 'redfish://bmc.example.com/redfish/v1/Systems/1',
    'redfish+http://10.0.0.1/redfish/v1/Systems/1', 'redfish-virtualmedia+https://[fd00::1]:8443/redfish/v1/Systems/1',
    'idrac-virtualmedia+https://[1111:2222:3333:4444::bbbb:1]/redfish/v1/Systems/System.Embedded.1',
    'idrac-redfish://10.0.0.1/redfish/v1/Systems/System.Embedded.1', 'idrac://10.0.0.1', 'ilo4-virtualmedia://10.0.0.1',
    'ilo5-redfish://10.0.0.1/redfish/v1/Systems/1', 'irmc://10.0.0.1', 'irmc-virtualmedia://10.0.0.1',
    'redfish-uefihttp://10.0.0.1/redfish/v1/Systems/1', 'ibmc+https://10.0.0.1', 'libvirt://10.0.0.1',
])
def test_bmc_address_accepted(address):
    assert S.bmc_address_problem(address) is None


@pytest.mark.parametrize('address, words', [
    ('redfsh-virtualmedia://10.0.0.1/redfish/v1/Systems/1', ["did you mean 'redfish-virtualmedia'", 'BMC URL scheme']),
    ('ipmi+https://10.0.0.1', ['takes no +http/+https suffix']),
    ('ilo4+http://10.0.0.1', ['accepts only the suffixes +https']),
    ('redfish://fd00::1/redfish/v1/Systems/1', ['IPv6 address in brackets']),
    ('redfish://[fd00::zz]/redfish/v1/Systems/1', ['valid IPv6 address']),
    ('redfish://10.0.0.1:port/redfish/v1/Systems/1', ['numeric port']),
])
def test_bmc_address_rejected(address, words):
    error = only_error(rejection(worker(bmcAddress=address)), 'node.bmcAddress')
    assert_names(error, 'node.bmcAddress', address, *words)


def test_bmc_address_with_credentials_rejected_without_the_password():
    error = only_error(rejection(worker(bmcAddress='redfish://admin:secret@10.0.0.1/redfish/v1/Systems/1')),
                       'node.bmcAddress')
    assert_names(error, 'node.bmcAddress', 'redfish://admin:********@10.0.0.1/redfish/v1/Systems/1',
                 'no user name or password', 'hub Secret')
    assert 'secret@' not in error.describe()


def test_bmc_credentials_name_required():
    error = only_error(rejection(worker(bmcCredentialsName={'secret': 'x'})), 'node.bmcCredentialsName.name')
    assert_names(error, 'node.bmcCredentialsName.name', None, 'bmcCredentialsName: {name: <secret name>}')


def test_cpuset_rejected_on_worker():
    error = only_error(rejection(worker(cpuset='0-3')), 'node.cpuset')
    assert_names(error, 'node.cpuset', '0-3', 'remove it', 'workload partitioning', 'worker policies')


def test_duplicate_boot_mac_in_cluster():
    error = only_error(rejection(worker(bootMACAddress='aa:bb:cc:00:00:01')), 'node.bootMACAddress')
    assert_names(error, 'node.bootMACAddress', 'aa:bb:cc:00:00:01', 'not used by node sno-a-master')


def test_duplicate_host_name_in_cluster():
    text = SNO_SITECONFIG.replace('"sno-b-master"', '"sno-b-worker"')
    errors = rejection(worker(hostName='sno-b-worker'), text, 'sno-b')
    assert_names(only_error(errors, 'node.hostName'), 'node.hostName', 'sno-b-worker', 'used once', '2 times')


def test_interface_not_used_in_config():
    node = worker()
    node['nodeNetwork']['interfaces'].append({'name': 'eno2', 'macAddress': 'AA:BB:CC:DD:EE:98'})
    error = only_error(rejection(node), 'node.nodeNetwork.interfaces')
    assert_names(error, 'node.nodeNetwork.interfaces', 'eno2', 'add eno2 to config.interfaces')


def test_bond_ports_count_as_used():
    node = worker()
    node['nodeNetwork']['interfaces'].append({'name': 'eth1', 'macAddress': 'AA:BB:CC:DD:EE:98'})
    node['nodeNetwork']['config']['interfaces'].append(
        {'name': 'bond0', 'type': 'bond', 'link-aggregation': {'mode': 'active-backup', 'port': ['eth1']}})
    S.set_node(SNO_SITECONFIG, 'sno-a', node)


def test_route_interface_must_be_defined():
    node = worker()
    node['nodeNetwork']['config']['routes']['config'][0]['next-hop-interface'] = 'eno9'
    error = only_error(rejection(node), 'node.nodeNetwork.config.routes.config[0].next-hop-interface')
    assert_names(error, 'node.nodeNetwork.config.routes.config[0].next-hop-interface', 'eno9',
                 'defined in nodeNetwork.config.interfaces (eno1)')


def test_ip_address_and_prefix_length():
    node = worker()
    node['nodeNetwork']['config']['interfaces'][0]['ipv6']['address'][0] = {'ip': '10.0.0.5', 'prefix-length': 129}
    errors = rejection(node)
    field = 'node.nodeNetwork.config.interfaces[0].ipv6.address[0]'
    assert_names(only_error(errors, field + '.ip'), field + '.ip', '10.0.0.5', 'an IPv6 address')
    assert_names(only_error(errors, field + '.prefix-length'), field + '.prefix-length', 129, 'from 0 to 128')


def test_route_and_dns_addresses():
    node = worker()
    node['nodeNetwork']['config']['routes']['config'][0]['next-hop-address'] = 'fd00::zz'
    node['nodeNetwork']['config']['dns-resolver']['config']['server'] = ['dns.example.com']
    errors = rejection(node)
    assert_names(only_error(errors, 'node.nodeNetwork.config.routes.config[0].next-hop-address'),
                 'node.nodeNetwork.config.routes.config[0].next-hop-address', 'fd00::zz', 'an IP address')
    assert_names(only_error(errors, 'node.nodeNetwork.config.dns-resolver.config.server[0]'),
                 'node.nodeNetwork.config.dns-resolver.config.server[0]', 'dns.example.com', 'IP address of a DNS server')


@pytest.mark.parametrize('key, value', [
    ('installerArgs', ['--append-karg', 'ip=dhcp']),
    ('ignitionConfigOverride', {'ignition': {'version': '3.2.0'}}),
])
def test_json_fields_must_be_json_strings(key, value):
    error = only_error(rejection(worker(**{key: value})), 'node.' + key)
    assert_names(error, 'node.' + key, value, 'write it as a JSON string')


def test_json_fields_must_parse():
    error = only_error(rejection(worker(installerArgs='[--append-karg]')), 'node.installerArgs')
    assert_names(error, 'node.installerArgs', '[--append-karg]', 'valid JSON')
    S.set_node(SNO_SITECONFIG, 'sno-a', worker(installerArgs='["--append-karg", "ip=dhcp"]'))


def test_template_refs_default_from_option_and_error_without_any():
    refs = [{'name': 'custom-node-templates', 'namespace': 'custom'}]
    _new, entry, _fmt, _w = S.set_node(SNO_CLUSTERINSTANCE, 'ci-sno', worker(), default_template_refs=refs)
    assert entry['templateRefs'] == refs
    text = SNO_CLUSTERINSTANCE.replace(
        '      templateRefs:\n        - name: ai-node-templates-v1\n          namespace: open-cluster-management\n', '')
    error = only_error(rejection(worker(), text, 'ci-sno'), 'node.templateRefs')
    assert_names(error, 'node.templateRefs', None, 'default_template_refs', '[{name: ai-node-templates-v1')


@pytest.mark.parametrize('field, node', [
    ('node.nodeLabels.node-role.kubernetes.io/worker-du', worker(nodeLabels={'node-role.kubernetes.io/worker-du': True})),
    ('node.extraLabels.BareMetalHost.custom', worker(extraLabels={'BareMetalHost': {'custom': 5}})),
])
def test_clusterinstance_label_values_must_be_strings(field, node):
    error = only_error(rejection(node, SNO_CLUSTERINSTANCE, 'ci-sno'), field)
    assert 'a string: quote the value' in error.describe()
    assert field in error.describe()


def test_siteconfig_label_values_may_be_scalars():
    S.set_node(SNO_SITECONFIG, 'sno-a', worker(nodeLabels={'a': True}))


def test_clusterinstance_type_must_be_sno():
    text = SNO_CLUSTERINSTANCE.replace('clusterType: SNO', 'clusterType: HighlyAvailable')
    error = only_error(rejection(worker(), text, 'ci-sno'), 'cluster ci-sno: clusterType')
    assert_names(error, 'cluster ci-sno: clusterType', 'HighlyAvailable', 'SNO', 'single-node OpenShift')


def test_siteconfig_must_have_one_master():
    text = SNO_SITECONFIG.replace('role: worker', 'role: master')
    error = only_error(rejection(worker(), text, 'sno-b'), 'cluster sno-b: nodes')
    assert_names(error, 'cluster sno-b: nodes', '2 control-plane (master) node(s)', 'exactly 1 master node')


def test_ironic_inspect_values_per_format():
    error = only_error(rejection(worker(ironicInspect='enabled'), SNO_CLUSTERINSTANCE, 'ci-sno'), 'node.ironicInspect')
    assert_names(error, 'node.ironicInspect', 'enabled', "one of '', 'disabled'")
    error = only_error(rejection(worker(ironicInspect='')), 'node.ironicInspect')
    assert_names(error, 'node.ironicInspect', '', "one of 'enabled', 'disabled'")
    S.set_node(SNO_SITECONFIG, 'sno-a', worker(ironicInspect='disabled'))


def test_cluster_not_found_lists_clusters():
    error = rejection(worker(), SNO_SITECONFIG, 'sno-x')[0]
    assert_names(error, 'cluster', 'sno-x', 'sno-a, sno-b')


def test_file_without_cluster_documents():
    error = rejection(worker(), 'apiVersion: v1\nkind: Namespace\n', 'sno-a')[0]
    assert 'SiteConfig' in error.describe() and 'ClusterInstance' in error.describe()


def test_master_entry_is_never_updated_or_removed():
    errors = rejection(worker(hostName='sno-a-master'))
    assert_names(only_error(errors, 'node.hostName'), 'node.hostName', 'sno-a-master', 'is the master of cluster sno-a')
    with pytest.raises(ZtpInputError) as info:
        S.remove_node(SNO_SITECONFIG, 'sno-a', 'sno-a-master')
    assert 'never removed' in info.value.describe()


def test_all_errors_are_reported_together():
    errors = rejection(worker(hostname='x', bootMode='BIOS', cpuset='0-1', bootMACAddress='bad'))
    assert set(e.field for e in errors) >= {'node.hostname', 'node.bootMode', 'node.cpuset', 'node.bootMACAddress'}


# ---------------------------------------------------------------------------------------------- edits


def test_update_is_idempotent_and_keeps_other_bytes():
    node = worker(hostName='sno-b-worker', bootMACAddress='AA:BB:CC:00:00:03')
    new, _entry, _fmt, _w = S.set_node(SNO_SITECONFIG, 'sno-b', node)
    again, _entry, _fmt, _w = S.set_node(new, 'sno-b', node)
    assert again == new
    assert new.startswith(SNO_SITECONFIG.split('      - hostName: "sno-b-worker"', 1)[0])
    assert '      - hostName: "sno-b-worker"\n' in new
    assert L.load_documents(new)[0]['spec']['clusters'][1]['nodes'][1] == node


def test_clusterinstance_update_refused_like_the_webhook():
    new, _e, _f, _w = S.set_node(SNO_CLUSTERINSTANCE, 'ci-sno', worker())
    with pytest.raises(ZtpInputError) as error:
        S.set_node(new, 'ci-sno', worker(bootMode='UEFISecureBoot'), where='ci.yaml')
    assert error.value.field == 'node.bootMode' and error.value.value == 'UEFISecureBoot'
    assert 'ci.yaml' in str(error.value) and 'remove the worker (state: absent)' in str(error.value)
    # the fields the webhook lets change after provisioning are changed without a word
    changed, _e, _f, warnings = S.set_node(new, 'ci-sno', worker(extraLabels={'BareMetalHost': {'rack': '7'}}))
    assert changed != new and warnings == []


def test_remove_worker_and_absent_is_noop():
    new, _fmt = S.remove_node(SNO_SITECONFIG, 'sno-b', 'sno-b-worker')
    assert [n['hostName'] for n in L.load_documents(new)[0]['spec']['clusters'][1]['nodes']] == ['sno-b-master']
    assert S.remove_node(new, 'sno-b', 'sno-b-worker') == (new, S.FORMAT_SITECONFIG_V2)


def test_apply_node_writes_nothing_on_error(tmp_path):
    path = tmp_path / 'site.yaml'
    path.write_text(SNO_SITECONFIG)
    with pytest.raises(ZtpInputError):
        S.apply_node(str(path), 'sno-a', worker(bootMode='BIOS'))
    assert path.read_text() == SNO_SITECONFIG
    result = S.apply_node(str(path), 'sno-a', worker(), check_mode=True)
    assert result['changed'] and path.read_text() == SNO_SITECONFIG
    result = S.apply_node(str(path), 'sno-a', worker())
    assert result['changed'] and result['format'] == S.FORMAT_SITECONFIG_V2 and result['node'] == worker()
    assert S.apply_node(str(path), 'sno-a', worker())['changed'] is False


# ---------------------------------------------------------------------------------------------- upstream examples


def shared_dir():
    here = os.path.dirname(os.path.realpath(__file__))
    repo = os.path.abspath(os.path.join(here, '..', '..', '..', '..'))
    return os.environ.get('ZTP_SHARED_DIR') or os.path.join(os.path.dirname(repo), 'shared')


def example_files():
    base = os.path.join(shared_dir(), 'ztp-reference', 'examples')
    found = []
    for sub in ('siteconfig', 'clusterinstance'):
        for root, _dirs, files in os.walk(os.path.join(base, sub)):
            for name in sorted(files):
                if name.endswith(('.yaml', '.yml')):
                    found.append(os.path.join(root, name))
    return sorted(found)


EXAMPLES = example_files()


def cluster_files():
    """(path, cluster) of every SiteConfig/ClusterInstance cluster in the examples, decided by content."""
    pairs = []
    for path in EXAMPLES:
        with open(path) as handle:
            docs = L.load_documents(handle.read())
        pairs.extend((path, ref.name) for ref in S.list_clusters(docs))
    return pairs


CLUSTERS = cluster_files() if L.HAS_RUAMEL else []


def test_examples_were_found():
    if not EXAMPLES:
        pytest.skip('upstream examples not found under %s (set ZTP_SHARED_DIR)' % shared_dir())
    formats = set()
    for path, _cluster in CLUSTERS:
        with open(path) as handle:
            formats.add(S.detect_format(handle.read()))
    assert {S.FORMAT_SITECONFIG_V1, S.FORMAT_CLUSTERINSTANCE} <= formats


def comment_lines(text):
    return [line for line in text.splitlines() if '#' in line]


@pytest.mark.parametrize('path, cluster', CLUSTERS, ids=['%s:%s' % (os.path.basename(p), c) for p, c in CLUSTERS])
def test_example_round_trip(tmp_path, path, cluster):
    target = tmp_path / os.path.basename(path)
    with open(path) as handle:
        original = handle.read()
    target.write_text(original)
    docs = L.load_documents(original)
    ref = S.find_cluster(docs, cluster)
    node = worker(hostName='added-worker-0.example.com', bootMACAddress='0C:42:A1:00:00:99')
    node['nodeNetwork']['interfaces'][0]['macAddress'] = '0C:42:A1:00:00:99'
    networks = [n for n in S._machine_networks(ref.cluster) if n.version == 6]
    if networks:  # the worker's address in the cluster's machine network
        address = node['nodeNetwork']['config']['interfaces'][0]['ipv6']['address'][0]
        address['ip'] = str(networks[0][0x99])

    if S.sno_errors(ref, adding=True):
        with pytest.raises((ZtpInputError, ZtpInputErrors)) as info:
            S.apply_node(str(target), cluster, node)
        assert 'single-node OpenShift (SNO)' in str(info.value) or 'clusterType: SNO' in str(info.value)
        assert target.read_text() == original
        return

    result = S.apply_node(str(target), cluster, node)
    assert result['changed'] is True
    after = target.read_text()

    # every changed line is inside the one added block
    removed, added_at = [], []
    matcher = difflib.SequenceMatcher(None, original.splitlines(), after.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != 'equal':
            removed.extend(range(i1, i2))
            added_at.append((j1, j2))
    assert removed == [] and len(added_at) == 1
    block = after.splitlines()[added_at[0][0]:added_at[0][1]]
    assert block[0].lstrip().startswith('- hostName: added-worker-0.example.com')

    assert comment_lines(original) == [line for line in comment_lines(after) if line not in block]
    expected = copy.deepcopy(docs)
    nodes = S.find_cluster(expected, cluster).cluster['nodes']
    nodes.append(result['node'])
    assert L.same_data(L.load_documents(after), expected)
    if ref.format == S.FORMAT_CLUSTERINSTANCE:
        assert result['node']['templateRefs'] == [n for n in ref.nodes if n.get('templateRefs')][0]['templateRefs']

    second = S.apply_node(str(target), cluster, node)
    assert second['changed'] is False and target.read_text() == after

    removed = S.apply_node(str(target), cluster, {'hostName': node['hostName']}, state='absent')
    assert removed['changed'] is True and target.read_text() == original


# ---------------------------------------------------------------------------------------------- worker removal (#17)

ANN = S.REMOVE_AGENT_ANNOTATION
WORKER_COMMENTED = SNO_SITECONFIG.replace('      - hostName: "sno-b-worker"\n',
                                          '      # the worker of rack 7\n      - hostName: "sno-b-worker"  # keep\n')


def clusterinstance_with_worker():
    return S.set_node(SNO_CLUSTERINSTANCE, 'ci-sno', worker())[0]


def sc_node(text, cluster_index=1, node_index=1):
    return L.load_documents(text)[0]['spec']['clusters'][cluster_index]['nodes'][node_index]


def errors_of(call):
    with pytest.raises((ZtpInputError, ZtpInputErrors)) as info:
        call()
    return info.value.errors if isinstance(info.value, ZtpInputErrors) else [info.value]


def test_siteconfig_steps_in_order_keep_comments_and_are_idempotent():
    text = WORKER_COMMENTED
    annotated, info = S.removal_edit(text, 'sno-b', 'sno-b-worker', 'annotate')
    assert info == {'format': S.FORMAT_SITECONFIG_V2, 'state_before': 'present', 'state': 'annotated', 'message': ''}
    assert sc_node(annotated)['crAnnotations'] == {'add': {'BareMetalHost': {ANN: 'true'}}}
    assert '# the worker of rack 7' in annotated and '"sno-b-worker"  # keep' in annotated
    assert annotated.startswith(text.split('        bootMACAddress: "AA:BB:CC:00:00:03"', maxsplit=1)[0])
    assert S.removal_edit(annotated, 'sno-b', 'sno-b-worker', 'annotate')[0] == annotated
    suppressed, info = S.removal_edit(annotated, 'sno-b', 'sno-b-worker', 'suppress')
    assert info['state'] == 'suppressed'
    node = sc_node(suppressed)
    assert node['crSuppression'] == ['BareMetalHost'] and node['crAnnotations']['add']['BareMetalHost'][ANN] == 'true'
    assert S.removal_edit(suppressed, 'sno-b', 'sno-b-worker', 'suppress')[0] == suppressed
    removed, info = S.removal_edit(suppressed, 'sno-b', 'sno-b-worker', 'remove')
    assert info['state'] == 'absent'
    assert [n['hostName'] for n in L.load_documents(removed)[0]['spec']['clusters'][1]['nodes']] == ['sno-b-master']
    assert removed.startswith(text.split('      # the worker of rack 7', maxsplit=1)[0])
    again, info = S.removal_edit(removed, 'sno-b', 'sno-b-worker', 'remove')
    assert again == removed and (info['state_before'], info['state']) == ('absent', 'absent')
    assert 'not a node of cluster sno-b' in info['message'] and 'its nodes: sno-b-master' in info['message']


def test_siteconfig_existing_annotations_and_suppression_are_extended():
    text = SNO_SITECONFIG.replace('        bootMACAddress: "AA:BB:CC:00:00:03"\n',
                                  '        bootMACAddress: "AA:BB:CC:00:00:03"\n        crAnnotations:\n          add:\n'
                                  '            BareMetalHost:\n              example.com/rack: "7"\n'
                                  '        crSuppression:\n          - NMStateConfig\n')
    annotated = S.removal_edit(text, 'sno-b', 'sno-b-worker', 'annotate')[0]
    assert sc_node(annotated)['crAnnotations']['add']['BareMetalHost'] == {'example.com/rack': '7', ANN: 'true'}
    suppressed = S.removal_edit(annotated, 'sno-b', 'sno-b-worker', 'suppress')[0]
    assert sc_node(suppressed)['crSuppression'] == ['NMStateConfig', 'BareMetalHost']
    # a false value is made true
    falsy = text.replace('example.com/rack: "7"', '%s: "false"' % ANN)
    assert sc_node(S.removal_edit(falsy, 'sno-b', 'sno-b-worker', 'annotate')[0])['crAnnotations']['add']['BareMetalHost'][ANN] == 'true'


def test_clusterinstance_steps_use_extra_annotations_and_prune_manifests():
    text = clusterinstance_with_worker()
    annotated, info = S.removal_edit(text, 'ci-sno', 'worker-0.example.com', 'annotate', 'ci.yaml')
    assert info['format'] == S.FORMAT_CLUSTERINSTANCE and info['state'] == 'annotated'
    node = L.load_documents(annotated)[1]['spec']['nodes'][1]
    assert node['extraAnnotations'] == {'BareMetalHost': {ANN: 'true'}}
    suppressed, info = S.removal_edit(annotated, 'ci-sno', 'worker-0.example.com', 'suppress', 'ci.yaml')
    node = L.load_documents(suppressed)[1]['spec']['nodes'][1]
    assert node['pruneManifests'] == [{'apiVersion': 'metal3.io/v1alpha1', 'kind': 'BareMetalHost'}]
    assert 'suppressedManifests' not in node and info['state'] == 'suppressed'
    assert S.removal_edit(suppressed, 'ci-sno', 'worker-0.example.com', 'suppress')[0] == suppressed
    removed = S.removal_edit(suppressed, 'ci-sno', 'worker-0.example.com', 'remove')[0]
    assert [n['hostName'] for n in L.load_documents(removed)[1]['spec']['nodes']] == ['ci-sno-master']


def test_bad_input_is_refused_naming_field_value_and_fix():
    errors = errors_of(lambda: S.removal_edit(SNO_SITECONFIG, 'sno-b', 'sno-b-wroker', 'annotate', 'site.yaml'))
    assert errors[0].field == 'node.hostName' and errors[0].value == 'sno-b-wroker'
    assert 'sno-b-master, sno-b-worker' in errors[0].describe() and 'site.yaml' in errors[0].describe()
    errors = errors_of(lambda: S.removal_edit(SNO_SITECONFIG, 'sno-b', 'sno-b-master', 'annotate'))
    assert 'the only master' in errors[0].describe() and 'workers: sno-b-worker' in errors[0].describe()
    errors = errors_of(lambda: S.removal_edit(SNO_SITECONFIG, 'sno-b', 'sno-b-worker', 'prune'))
    assert errors[0].field == 'removal_step' and 'annotate, suppress, remove, status' in errors[0].describe()
    assert S.removal_edit(SNO_SITECONFIG, 'sno-b', 'gone', 'status')[1]['state'] == 'absent'
    assert S.removal_edit(SNO_SITECONFIG, 'sno-b', 'sno-b-worker', 'status') == (SNO_SITECONFIG, {
        'format': S.FORMAT_SITECONFIG_V2, 'state_before': 'present', 'state': 'present', 'message': ''})
    assert S.removal_edit(SNO_SITECONFIG, 'sno-b', 'gone', 'annotate', absent_ok=True)[1]['state'] == 'absent'
    errors = errors_of(lambda: S.removal_edit(SNO_SITECONFIG, 'sno-x', 'sno-b-worker', 'annotate'))
    assert errors[0].field == 'cluster' and 'sno-a, sno-b' in errors[0].describe()


def test_safe_order_is_enforced():
    errors = errors_of(lambda: S.removal_edit(SNO_SITECONFIG, 'sno-b', 'sno-b-worker', 'suppress'))
    assert errors[0].field == 'node.crAnnotations.add.BareMetalHost' and 'OCPBUGS-38801' in errors[0].describe()
    errors = errors_of(lambda: S.removal_edit(SNO_SITECONFIG, 'sno-b', 'sno-b-worker', 'remove'))
    assert errors[0].field == 'node.crSuppression' and 'without the Agent and spoke Node cleanup' in errors[0].describe()
    text = clusterinstance_with_worker()
    errors = errors_of(lambda: S.removal_edit(text, 'ci-sno', 'worker-0.example.com', 'remove'))
    assert errors[0].field == 'node.pruneManifests'


def test_bad_shapes_are_refused():
    text = SNO_SITECONFIG.replace('        bootMACAddress: "AA:BB:CC:00:00:03"\n',
                                  '        bootMACAddress: "AA:BB:CC:00:00:03"\n        crAnnotations: [BareMetalHost]\n')
    errors = errors_of(lambda: S.removal_edit(text, 'sno-b', 'sno-b-worker', 'annotate'))
    assert errors[0].field == 'node.crAnnotations' and 'a mapping' in errors[0].describe()


def test_clusterinstance_in_provisioning_is_refused():
    text = clusterinstance_with_worker() + ('status:\n  conditions:\n    - type: Provisioned\n      status: "False"\n'
                                            '      reason: InProgress\n')
    errors = errors_of(lambda: S.removal_edit(text, 'ci-sno', 'worker-0.example.com', 'annotate'))
    assert errors[0].value == 'InProgress'


def test_apply_removal_batches_one_file_and_writes_nothing_on_error(tmp_path):
    path = tmp_path / 'site.yaml'
    path.write_text(SNO_SITECONFIG)
    with pytest.raises((ZtpInputError, ZtpInputErrors)):
        S.apply_removal(str(path), [('sno-b', 'sno-b-worker'), ('sno-a', 'nope')], 'annotate')
    assert path.read_text() == SNO_SITECONFIG
    result = S.apply_removal(str(path), [('sno-b', 'sno-b-worker')], 'annotate', check_mode=True)
    assert result['changed'] and path.read_text() == SNO_SITECONFIG
    result = S.apply_removal(str(path), [('sno-b', 'sno-b-worker')], 'annotate')
    assert result['changed'] and result['nodes'][0]['state'] == 'annotated' and result['nodes'][0]['cluster'] == 'sno-b'
    assert S.apply_removal(str(path), [('sno-b', 'sno-b-worker')], 'annotate')['changed'] is False


def test_set_nodes_gives_the_new_workers_bare_metal_host_annotations_in_each_format():
    marks = {'ztp.sno-expand/reinstall-generation': '2'}
    text, outcomes = S.set_nodes(SNO_SITECONFIG, [('sno-b', worker(), None, marks)])
    assert outcomes[0]['error'] is None
    node = [n for n in yaml.safe_load(text)['spec']['clusters'][1]['nodes'] if n['hostName'] == 'worker-0.example.com'][0]
    assert node['crAnnotations'] == {'add': {'BareMetalHost': marks}}
    own = worker(crAnnotations={'add': {'BareMetalHost': {'keep': 'me'}}})
    text, outcomes = S.set_nodes(SNO_SITECONFIG, [('sno-b', own, None, marks)])
    node = [n for n in yaml.safe_load(text)['spec']['clusters'][1]['nodes'] if n['hostName'] == 'worker-0.example.com'][0]
    assert node['crAnnotations']['add']['BareMetalHost'] == dict(marks, keep='me')
    assert own['crAnnotations'] == {'add': {'BareMetalHost': {'keep': 'me'}}}  # the caller's entry is not changed
    text, outcomes = S.set_nodes(SNO_CLUSTERINSTANCE, [('ci-sno', worker(), None, marks)])
    doc = [d for d in yaml.safe_load_all(text) if d['kind'] == 'ClusterInstance'][0]
    assert [n for n in doc['spec']['nodes'] if n['hostName'] == 'worker-0.example.com'][0]['extraAnnotations'] == {
        'BareMetalHost': marks}
