#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ztp_gitops_checkout
short_description: Clone the GitOps repository or fast-forward an existing working copy
version_added: 0.1.0
description:
  - Clones the GitOps ZTP repository into O(dest), or brings the working copy already in O(dest) up to
    date with the remote branch by fetching and fast-forwarding it.
  - A working copy with commits that are not on the remote, or with uncommitted changes in tracked files,
    is left alone and the module fails, naming them, unless O(allow_local_changes=true). Untracked files are
    always kept.
  - A working copy whose history no longer meets the remote branch's (the remote repository was re-created, or
    its branch rewritten while the working copy has commits that are not on it) is left alone as well, even with
    O(allow_local_changes=true). The module then fails with one line that says so and how to recover (remove
    O(dest) or use another folder).
  - Credentials never appear in URLs, command lines, the Git configuration, results or messages. An https
    token is handed to Git through a temporary C(GIT_ASKPASS) helper, an ssh key through C(GIT_SSH_COMMAND).
author:
  - ztp.sno_expand maintainers (@ztp)
options:
  repo:
    description:
      - URL of the GitOps repository. ssh (V(git@host:org/repo.git), V(ssh://host/org/repo.git)),
        V(https://), V(http://), V(git://), V(file://) URLs and local paths are accepted.
      - URLs carrying a password or token are refused; use O(token).
    type: str
    required: true
  dest:
    description:
      - Folder of the working copy. Created by a clone when missing or empty.
    type: path
    required: true
  branch:
    description: Branch to check out and follow.
    type: str
    default: main
  depth:
    description: Clone only this many commits of history (shallow clone). Used when cloning only.
    type: int
  allow_local_changes:
    description:
      - Keep local commits and uncommitted changes in tracked files instead of failing. Local commits are
        rebased onto the remote branch, uncommitted changes are set aside and re-applied around the update (what
        was staged stays staged).
      - Uncommitted changes that would conflict with the remote's changes to the same lines are refused before
        anything is changed (no conflict markers, no stash left behind); the message names the files.
    type: bool
    default: false
  connect_timeout:
    description:
      - Seconds the Git remote host has to answer (ssh C(ConnectTimeout) and keep-alives; an http(s) remote that sends
        nothing for this long is given up). A failure names the host.
      - Default 30, or the environment variable E(ZTP_GIT_CONNECT_TIMEOUT).
    type: int
extends_documentation_fragment:
  - ztp.sno_expand.gitops_auth
attributes:
  check_mode:
    support: full
    description: Reads the remote branch with C(git ls-remote) and reports what would change.
  diff_mode:
    support: none
    description: Nothing to show; the commit ids before and after are returned.
notes:
  - Several forks may run this module on the same O(dest); updates of an existing working copy are serialized
    with a lock.
seealso:
  - module: ztp.sno_expand.ztp_gitops_publish
"""

EXAMPLES = r"""
- name: Check out the GitOps repository on the controller
  ztp.sno_expand.ztp_gitops_checkout:
    repo: git@git.example.com:telco/ztp-gitops.git
    dest: "{{ playbook_dir }}/.work/ztp-gitops"
    branch: main
    ssh_key_file: ~/.ssh/ztp_gitops
    ssh_known_hosts_file: ~/.ssh/known_hosts
  delegate_to: localhost
  run_once: true

- name: Check out over https with a token from the environment (ZTP_GIT_TOKEN)
  ztp.sno_expand.ztp_gitops_checkout:
    repo: https://git.example.com/telco/ztp-gitops.git
    dest: /var/tmp/ztp-gitops
"""

RETURN = r"""
before:
  description: Commit id of the working copy before the run; null when it was cloned.
  returned: always
  type: str
  sample: 0c5f3b2a8d9e1f4a6b7c8d9e0f1a2b3c4d5e6f70
after:
  description: Commit id of the working copy after the run (in check mode, the one it would have).
  returned: always
  type: str
  sample: 4d5e6f700c5f3b2a8d9e1f4a6b7c8d9e0f1a2b3c
branch:
  description: The branch checked out.
  returned: always
  type: str
  sample: main
cloned:
  description: Whether the repository was (or would be) cloned.
  returned: always
  type: bool
local_commits:
  description: Commits of the working copy that are not on the remote branch, as C(<short id> <subject>).
  returned: always
  type: list
  elements: str
local_changes:
  description: Tracked files with uncommitted changes, as C(git status --porcelain) lines.
  returned: always
  type: list
  elements: str
detached_head:
  description:
    - The commit id of the detached HEAD that the working copy was switched back from to I(branch), or null when
      it was on a branch. A detached HEAD is switched back only when all its commits are on a branch, a remote
      branch or a tag; a detached HEAD holding commits that are on no branch is refused, naming them (keep them
      with C(git branch <name> <commit>) first).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils import _gitops as gitops
from ansible_collections.ztp.sno_expand.plugins.module_utils._gitops import Git, GitError, checkout


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repo=dict(type="str", required=True),
            dest=dict(type="path", required=True),
            branch=dict(type="str", default="main"),
            depth=dict(type="int"),
            allow_local_changes=dict(type="bool", default=False),
            connect_timeout=dict(type="int"),
            **gitops.remote_argument_spec()
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        connect_timeout = gitops.connect_timeout_setting(p["connect_timeout"])
    except ZtpInputError as exc:
        module.fail_json(msg=str(exc))
    for secret in gitops.url_credentials(p["repo"]):
        module.no_log_values.add(secret)
    git = Git(token=p["token"], username=p["username"], ssh_key_file=p["ssh_key_file"],
              known_hosts_file=p["ssh_known_hosts_file"], accept_new_host_keys=p["accept_new_host_keys"],
              timeout=p["timeout"],
              connect_timeout=connect_timeout)
    gitops.unmask_short_token(module)
    try:
        with git:
            result = checkout(git, p["repo"], p["dest"], branch=p["branch"], depth=p["depth"],
                              allow_local_changes=p["allow_local_changes"], check_mode=module.check_mode)
    except (ZtpInputError, ZtpInputErrors) as exc:
        module.fail_json(msg=git.scrub(str(exc)))
    except GitError as exc:
        module.fail_json(msg=git.scrub(exc.msg), **exc.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
