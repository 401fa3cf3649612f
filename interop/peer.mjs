// Interop peer built on the OpenWallet Foundation @sd-jwt/* libraries (pinned at 0.19.0).
//
//   node peer.mjs verify        < request.json   verify an SD-JWT VC (+KB) esspass produced
//   node peer.mjs issue         < request.json   issue an SD-JWT VC and present it with a KB-JWT
//   node peer.mjs status-read                    serve a status list token esspass signed and read it
//   node peer.mjs status-serve  < request.json   create, sign and serve a status list token
//
// `verify` and `issue` read one JSON request on stdin and print one JSON object on stdout:
// {"ok": true, ...} (exit 0), {"ok": false, "error": "..."} when the peer rejected the input
// (exit 1); anything else (exit 2) is a broken harness. The two status commands talk line by line
// (see their functions). Everything these libraries do not check themselves (x5c chain, KB-JWT aud,
// status token sub) is checked here in plain node:crypto and reported under `script_checks`, so the
// test can tell the library's verdict from ours.

import { Jwt } from '@sd-jwt/core';
import { ES256 } from '@sd-jwt/crypto-nodejs';
import { StatusList, createHeaderAndPayload, getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { b64urlJson, checkChain, decodeCompact, instance, out, presentationFrame, privateJwkFromPem, readStdin, x5cFromPem, x5cVerifier } from './common.mjs';

// A peer process never outlives a broken test.
setTimeout(() => {
  process.stderr.write('peer.mjs: watchdog expired (120 s)\n');
  process.exit(3);
}, 120_000).unref();

// ---------------------------------------------------------------- helpers

function matches(pattern, path) {
  return pattern.length === path.length
    && pattern.every((s, i) => (s === null ? typeof path[i] === 'number' : s === path[i]));
}

/**
 * Build the library's disclosure frame from claim-path patterns (`null` = every array element):
 * every claim whose path matches becomes a disclosure; nested claims inside it become nested
 * disclosures (recursive disclosures); `decoys` adds decoy digests to each `_sd` and array.
 */
function disclosureFrame(value, path, sd, decoys) {
  const frame = {};
  const selected = [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [k, v] of entries) {
    const p = [...path, k];
    if (v !== null && typeof v === 'object') {
      const child = disclosureFrame(v, p, sd, decoys);
      if (child) frame[k] = child;
    }
    if (sd.some((pt) => matches(pt, p))) selected.push(k);
  }
  if (selected.length > 0) {
    frame._sd = selected;
    if (decoys) frame._sd_decoy = Array.isArray(value) ? 1 : 2;
  }
  return Object.keys(frame).length > 0 ? frame : undefined;
}


// ---------------------------------------------------------------- commands

/**
 * request: {presentation, nonce, aud, root}
 * The library verifies the issuer signature (key from the x5c leaf), iat/nbf/exp, the disclosures,
 * and — given keyBindingNonce — the KB-JWT's signature with cnf.jwk, typ, nonce and sd_hash.
 */
async function verify(req) {
  const { header } = decodeCompact(req.presentation.split('~')[0]);
  const scriptChecks = [];
  scriptChecks.push(checkChain(header.x5c ?? [], req.root));
  const result = await instance().verify(req.presentation, { keyBindingNonce: req.nonce });
  if (!result.kb) throw new Error('no KB-JWT was verified');
  // Not checked by the library: the KB-JWT audience.
  if (result.kb.payload.aud !== req.aud) throw new Error(`KB-JWT aud ${result.kb.payload.aud} is not ${req.aud}`);
  scriptChecks.push('KB-JWT aud matches');
  return { ok: true, header: result.header, claims: result.payload, kb: { header: result.kb.header, payload: result.kb.payload }, script_checks: scriptChecks };
}

/**
 * request: {vct, claims, key, chain, iss, sd: [pattern], disclose: [path], nonce, aud, root,
 *           decoys}
 * Issues with the institution's key and x5c, a fresh holder key in cnf.jwk, then presents the
 * chosen claims with a KB-JWT, then verifies its own presentation to report what it disclosed.
 */
async function issue(req) {
  const holder = await ES256.generateKeyPair();
  const issuerKey = privateJwkFromPem(req.key);
  const x5c = x5cFromPem(req.chain);
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: req.iss,
    iat: now,
    nbf: now,
    exp: now + 365 * 24 * 3600,
    vct: req.vct,
    cnf: { jwk: holder.publicKey },
    ...req.claims,
  };
  const frame = disclosureFrame(req.claims, [], req.sd, req.decoys !== false);
  const sdjwt = instance({
    signer: await ES256.getSigner(issuerKey),
    signAlg: ES256.alg,
    kbSigner: await ES256.getSigner(holder.privateKey),
    kbSignAlg: ES256.alg,
  });
  const credential = await sdjwt.issue(payload, frame, { header: { x5c } });
  const presentation = await sdjwt.present(credential, presentationFrame(req.disclose), {
    kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: req.aud, nonce: req.nonce } },
  });
  const own = await verify({ presentation, nonce: req.nonce, aud: req.aud, root: req.root });
  return { ok: true, credential, presentation, holder_jwk: holder.publicKey, frame, claims: own.claims, header: own.header };
}

