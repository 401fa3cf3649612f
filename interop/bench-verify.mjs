// Peer benchmark: verify the same SD-JWT+KB presentation N times with @sd-jwt/sd-jwt-vc 0.19.0 and
// @sd-jwt/crypto-nodejs, importing the issuer key (from the x5c leaf) and the holder key (cnf.jwk)
// on every verification, as a verifier meeting a credential for the first time does.
// The peer checks signatures, disclosures, KB-JWT (nonce, sd_hash) and iat/nbf/exp; it does not
// validate the x5c chain, a trusted list, the status list or the KB-JWT aud (INTEROP-NOTES).
// Two modes, both reported:
//   shipped — the library as it comes: it verifies the status list JWT and inflates the list on
//             every verification (no cache);
//   cached  — the status list verified and decoded once, then looked up per verification (what
//             esspass's cache does), by overriding SDJwtVcInstance.verifyStatus.
// Usage: node bench-verify.mjs PRESENTATION_FILE NONCE ITERATIONS [shipped|cached]
import { readFileSync } from 'node:fs';
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';
import { X509Certificate } from 'node:crypto';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest } from '@sd-jwt/crypto-nodejs';

const [file, nonce, iterArg, modeArg] = process.argv.slice(2);
const mode = modeArg || 'cached';
const presentation = readFileSync(file, 'utf8').trim();
const iterations = Number(iterArg || 2000);

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

async function verifyOnce() {
  const jwt = presentation.split('~')[0];
  const [h, p] = jwt.split('.');
  const header = b64urlJson(h);
  const payload = b64urlJson(p);
  const leaf = new X509Certificate(Buffer.from(header.x5c[0], 'base64'));
  const issuerJwk = leaf.publicKey.export({ format: 'jwk' });
  const issuerVerify = await ES256.getVerifier(issuerJwk);
  const holderVerify = await ES256.getVerifier(payload.cnf.jwk);
  const Cls = mode === 'cached' ? CachedStatusInstance : SDJwtVcInstance;
  const sdjwt = new Cls({
    hasher: digest,
    verifier: issuerVerify,
    kbVerifier: holderVerify,
    statusListFetcher: async () => statusToken,
  });
  const r = await sdjwt.verify(presentation, { keyBindingNonce: nonce });
  if (!r.kb) throw new Error('no key binding verified');
  return r;
}

// Status: fetched once here (as served), then given to the library from memory on every
// verification — the same "cached status" our side uses.
let statusToken = null;
{
  const payload = b64urlJson(presentation.split('~')[0].split('.')[1]);
  const uri = payload.status?.status_list?.uri;
  if (uri) statusToken = (await (await fetch(uri)).text()).trim();
}
let decodedList = null;
class CachedStatusInstance extends SDJwtVcInstance {
  async verifyStatus(result) {
    const sl = result.payload.status?.status_list;
    if (!sl) return;
    if (!decodedList) decodedList = getListFromStatusListJWT(statusToken);
    const status = decodedList.getStatus(sl.idx);
    if (status !== 0) throw new Error(`status ${status}`);
  }
}
const first = await verifyOnce();
const t0 = process.hrtime.bigint();
for (let i = 0; i < iterations; i++) await verifyOnce();
const ns = Number(process.hrtime.bigint() - t0);
console.log(JSON.stringify({
  peer: '@sd-jwt/sd-jwt-vc 0.19.0 + @sd-jwt/crypto-nodejs 0.19.0',
  mode,
  node: process.version,
  iterations,
  us_per_verification: ns / iterations / 1000,
  verifications_per_second: iterations / (ns / 1e9),
  disclosed_keys: Object.keys(first.payload).length,
}));
