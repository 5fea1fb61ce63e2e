# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Credentials and transport options of the modules that talk to the GitOps remote.
    DOCUMENTATION = r"""
options:
  token:
    description:
      - Token (or password) for an https remote, passed to Git through a C(GIT_ASKPASS) helper.
      - Defaults to the E(ZTP_GIT_TOKEN) environment variable.
    type: str
  username:
    description: User name sent with O(token) to an https remote.
    type: str
    default: git
  ssh_key_file:
    description: Private key for an ssh remote (C(ssh -i KEY -o IdentitiesOnly=yes -o BatchMode=yes)).
    type: path
  ssh_known_hosts_file:
    description: Known-hosts file for an ssh remote; host keys are checked strictly against it.
    type: path
  accept_new_host_keys:
    description: Accept and record host keys of ssh remotes not seen before (C(StrictHostKeyChecking=accept-new)).
    type: bool
    default: false
  timeout:
    description: Seconds each Git command may take.
    type: int
    default: 300
"""
