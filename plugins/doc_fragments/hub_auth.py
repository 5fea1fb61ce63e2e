# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Hub connection options of the modules that talk to the hub. The options are kubernetes.core's
    # (AUTH_ARG_SPEC in kubernetes.core plugins/module_utils/args_common.py) and behave exactly as in its modules;
    # they are documented here so that the documentation of this collection renders without kubernetes.core
    # (galaxy-importer and Automation Hub run ansible-doc with this collection alone). Sanity's validate-modules
    # compares these options with the argument spec of each module.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig as a dictionary. Several files may be given, separated by
        C(:) (C(;) on Windows).
      - Without this and the other connection options, the client loads C(~/.kube/config).
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: raw
  context:
    description:
      - Name of a context of the kubeconfig. Can also be set with E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the hub's API server. Can also be set with E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token for the API server. Can also be set with E(K8S_AUTH_API_KEY).
    type: str
  username:
    description:
      - User name for HTTP basic authentication. Can also be set with E(K8S_AUTH_USERNAME).
      - Only for API servers that accept basic authentication; OpenShift does not (use a token or kubeconfig).
    type: str
  password:
    description:
      - Password for HTTP basic authentication, see O(username). Can also be set with E(K8S_AUTH_PASSWORD).
    type: str
  client_cert:
    description:
      - Client certificate file. Can also be set with E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Key file of the client certificate. Can also be set with E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  ca_cert:
    description:
      - CA certificate file (the full chain) to verify the API server's certificate with. Can also be set with
        E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  validate_certs:
    description:
      - Whether to verify the API server's certificate. Can also be set with E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  proxy:
    description:
      - URL of an HTTP proxy. Can also be set with E(K8S_AUTH_PROXY). E(HTTP_PROXY) and E(HTTPS_PROXY) are not used.
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains, addresses and CIDRs reached without the proxy. Can also be set with
        E(K8S_AUTH_NO_PROXY). E(NO_PROXY) is not used.
    type: str
  proxy_headers:
    description:
      - Headers sent to the HTTP proxy.
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(user:password) for the proxy's basic authentication. Can also be set with
            E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH).
        type: str
      basic_auth:
        description:
          - C(user:password) for a basic authentication header. Can also be set with
            E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH).
        type: str
      user_agent:
        description:
          - User agent sent to the proxy. Can also be set with E(K8S_AUTH_PROXY_HEADERS_USER_AGENT).
        type: str
  persist_config:
    description:
      - Whether refreshed tokens (for example OIDC) are written back to the kubeconfig file. Can also be set with
        E(K8S_AUTH_PERSIST_CONFIG).
    type: bool
  impersonate_user:
    description:
      - User to impersonate. Can also be set with E(K8S_AUTH_IMPERSONATE_USER).
    type: str
  impersonate_groups:
    description:
      - Groups to impersonate. Can also be set with E(K8S_AUTH_IMPERSONATE_GROUPS), comma-separated.
    type: list
    elements: str
notes:
  - The connection options are those of kubernetes.core's modules (its C(k8s_auth_options) documentation
    fragment) and resolve the same way, including the E(K8S_AUTH_*) environment variables.
"""
