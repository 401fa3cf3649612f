"""Interop peer built on the IETF SD-JWT reference implementation (PyPI `sd-jwt` 0.10.4).

    python peer.py verify < request.json    verify an SD-JWT VC (+KB) esspass produced
    python peer.py issue  < request.json    issue an SD-JWT VC and present it with a KB-JWT

Reads one JSON request on stdin and prints one JSON object on stdout: {"ok": true, ...} (exit 0)
or {"ok": false, "error": "..."} when the peer rejected the input (exit 1); anything else (exit 2)
is a broken harness.

sd-jwt 0.10.4 predates RFC 9901: its default `typ` is `example+sd-jwt` (we set `dc+sd-jwt` and
`x5c` through `extra_header_parameters`), and its verifier checks neither `iat`/`nbf`/`exp`, nor the
KB-JWT `iat`, nor the x5c chain, nor unreferenced disclosures. The x5c chain is checked here with
`cryptography` and reported under `script_checks`.
"""

import base64
import json
import sys
import time
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def x5c_from_pem(path):
    with open(path, "rb") as f:
        certs = x509.load_pem_x509_certificates(f.read())
    return [base64.b64encode(c.public_bytes(Encoding.DER)).decode("ascii") for c in certs]


def leaf_key(header):
    """The issuer key: the public key of the leaf of the JWS's own x5c header."""
    if header.get("alg") != "ES256":
        raise ValueError(f"alg {header.get('alg')!r} is not ES256")
    x5c = header.get("x5c") or []
    if not x5c:
        raise ValueError("no x5c header")
    cert = x509.load_der_x509_certificate(base64.b64decode(x5c[0]))
    return JWK.from_pyca(cert.public_key())


def check_chain(x5c, root_path):
    """What the library does not do: each x5c certificate is issued by the next, the last by the
    trust anchor, all within their validity, the anchor not included."""
    certs = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in x5c]
    with open(root_path, "rb") as f:
        root = x509.load_pem_x509_certificate(f.read())
    now = datetime.now(timezone.utc)
    issuers = certs[1:] + [root]
    for i, (cert, issuer) in enumerate(zip(certs, issuers)):
        cert.verify_directly_issued_by(issuer)
        if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            raise ValueError(f"x5c[{i}] is outside its validity")
        if cert == root:
            raise ValueError("the trust anchor is included in x5c")
    return f"x5c chain of {len(certs)} verified to {root.subject.rfc4514_string()}"


def verify(req):
    presentation = req["presentation"]
    header = b64url_json(presentation.split("~")[0].split(".")[0])
    script_checks = [check_chain(header.get("x5c") or [], req["root"])]
    seen = {}

    def cb_get_issuer_key(iss, header_parameters):
        seen["iss"] = iss
        seen["header"] = header_parameters
        return leaf_key(header_parameters)

    # Signature (key from x5c), KB-JWT signature with cnf.jwk, typ kb+jwt, aud, nonce, sd_hash.
    v = SDJWTVerifier(presentation, cb_get_issuer_key, expected_aud=req["aud"], expected_nonce=req["nonce"])
    claims = v.get_verified_payload()
    kb = presentation.split("~")[-1]
    return {
        "ok": True,
        "header": seen.get("header"),
        "claims": claims,
        "kb": {"header": b64url_json(kb.split(".")[0]), "payload": b64url_json(kb.split(".")[1])},
        "script_checks": script_checks,
    }


def matches(pattern, path):
    return len(pattern) == len(path) and all(
        (isinstance(p, int) if s is None else s == p) for s, p in zip(pattern, path)
    )


def mark_sd(value, path, sd):
    """Wrap every claim whose path matches a pattern in SDObj (recursively: nested disclosures)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            p = path + [k]
            child = mark_sd(v, p, sd)
            out[SDObj(k) if any(matches(pt, p) for pt in sd) else k] = child
        return out
    if isinstance(value, list):
        out = []
        for i, v in enumerate(value):
            p = path + [i]
            child = mark_sd(v, p, sd)
            out.append(SDObj(child) if any(matches(pt, p) for pt in sd) else child)
        return out
    return value


def claims_to_disclose(paths):
    """Concrete paths → the library's disclosure selection (dicts, lists by position, True leaves)."""
    root = {}
    for path in paths:
        node = root
        for i, step in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, list):
                while len(node) <= step:
                    node.append(None)
                if last:
                    node[step] = node[step] or True
                else:
                    if not isinstance(node[step], (dict, list)):
                        node[step] = [] if isinstance(path[i + 1], int) else {}
                    node = node[step]
            else:
                if last:
                    node.setdefault(step, True)
                else:
                    if not isinstance(node.get(step), (dict, list)):
                        node[step] = [] if isinstance(path[i + 1], int) else {}
                    node = node[step]
    return root


def issue(req):
    issuer_key = JWK.from_pem(open(req["key"], "rb").read())
    holder_key = JWK.generate(kty="EC", crv="P-256")
    now = int(time.time())
    user_claims = {
        "iss": req["iss"],
        "iat": now,
        "nbf": now,
        "exp": now + 365 * 24 * 3600,
        "vct": req["vct"],
    }
    user_claims.update(mark_sd(req["claims"], [], req["sd"]))
    # "typ": null in the request keeps the library's default header typ (example+sd-jwt).
    header_parameters = {"x5c": x5c_from_pem(req["chain"])}
    if req.get("typ", "dc+sd-jwt") is not None:
        header_parameters["typ"] = req.get("typ", "dc+sd-jwt")
    issuer = SDJWTIssuer(
        user_claims,
        issuer_key,
        holder_key=holder_key,
        sign_alg="ES256",
        add_decoy_claims=req.get("decoys", True),
        extra_header_parameters=header_parameters,
    )
    credential = issuer.sd_jwt_issuance
    holder = SDJWTHolder(credential)
    holder.create_presentation(
        claims_to_disclose(req["disclose"]), nonce=req["nonce"], aud=req["aud"], holder_key=holder_key, sign_alg="ES256"
    )
    presentation = holder.sd_jwt_presentation
    own = verify({"presentation": presentation, "nonce": req["nonce"], "aud": req["aud"], "root": req["root"]})
    return {
        "ok": True,
        "credential": credential,
        "presentation": presentation,
        "holder_jwk": holder_key.export_public(as_dict=True),
        "claims": own["claims"],
        "header": own["header"],
        "decoys": len(issuer.decoy_digests),
    }


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("verify", "issue"):
        print("usage: python peer.py verify|issue < request.json", file=sys.stderr)
        return 2
    req = json.loads(sys.stdin.read())
    try:
        result = verify(req) if sys.argv[1] == "verify" else issue(req)
    except Exception as e:  # the peer's verdict: report it
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