/**
 * Reads a status list token signed by esspass through the library's own fetcher.
 *   1. listens on 127.0.0.1:0 and prints {"port": N}
 *   2. reads one JSON line: {token, path, expected: {idx: value}, credentials: {name: sd-jwt}}
 *      and serves `token` at `path` as application/statuslist+jwt (and at `path`-as-jwt with
 *      Content-Type application/jwt, which the library must refuse)
 *   3. prints the result line and exits.
 */
async function statusRead() {
  let served = { token: null, path: null };
  let hits = 0;
  const server = createServer((req, res) => {
    if (served.token && req.url === served.path) {
      hits += 1;
      res.writeHead(200, { 'Content-Type': 'application/statuslist+jwt' });
      res.end(served.token);
    } else if (served.token && req.url === `${served.path}-as-jwt`) {
      res.writeHead(200, { 'Content-Type': 'application/jwt' });
      res.end(served.token);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  out({ port });
  const rl = createInterface({ input: process.stdin });
  const line = await new Promise((resolve) => rl.once('line', resolve));
  rl.close();
  const req = JSON.parse(line);
  served = { token: req.token, path: req.path };
  const uri = `http://127.0.0.1:${port}${req.path}`;
  const result = { ok: true, uri };
  try {
    const sd = instance();
    // The library's fetcher (Accept and Content-Type application/statuslist+jwt).
    const token = await sd.statusListFetcher(uri);
    const jwt = Jwt.fromEncode(token);
    // Signature with the token's x5c leaf; iat/exp.
    await jwt.verify(x5cVerifier);
    result.header = jwt.header;
    result.claims = { sub: jwt.payload.sub, iat: jwt.payload.iat, exp: jwt.payload.exp, ttl: jwt.payload.ttl, bits: jwt.payload.status_list?.bits };
    result.script_checks = [checkChain(jwt.header.x5c ?? [], req.root)];
    const list = getListFromStatusListJWT(token);
    result.size = list.statusList.length;
    result.values = {};
    for (const idx of Object.keys(req.expected)) result.values[idx] = list.getStatus(Number(idx));
    try {
      list.getStatus(result.size);
      result.out_of_range = 'accepted';
    } catch (e) {
      result.out_of_range = `rejected: ${e.message}`;
    }
    try {
      await sd.statusListFetcher(`${uri}-as-jwt`);
      result.wrong_content_type = 'accepted';
    } catch (e) {
      result.wrong_content_type = `rejected: ${e.message}`;
    }
    // The whole SD-JWT VC path: signature, then status through statusListFetcher + statusValidator.
    result.credentials = {};
    for (const [name, cred] of Object.entries(req.credentials)) {
      try {
        const v = await sd.verify(cred);
        result.credentials[name] = { verified: true, status: v.payload.status };
      } catch (e) {
        result.credentials[name] = { verified: false, error: e.message };
      }
    }
  } catch (e) {
    result.ok = false;
    result.error = e.stack ?? String(e);
  }
  result.hits = hits;
  out(result);
  server.close();
  server.closeAllConnections?.();
}

/**
 * Creates a status list token with @sd-jwt/jwt-status-list, signed with the institution's key
 * (x5c header, typ statuslist+jwt), and serves it on loopback http until stdin closes.
 *   request (stdin, one line): {key, chain, size, bits, set: {idx: value}, path}
 *   prints {"port", "uri", "token"}; on stdin end prints {"hits": N} and exits.
 */
async function statusServe() {
  const rl = createInterface({ input: process.stdin });
  const lines = rl[Symbol.asyncIterator]();
  const first = await lines.next();
  const req = JSON.parse(first.value);
  let token = null;
  let hits = 0;
  const server = createServer((r, res) => {
    if (token && r.url === req.path) {
      hits += 1;
      res.writeHead(200, { 'Content-Type': 'application/statuslist+jwt' });
      res.end(token);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const uri = `http://127.0.0.1:${port}${req.path}`;
  const list = new StatusList(new Array(req.size).fill(0), req.bits);
  for (const [idx, value] of Object.entries(req.set)) list.setStatus(Number(idx), value);
  const now = Math.floor(Date.now() / 1000);
  const { header, payload } = createHeaderAndPayload(
    list,
    { sub: uri, iat: now, exp: now + 3600, ttl: 300 },
    { alg: ES256.alg, x5c: x5cFromPem(req.chain) },
  );
  token = await new Jwt({ header, payload }).sign(await ES256.getSigner(privateJwkFromPem(req.key)));
  out({ port, uri, token });
  // Serve until the test closes stdin.
  for await (const _ of { [Symbol.asyncIterator]: () => lines }) { /* ignore further lines */ }
  out({ hits });
  server.close();
  server.closeAllConnections?.();
}

// ---------------------------------------------------------------- main

const command = process.argv[2];
try {
  if (command === 'verify' || command === 'issue') {
    const req = JSON.parse(await readStdin());
    try {
      out(command === 'verify' ? await verify(req) : await issue(req));
      process.exitCode = 0;
    } catch (e) {
      out({ ok: false, error: e.message, stack: e.stack });
      process.exitCode = 1;
    }
  } else if (command === 'status-read') {
    await statusRead();
  } else if (command === 'status-serve') {
    await statusServe();
  } else {
    process.stderr.write(`usage: node peer.mjs verify|issue|status-read|status-serve (got ${command})\n`);
    process.exitCode = 2;
  }
} catch (e) {
  process.stderr.write(`peer.mjs ${command}: ${e.stack ?? e}\n`);
  process.exitCode = 2;
}
