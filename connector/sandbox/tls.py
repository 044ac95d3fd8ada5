"""A throw-away certificate authority for sandboxes that must speak HTTPS, as their vendor does.

Some SDKs hard-code ``https://`` (simple-salesforce builds every URL as ``https://{instance}/...``),
so a sandbox has to terminate TLS with a certificate the client can verify. ``trustme`` generates a
CA and a leaf certificate for ``127.0.0.1``/``localhost`` in memory at start (no openssl binary, no
files checked in); the CA certificate is written to a PEM file whose path the client trusts
(``requests.Session(verify=path)`` with ``trust_env=False``, because ``REQUESTS_CA_BUNDLE`` in the
environment otherwise wins over ``Session.verify``). Nothing here knows a vendor.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import ssl
import tempfile

__all__ = ["TestAuthority"]


class TestAuthority:
    """A CA plus a server certificate for the loopback names, and the CA's PEM file on disk.

    Args:
        ca_path: where to write the CA certificate (PEM); default: a new private temp directory,
            removed by :meth:`cleanup`.
        organization: the CA's organisation name, shown by clients that print certificate errors.
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, ca_path: str | os.PathLike[str] | None = None, organization: str = "connector sandbox test CA") -> None:
        import trustme  # imported here: only HTTPS sandboxes need it

        self._ca = trustme.CA(organization_name=organization)
        self._leaf = self._ca.issue_cert("127.0.0.1", "localhost", "::1")
        self._tempdir: str | None = None
        if ca_path is None:
            self._tempdir = tempfile.mkdtemp(prefix="sandbox-ca-")
            ca_path = os.path.join(self._tempdir, "ca.pem")
        self.ca_path = str(pathlib.Path(ca_path).resolve())
        pathlib.Path(self.ca_path).parent.mkdir(parents=True, exist_ok=True)
        self._ca.cert_pem.write_to_path(self.ca_path)

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context presenting the leaf certificate (TLS 1.2+)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._leaf.configure_cert(context)
        return context

    def server_pem(self) -> tuple[bytes, bytes]:
        """(private key PEM, certificate chain PEM) of the leaf, for servers that take PEM bytes (gRPC)."""
        return self._leaf.private_key_pem.bytes(), b"".join(blob.bytes() for blob in self._leaf.cert_chain_pems)

    def client_context(self) -> ssl.SSLContext:
        """A client-side context that trusts only this CA (tests of raw sockets)."""
        context = ssl.create_default_context(cafile=self.ca_path)
        return context

    def cleanup(self) -> None:
        """Remove the temp directory holding the CA file (a caller-chosen ``ca_path`` is kept)."""
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None
