"""Make a kubernetes.core collection tarball from the copy in PyPI's ``ansible`` package, without Galaxy.

PyPI's ``ansible`` package is the only package registry that carries kubernetes.core. Its copy is the released
collection minus the files the package leaves out (tests, CI files, dotfiles), so its FILES.json lists files that
are not there. This writes ``kubernetes-core-<version>.tar.gz`` with the files of the package's copy, unchanged
(each checked against the published checksum), and a FILES.json and MANIFEST.json that list exactly those files,
in the layout of ``ansible-galaxy collection build``, so that ``ansible-galaxy collection install --offline`` and
the galaxy step of an execution-environment build accept it.

    python3 hack/k8s_core_tarball.py --ansible 12.3.0 --dest .      # prints the tarball's path on its last line

The ``ansible`` wheel is fetched with ``pip download`` (no dependencies) into ``--wheel-dir`` unless it is already
there.
"""

from __future__ import annotations

import argparse
import copy
import glob
import hashlib
import io
import json
import os
import posixpath
import subprocess
import sys
import tarfile
import zipfile

PREFIX = "ansible_collections/kubernetes/core/"


def fetch_wheel(version, wheel_dir):
    pattern = os.path.join(wheel_dir, "ansible-%s-py3-none-any.whl" % version)
    found = glob.glob(pattern)
    if found:
        return found[0]
    os.makedirs(wheel_dir, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
           "--only-binary", ":all:", "--dest", wheel_dir, "ansible==%s" % version]
    print("fetching the ansible %s wheel from PyPI: %s" % (version, " ".join(cmd)), file=sys.stderr)
    if subprocess.call(cmd) != 0:
        sys.exit("cannot download ansible==%s from the package index (pip download failed, see above)" % version)
    found = glob.glob(pattern)
    if not found:
        sys.exit("pip download ansible==%s produced no file matching %s" % (version, pattern))
    return found[0]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def build(wheel, dest):
    with zipfile.ZipFile(wheel) as whl:
        infos = {i.filename[len(PREFIX):]: i for i in whl.infolist()
                 if i.filename.startswith(PREFIX) and not i.is_dir()}
        if "MANIFEST.json" not in infos or "FILES.json" not in infos:
            sys.exit("%s has no kubernetes.core collection (%sMANIFEST.json)" % (wheel, PREFIX))
        manifest = json.loads(whl.read(infos.pop("MANIFEST.json")))
        published = json.loads(whl.read(infos.pop("FILES.json")))
        contents = {name: whl.read(info) for name, info in infos.items()}
        modes = {name: (0o755 if (info.external_attr >> 16) & 0o111 else 0o644) for name, info in infos.items()}

    dirs = {"."}
    for name in contents:
        parent = posixpath.dirname(name)
        while parent:
            dirs.add(parent)
            parent = posixpath.dirname(parent)

    entries = []
    listed = set()
    for entry in published["files"]:
        name = entry["name"]
        if entry["ftype"] == "dir":
            if name in dirs:
                entries.append(entry)
                listed.add(name)
        elif name in contents:
            if entry.get("chksum_sha256") != sha256(contents[name]):
                sys.exit("%s: %s differs from the published kubernetes.core (checksum)" % (wheel, name))
            entries.append(entry)
            listed.add(name)
    for name in sorted(dirs - listed):
        entries.append(dict(name=name, ftype="dir", chksum_type=None, chksum_sha256=None, format=1))
    for name in sorted(set(contents) - listed):
        entries.append(dict(name=name, ftype="file", chksum_type="sha256", chksum_sha256=sha256(contents[name]),
                            format=1))
    files = dict(published, files=entries)
    files_json = json.dumps(files, indent=True, sort_keys=True).encode("utf-8")
    manifest = copy.deepcopy(manifest)
    manifest["file_manifest_file"]["chksum_sha256"] = sha256(files_json)
    manifest_json = json.dumps(manifest, indent=True, sort_keys=True).encode("utf-8")

    info = manifest["collection_info"]
    out = os.path.join(dest, "%s-%s-%s.tar.gz" % (info["namespace"], info["name"], info["version"]))
    os.makedirs(dest, exist_ok=True)
    tmp = out + ".tmp"
    with tarfile.open(tmp, "w:gz", format=tarfile.GNU_FORMAT) as tar:
        def add(name, data=None, mode=0o644):
            member = tarfile.TarInfo(name)
            member.mtime = 0
            member.uname = member.gname = ""
            if data is None:
                member.type = tarfile.DIRTYPE
                member.mode = 0o755
                tar.addfile(member)
            else:
                member.size = len(data)
                member.mode = mode
                tar.addfile(member, io.BytesIO(data))
        add("MANIFEST.json", manifest_json)
        add("FILES.json", files_json)
        for entry in entries:
            if entry["name"] == ".":
                continue
            if entry["ftype"] == "dir":
                add(entry["name"])
            else:
                add(entry["name"], contents[entry["name"]], modes[entry["name"]])
    os.replace(tmp, out)
    return out, info["version"], len(contents), len(published["files"]) - len(entries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--ansible", required=True, help="version of PyPI's ansible package to take kubernetes.core from")
    parser.add_argument("--dest", required=True, help="folder for the tarball")
    parser.add_argument("--wheel-dir", default=os.path.join(os.environ.get("ZTP_CACHE") or os.path.expanduser(
        "~/.cache/ztp-sno-expand"), "wheels"), help="where the ansible wheel is kept (default: %(default)s)")
    args = parser.parse_args()
    wheel = fetch_wheel(args.ansible, args.wheel_dir)
    out, version, count, left_out = build(wheel, args.dest)
    print("kubernetes.core %s from %s: %d files (%d entries of the published FILES.json are not in the package)"
          % (version, os.path.basename(wheel), count, left_out), file=sys.stderr)
    print(out)


if __name__ == "__main__":
    main()
