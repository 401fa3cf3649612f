// Helpers shared by the interop peers built on the OpenWallet Foundation @sd-jwt/* libraries
// (peer.mjs, openid4vp.mjs): reading requests, x5c keys and chains checked in plain node:crypto,
// the library instance with our verifier callbacks, presentation frames.

import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

export function readStdin() {
  return new Promise((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (c) => { data += c; });
    process.stdin.on('end', () => resolve(data));
    process.stdin.on('error', reject);
  });
}

export function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

export function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/** PEM chain file → x5c (standard base64 DER, leaf first). */
export function x5cFromPem(path) {
  const pem = readFileSync(path, 'utf8');
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  return blocks.map((m) => m[1].replace(/\s+/g, ''));
}

/** PKCS#8 PEM → private JWK (what @sd-jwt/crypto-nodejs signs with). */
export function privateJwkFromPem(path) {
  return createPrivateKey(readFileSync(path, 'utf8')).export({ format: 'jwk' });
}

/** The JOSE header of a compact JWS given as `header.payload` (what the library's verifier gets). */
export function headerOf(signingInput) {
  return b64urlJson(signingInput.split('.')[0]);
}

/**
 * The library's `verifier` callback: the key comes from the leaf of the JWS's own `x5c` header,
 * extracted with node:crypto. The library hands us only `header.payload` and the signature.
 */
export async function x5cVerifier(data, signature) {
  const header = headerOf(data);
  if (header.alg !== 'ES256') return false;
  if (!Array.isArray(header.x5c) || header.x5c.length === 0) return false;
  const leaf = new X509Certificate(Buffer.from(header.x5c[0], 'base64'));
  const verify = await ES256.getVerifier(leaf.publicKey.export({ format: 'jwk' }));
  return verify(data, signature);
}

/** The library's `kbVerifier` callback: the key is the credential's `cnf.jwk`. */
export async function cnfVerifier(data, signature, payload) {
  const jwk = payload?.cnf?.jwk;
  if (!jwk) return false;
  const verify = await ES256.getVerifier(jwk);
  return verify(data, signature);
}

/** The trust anchor read from its PEM file once. */
const anchors = new Map();
function anchorOf(path) {
  if (!anchors.has(path)) anchors.set(path, new X509Certificate(readFileSync(path)));
  return anchors.get(path);
}

/**
 * x5c chain check done by this script (the library does none): each certificate is issued and
 * signed by the next, the last by the trust anchor; all are within their validity; the anchor is
 * not itself in x5c.
 */
export function checkChain(x5c, rootPemPath) {
  const certs = x5c.map((c) => new X509Certificate(Buffer.from(c, 'base64')));
  const root = anchorOf(rootPemPath);
  const now = Date.now();
  const issuers = [...certs.slice(1), root];
  certs.forEach((cert, i) => {
    const issuer = issuers[i];
    if (!cert.checkIssued(issuer)) throw new Error(`x5c[${i}] (${cert.subject}) is not issued by ${issuer.subject}`);
    if (!cert.verify(issuer.publicKey)) throw new Error(`x5c[${i}] signature does not verify with ${issuer.subject}`);
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) throw new Error(`x5c[${i}] is outside its validity`);
    if (cert.fingerprint256 === root.fingerprint256) throw new Error('the trust anchor is included in x5c');
  });
  return `x5c chain of ${certs.length} verified to ${root.subject.replace(/\n/g, ', ')}`;
}

export function instance(extra = {}) {
  return new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    verifier: x5cVerifier,
    kbVerifier: cnfVerifier,
    statusVerifier: x5cVerifier,
    ...extra,
  });
}

/** Concrete claim paths to disclose → the library's presentation frame. */
export function presentationFrame(paths) {
  const frame = {};
  for (const path of paths) {
    let node = frame;
    path.forEach((step, i) => {
      const k = String(step);
      if (i === path.length - 1) {
        if (node[k] === undefined) node[k] = true;
      } else {
        if (node[k] === undefined || node[k] === true) node[k] = {};
        node = node[k];
      }
    });
  }
  return frame;
}

export function decodeCompact(jwt) {
  const [h, p] = jwt.split('.');
  return { header: b64urlJson(h), payload: b64urlJson(p) };
}
