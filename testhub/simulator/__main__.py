"""``python -m testhub.simulator --hub-kubeconfig K --spoke-kubeconfig S [--cluster-spoke CLUSTER=KUBECONFIG ...]
--git-url URL [--branch main] --state-dir DIR [--once]``."""

from __future__ import annotations

import argparse
import logging
import sys

from .core import TICK_SECONDS, Simulator


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testhub.simulator", description=__doc__)
    parser.add_argument("--hub-kubeconfig", required=True)
    parser.add_argument("--spoke-kubeconfig", default=None)
    parser.add_argument("--cluster-spoke", action="append", default=[], metavar="CLUSTER=KUBECONFIG",
                        help="another managed cluster with an API server of its own")
    parser.add_argument("--git-url", required=True)
    parser.add_argument("--branch", default="main")
    parser.add_argument("--state-dir", default=".hub/simulator")
    parser.add_argument("--tick", type=float, default=TICK_SECONDS, help="real seconds between ticks")
    parser.add_argument("--once", action="store_true", help="run one tick and exit")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    cluster_spokes = {}
    for entry in args.cluster_spoke:
        cluster, sep, path = entry.partition("=")
        if not sep or not cluster or not path:
            parser.error(f"--cluster-spoke {entry}: expected CLUSTER=KUBECONFIG")
        cluster_spokes[cluster] = path
    sim = Simulator(args.hub_kubeconfig, args.spoke_kubeconfig, args.git_url, branch=args.branch,
                    state_dir=args.state_dir, tick=args.tick, cluster_spokes=cluster_spokes)
    sim.run(once=args.once)
    return 0


if __name__ == "__main__":
    sys.exit(main())
