"""Certificates, tokens and kubeconfigs of the test hub, made with the openssl command line tool.

Keys are ECDSA P-256: as good as RSA for a loopback test server and much quicker to generate on a busy machine.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess

import yaml

# Static token users of the hub and the spoke: (user name, uid, group).
USERS = (
    ("testhub-admin", "testhub-admin-uid", "system:masters"),
    ("hub-simulator", "hub-simulator-uid", "system:masters"),
)

_SERVER_EXT = """basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
"""

_CLIENT_EXT = """basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
authorityKeyIdentifier=keyid
"""


def _openssl(pki_dir: str, *args: str) -> None:
    proc = subprocess.run(["openssl", *args], cwd=pki_dir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {proc.stderr.strip()}")


def _write(path: str, text: str, mode: int = 0o600) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def token_file(pki_dir: str, user: str) -> str:
    """Path of the file holding the bearer token of a static user."""
    return os.path.join(pki_dir, f"{user}.token")


def read_token(pki_dir: str, user: str) -> str:
    with open(token_file(pki_dir, user), encoding="utf-8") as handle:
        return handle.read().strip()


def ensure_pki(pki_dir: str) -> None:
    """Create the CA, the serving and client certificates, the SA key pair and the token file once.

    The client certificate (CN testhub-probe, O system:masters) is used by the readiness probes only, so that an
    audit log counts the requests of testhub-admin and hub-simulator (token users) without them.

    Files that already exist are kept, so a restarted hub keeps trusting the kubeconfigs handed out before.
    """
    os.makedirs(pki_dir, mode=0o700, exist_ok=True)
    done = os.path.join(pki_dir, ".complete")
    if os.path.exists(done):
        return
    _openssl(pki_dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "3650", "-keyout", "ca.key", "-out", "ca.crt",
             "-subj", "/CN=ztp-testhub-ca", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _write(os.path.join(pki_dir, "apiserver.ext"), _SERVER_EXT)
    _write(os.path.join(pki_dir, "client.ext"), _CLIENT_EXT)
    _openssl(pki_dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "apiserver.key", "-out", "apiserver.csr",
             "-subj", "/CN=kube-apiserver")
    _openssl(pki_dir, "x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "3650", "-extfile", "apiserver.ext", "-out", "apiserver.crt")
    _openssl(pki_dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "admin.key", "-out", "admin.csr",
             "-subj", "/O=system:masters/CN=testhub-probe")
    _openssl(pki_dir, "x509", "-req", "-in", "admin.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "3650", "-extfile", "client.ext", "-out", "admin.crt")
    _openssl(pki_dir, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key")
    _openssl(pki_dir, "ec", "-in", "sa.key", "-pubout", "-out", "sa.pub")
    lines = []
    for user, uid, group in USERS:
        token = secrets.token_hex(16)
        _write(token_file(pki_dir, user), token + "\n")
        lines.append(f'{token},{user},{uid},"{group}"')
    _write(os.path.join(pki_dir, "tokens.csv"), "\n".join(lines) + "\n")
    for name in ("apiserver.csr", "admin.csr", "apiserver.ext", "client.ext", "ca.srl"):
        path = os.path.join(pki_dir, name)
        if os.path.exists(path):
            os.unlink(path)
    for name in os.listdir(pki_dir):
        os.chmod(os.path.join(pki_dir, name), 0o600)
    _write(done, "")


def _b64(path: str) -> str:
    with open(path, "rb") as handle:
        return base64.b64encode(handle.read()).decode("ascii")


def write_kubeconfig(pki_dir: str, url: str, out: str, name: str, user: str = "testhub-admin", mode: str = "token") -> None:
    """Write a kubeconfig with one cluster, one user and one context (CA data embedded)."""
    if mode == "token":
        creds = {"token": read_token(pki_dir, user)}
    else:
        creds = {
            "client-certificate-data": _b64(os.path.join(pki_dir, "admin.crt")),
            "client-key-data": _b64(os.path.join(pki_dir, "admin.key")),
        }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url, "certificate-authority-data": _b64(os.path.join(pki_dir, "ca.crt"))}}],
        "users": [{"name": f"{name}-{user}", "user": creds}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-{user}", "namespace": "default"}}],
        "current-context": name,
    }
    _write(out, yaml.safe_dump(config, sort_keys=False))
