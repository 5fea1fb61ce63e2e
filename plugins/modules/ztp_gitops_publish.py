#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ztp_gitops_publish
short_description: Commit exactly the given files of the GitOps working copy and push them
version_added: 0.1.0
description:
  - Commits exactly the files given in O(paths) (added, modified or deleted) in one commit and pushes it to
    O(branch). Other changed files of the working copy, staged or not, are left alone and not committed.
  - When the push is rejected because the remote branch moved, fetches it, rebases the local commit onto it
    and pushes again, up to O(retries) times with a short backoff. It never force-pushes.
  - On a rebase conflict the rebase is aborted and the module fails, naming the conflicting files; the local
    commit stays on the local branch and nothing is pushed.
  - Nothing to commit and nothing left to push is no change. Local commits not yet on the remote (for example
    left by an interrupted run) are pushed.
  - Uncommitted changes of other files are set aside during a rebase and put back afterwards as they were (a
    staged change stays staged). Should they conflict with the rebased commits they are left in a stash that the
    message names, never applied with conflict markers.
  - A push refused by a hook of the Git server fails with the hook's message (result C(hook_declined)); running
    again unchanged would be refused the same way.
  - Temporary files of the collection's writers (C(.<name>.ztp-tmp-<pid>-<random>), left by a killed run) are never
    committed; those of ended processes are removed.
  - Credentials never appear in URLs, command lines, the Git configuration, results or messages.
author:
  - ztp.sno_expand maintainers (@ztp)
options:
  repo_dir:
    description: Root (or any folder) of the Git working copy, as made by M(ztp.sno_expand.ztp_gitops_checkout).
    type: path
    required: true
  paths:
    description:
      - Files (or folders) to commit, relative to the repository root or absolute inside the working copy.
    type: list
    elements: str
    required: true
  commit_message:
    description:
      - Commit message. (The option cannot be called C(message), a name Ansible keeps for itself.)
    type: str
    required: true
  author_name:
    description: Author and committer name of the commit.
    type: str
    default: ztp.sno_expand
  author_email:
    description: Author and committer e-mail of the commit.
    type: str
    default: ztp-sno-expand@localhost
  branch:
    description: Branch to commit on (the one checked out) and to push to.
    type: str
    default: main
  remote:
    description: Name of the remote to push to.
    type: str
    default: origin
  retries:
    description: How many times to fetch, rebase and push again after a push rejected because the remote moved.
    type: int
    default: 5
  push:
    description: Push the commit. With V(false) the commit is only made locally.
    type: bool
    default: true
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
    description: Reports the files that would be committed and their status; commits and pushes nothing.
  diff_mode:
    support: full
    description: Returns the C(git diff) of the files that would be committed.
notes:
  - Several forks may publish from the same working copy; the add, commit and push sequence is serialized
    with a lock. In fleet runs publish once (C(run_once)) with the paths of every host.
seealso:
  - module: ztp.sno_expand.ztp_gitops_checkout
"""

EXAMPLES = r"""
- name: Publish the files changed by every host of the batch in one commit
  ztp.sno_expand.ztp_gitops_publish:
    repo_dir: "{{ ztp_gitops_dir }}"
    paths: "{{ ansible_play_hosts | map('extract', hostvars, 'ztp_changed_paths') | flatten | unique }}"
    commit_message: "Add worker nodes to {{ ansible_play_hosts | join(', ') }}"
    author_name: ZTP automation
    author_email: ztp@example.com
  delegate_to: localhost
  run_once: true

- name: Commit without pushing
  ztp.sno_expand.ztp_gitops_publish:
    repo_dir: /var/tmp/ztp-gitops
    paths:
      - site-configs/sno-a/sno-a.yaml
    commit_message: Add sno-a-worker-0
    push: false
"""

RETURN = r"""
commit:
  description: Commit id of the local branch after the run (the new commit, rebased if the remote moved).
  returned: always
  type: str
  sample: 4d5e6f700c5f3b2a8d9e1f4a6b7c8d9e0f1a2b3c
pushed:
  description: Whether a push succeeded.
  returned: always
  type: bool
attempts:
  description: Number of push attempts made (0 when nothing was pushed).
  returned: always
  type: int
  sample: 1
files:
  description: Files (relative to the repository root) committed, or that would be committed in check mode.
  returned: always
  type: list
  elements: str
  sample: [site-configs/sno-a/sno-a.yaml]
file_status:
  description: Status of each file in RV(files) - V(added), V(modified) or V(deleted).
  returned: always
  type: dict
  sample: {site-configs/sno-a/sno-a.yaml: modified}
remote_commit:
  description: Commit id of the remote branch as last known (after a successful push, equal to RV(commit)).
  returned: always
  type: str
pending_commits:
  description: In check mode, local commits that would be pushed, as C(<short id> <subject>).
  returned: check mode
  type: list
  elements: str
diff:
  description: The C(git diff) of RV(files), with C(--diff).
  returned: with --diff and files to commit
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils import _gitops as gitops
from ansible_collections.ztp.sno_expand.plugins.module_utils._gitops import Git, GitError, publish


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repo_dir=dict(type="path", required=True),
            paths=dict(type="list", elements="str", required=True),
            commit_message=dict(type="str", required=True),
            author_name=dict(type="str", default="ztp.sno_expand"),
            author_email=dict(type="str", default="ztp-sno-expand@localhost"),
            branch=dict(type="str", default="main"),
            remote=dict(type="str", default="origin"),
            retries=dict(type="int", default=5),
            push=dict(type="bool", default=True),
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
    git = Git(token=p["token"], username=p["username"], ssh_key_file=p["ssh_key_file"],
              known_hosts_file=p["ssh_known_hosts_file"], accept_new_host_keys=p["accept_new_host_keys"],
              timeout=p["timeout"], author_name=p["author_name"], author_email=p["author_email"],
              connect_timeout=connect_timeout)
    gitops.unmask_short_token(module)
    try:
        with git:
            result = publish(git, p["repo_dir"], p["paths"], p["commit_message"], branch=p["branch"], remote=p["remote"],
                             retries=p["retries"], push=p["push"], check_mode=module.check_mode,
                             diff=module._diff)
    except (ZtpInputError, ZtpInputErrors) as exc:
        module.fail_json(msg=git.scrub(str(exc)))
    except GitError as exc:
        module.fail_json(msg=git.scrub(exc.msg), **exc.details)
    if "diff" in result:
        result["diff"] = {"prepared": result["diff"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
