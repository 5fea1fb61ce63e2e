#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ztp_argocd_sync
short_description: Wait until ArgoCD has synced a pushed GitOps commit
version_added: 0.1.0
author:
  - ztp.sno_expand maintainers (@ztp)
description:
  - Waits until every named ArgoCD C(Application) that tracks O(branch) of O(repo) has compared and synced the pushed
    commit O(revision), or a later commit that contains it (another run may push on top meanwhile), so that nothing
    on the hub is judged on the old content. ArgoCD looks at Git every three minutes unless asked to refresh; until
    it has synced, a ClusterGroupUpgrade finds the old policies compliant and remediates nothing.
  - An Application is done when C(status.sync.revision) (C(status.sync.revisions) for the sources of a
    multi-source Application) is the commit or a later one and C(status.sync.status) is C(Synced).
  - Fails at once, with the Application's own text, when ArgoCD compared the commit and reports an error condition
    (C(ComparisonError) such as C(Failed to load target state ... no such file or directory), C(SyncError),
    C(InvalidSpecError)), or when the sync operation of the commit ended C(Failed) or C(Error).
  - Fails after O(wait_timeout) seconds naming each Application not synced, the revision and status it shows, its
    error conditions, and, for an Application without an automated sync policy, how to sync it.
  - Applications that do not exist, or whose sources track another repository or branch, are not waited for;
    they are listed in RV(skipped). So are Applications that cannot be read (no hub client, no ArgoCD on the hub, no
    permission to read them), with a warning, since the later steps then may meet the hub's old content.
  - With O(repo_dir), a revision the Application shows is judged against the working copy the push came from
    (C(git merge-base --is-ancestor)); a revision the working copy does not have was pushed after it. Without it,
    only the pushed commit itself counts.
  - Runs in the controller process (action plugin) and prints each Application's state as it changes. Hub
    credentials resolve as for kubernetes.core modules, from the options (and C(module_defaults)), then the
    E(K8S_AUTH_*) variables of the task's and play's C(environment) keyword and of the controller.
  - With O(refresh), first asks ArgoCD to compare each of those Applications with Git at once (annotation
    C(argocd.argoproj.io/refresh=normal), which ArgoCD removes when it has compared); otherwise ArgoCD sees the commit
    at its next poll. An Application the hub user may not patch only costs that poll, with a warning. Nothing else is
    written.
  - In check mode nothing was pushed, so the module is not run by the roles; run on its own in check mode it asks for
    no refresh and reports the current state once without waiting.
extends_documentation_fragment:
  - ztp.sno_expand.hub_auth
options:
  applications:
    description: The ArgoCD Applications that render the repository (in ZTP, C(clusters) and C(policies)).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the Application.
        type: str
        required: true
      namespace:
        description: Namespace of the Application.
        type: str
        default: openshift-gitops
  revision:
    description: Full commit id of the pushed commit (RV(ztp.sno_expand.ztp_gitops_publish#module:commit)).
    type: str
    required: true
  repo:
    description: URL of the GitOps repository the commit was pushed to. Compared with each Application's
      C(repoURL) without scheme, user, C(.git) suffix and trailing slash.
    type: str
    required: true
  branch:
    description: Branch the commit was pushed to. A source tracks it when its C(targetRevision) is the branch,
      C(refs/heads/<branch>), C(HEAD) or empty.
    type: str
    default: main
  repo_dir:
    description: Working copy the commit was pushed from, to tell later commits from older ones.
    type: path
  refresh:
    description: Ask ArgoCD to compare each Application that tracks O(branch) with Git at once, before waiting.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait. ArgoCD polls Git every 180 s by default and then renders; the default leaves room
      for a slow render. V(0) asks for the refresh, reports the current state once and does not wait.
    type: int
    default: 600
  poll_interval:
    description: Seconds between two reads of each Application.
    type: float
    default: 2.0
"""

EXAMPLES = r"""
- name: Commit and push the batch's changes
  ztp.sno_expand.ztp_gitops_publish:
    repo_dir: /var/lib/ztp/gitops
    paths: [site-policies/sno-a-workers.yaml, site-policies/kustomization.yaml]
    commit_message: Add worker policies for sno-a
  register: published

- name: Wait until ArgoCD has synced the pushed commit
  ztp.sno_expand.ztp_argocd_sync:
    applications:
      - name: clusters
      - name: policies
    revision: "{{ published.commit }}"
    repo: https://git.example.com/ran/ztp-gitops.git
    branch: main
    repo_dir: /var/lib/ztp/gitops
  when: published.pushed
"""

RETURN = r"""
applications:
  description: Each Application waited for, its final state (C(synced), or C(waiting) in check mode) and what it
    showed last.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "policies", "namespace": "openshift-gitops", "state": "synced", "message": "Synced at 4d5e6f700c5f"}]
skipped:
  description: Applications not waited for, with the reason (not found, or tracking another repository or branch).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "clusters", "namespace": "openshift-gitops", "reason": "not found"}]
waited:
  description: Seconds waited.
  returned: always
  type: float
"""

from ansible_collections.ztp.sno_expand.plugins.module_utils import _argocd as argocd
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpError, error_result
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import Hub, hub_argument_spec, hub_module


def main():
    module = hub_module(hub_argument_spec(argocd.module_args()), supports_check_mode=True)
    try:
        argocd.check_params(module.params)
        is_ours = argocd.revision_checker(module.params["revision"], module.params["repo_dir"])
        result = argocd.run(argocd.LazyHub(lambda: Hub.from_module(module)), module.params, is_ours,
                            check_mode=module.check_mode)
    except ZtpError as exc:
        module.fail_json(**error_result(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
