// Browser tests of the portal, in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; no browser download), with axe-core on every page (WCAG 2.1 A and AA: zero
// violations allowed) and a screenshot of every step.
//
//   node browser.mjs NETWORK_JSON ESSPASS_BIN OUT_DIR
//
// NETWORK_JSON is what `esspass demo --serve` wrote. Ana Kos (insured at ZZZS, Slovenia) gets her PID
// from the demo PID provider into an `esspass wallet`; then, as a person would, in Slovenian and in
// English: the gateway's chooser → ZZZS's portal → "sign in with your wallet" (the wallet presents
// the PID behind the same-device link) → her documents → request the EHIC → the offer page with
// the transaction code → the wallet takes the EHIC → her documents show it valid → sign out; then the
// Spanish hospital's desk (in Spanish) verifies her EHIC: green, only the profile's claims; and an
// employer (in Greek) applies for an A1 at e-EFKA, errors first, then decided by the rules engine. The
// keyboard alone reaches the skip link first and the main content through it. Prints one JSON
// object: the pages checked, the screenshots, the violations; exit 0 only when there are none.
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [networkPath, esspass, outDir] = process.argv.slice(2);
const net = JSON.parse(readFileSync(networkPath, 'utf8'));
mkdirSync(outDir, { recursive: true });
const node = (name) => net.nodes.find((n) => n.name === name);
const anchor = net.trust_anchor;
const verifierList = join(net.pki, 'trusted-lists/verifiers.jwt');
const wallet = join(outDir, 'ana.esspass');
const walletEnv = { ...process.env, ESSPASS_WALLET: wallet, ESSPASS_WALLET_PASSPHRASE: 'the browser test wallet passphrase' };

function cli(args, walletFile = wallet) {
  const out = execFileSync(esspass, args, { env: { ...walletEnv, ESSPASS_WALLET: walletFile }, encoding: 'utf8' });
  return JSON.parse(out);
}

// A PID for `person` from the demo PID provider, into the wallet file `file`.
async function pidInto(person, file) {
  const p = await api('si-pid', 'back_office', 'POST', '/api/v1/persons', person);
  const o = await api('si-pid', 'back_office', 'POST', '/api/v1/credential-offers', { credential_configuration_id: 'pid', person_id: p.person_id });
  cli(['wallet', 'receive', '--json', '--tls-ca', anchor, '--tx-code', o.tx_code, o.credential_offer_uri], file);
}

async function api(nodeName, role, method, path, body) {
  const n = node(nodeName);
  const r = await fetch(n.url + path, {
    method,
    headers: { authorization: `Bearer ${n.api_keys[role]}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const v = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(v)}`);
  return v;
}

const pages = [];
const screenshots = [];
const violations = [];
let step = 0;

async function check(page, lang, name) {
  step += 1;
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  for (const v of results.violations) {
    violations.push({ page: name, lang, url: page.url(), id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) });
  }
  const file = join(outDir, `${String(step).padStart(2, '0')}-${lang}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
  pages.push({ lang, name, url: page.url(), title: await page.title() });
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

// Ana's PID, from the PID provider's register into her wallet.
await pidInto({ personal_number: 'SI1979061433', family_name: 'Kos', given_name: 'Ana', birth_date: '1979-06-14', nationality: 'SI', birth_country: 'SI', birth_place: 'Maribor' }, wallet);

const browser = await chromium.launch({
  executablePath: process.env.ESSPASS_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
let failure = null;
try {
  // A control: axe-core does find violations on a page made to have them.
  const controlContext = await browser.newContext();
  const control = await controlContext.newPage();
  await control.setContent('<html><body><img src="x.png"><input type="text"><a href="#"></a></body></html>');
  const found = await new AxeBuilder({ page: control }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(found.violations.length >= 2, 'axe-core finds the violations of the control page');
  await controlContext.close();
  for (const [lang, words] of [
    ['sl', { signIn: 'Prijava z denarnico', cont: 'Podatke sem delil(a) — nadaljuj', request: 'Zaprosi za evropsko kartico zdravstvenega zavarovanja', valid: 'Veljaven', signOut: 'Odjava', skip: 'Preskoči na glavno vsebino' }],
    ['en', { signIn: 'Sign in with your wallet', cont: 'I have shared my data — continue', request: 'Request a European Health Insurance Card', valid: 'Valid', signOut: 'Sign out', skip: 'Skip to main content' }],
  ]) {
    // The demo's certificates chain to its own root, which this browser does not know.
    const context = await browser.newContext({ locale: lang, ignoreHTTPSErrors: true, extraHTTPHeaders: { 'Accept-Language': lang } });
    const page = await context.newPage();
    // The gateway: procedure and country, a plain form.
    await page.goto(node('gateway').url + '/');
    await check(page, lang, 'gateway');
    await page.check('#p-ehic');
    await page.selectOption('#country', 'SI');
    await Promise.all([page.waitForURL(/\/portal\/ehic/), page.click('button[type=submit]')]);
    expect(page.url().startsWith(node('si-zzzs').url), `handed to ${page.url()}`);
    expect((await page.getAttribute('html', 'lang')) === lang, 'the portal speaks the browser\'s language');
    await check(page, lang, 'portal-ehic');
    // Keyboard only: the first Tab reaches the skip link, which leads to the main content.
    await page.keyboard.press('Tab');
    expect((await page.evaluate(() => document.activeElement?.textContent)) === words.skip, 'the skip link comes first');
    await page.keyboard.press('Enter');
    expect((await page.evaluate(() => document.activeElement?.id)) === 'main', 'the skip link moves the focus to the main content');
    // Sign in with the wallet: the QR code and the same-device link; the wallet presents the PID.
    await page.getByRole('button', { name: words.signIn }).click();
    await page.waitForSelector('a[href^="openid4vp://"]');
    await check(page, lang, 'sign-in');
    const link = await page.getAttribute('a[href^="openid4vp://"]', 'href');
    const presented = cli(['wallet', 'present', '--json', '--yes', '--trust-anchor', anchor, '--verifier-list', verifierList, link]);
    expect(presented.outcome === 'sent', `the wallet presented: ${JSON.stringify(presented)}`);
    await Promise.all([page.waitForURL(/\/portal\/documents/), page.getByRole('button', { name: words.cont }).click()]);
    await check(page, lang, 'documents');
    if (lang === 'sl') {
      // The EHIC: the offer page shows the code to her alone; her wallet takes the EHIC with it.
      await page.getByRole('button', { name: words.request }).click();
      await page.waitForSelector('#tx-code');
      await check(page, lang, 'offer');
      const code = (await page.textContent('#tx-code')).trim();
      const offer = await page.getAttribute('a[href^="openid-credential-offer://"]', 'href');
      const got = cli(['wallet', 'receive', '--json', '--tls-ca', anchor, '--tx-code', code, offer]);
      expect(got.received.length === 1, `the wallet received: ${JSON.stringify(got)}`);
      await page.goto(node('si-zzzs').url + '/portal/documents');
    }
    expect((await page.textContent('main')).includes(words.valid), 'her EHIC is listed as valid');
    await check(page, lang, 'documents-with-ehic');
    // The language switcher, then sign-out.
    await page.getByRole('link', { name: 'Ελληνικά' }).click();
    expect((await page.getAttribute('html', 'lang')) === 'el', 'the switcher changes the language');
    await check(page, 'el', 'documents-greek');
    await page.getByRole('link', { name: lang === 'sl' ? 'Slovenščina' : 'English' }).click();
    await Promise.all([page.waitForURL(/\/portal$/), page.getByRole('button', { name: words.signOut }).click()]);
    await check(page, lang, 'signed-out');
    await context.close();
  }
  // The employer (Yiannis Constructions, in Greek): the gateway hands it to e-EFKA; it signs in,
  // sends the A1 form empty (every error tied to its field), then right; the rules engine decides.
  {
    const context = await browser.newContext({ locale: 'el', ignoreHTTPSErrors: true, extraHTTPHeaders: { 'Accept-Language': 'el-GR,el;q=0.9' } });
    const page = await context.newPage();
    const efka = node('el-efka');
    await page.goto(node('gateway').url + '/');
    await page.check('#p-a1');
    await page.selectOption('#country', 'GR');
    await Promise.all([page.waitForURL(/\/portal\/employer/), page.click('button[type=submit]')]);
    expect(page.url().startsWith(efka.url), `handed to ${page.url()}`);
    await check(page, 'el', 'employer-sign-in');
    await page.fill('#key', efka.api_keys.employer);
    await Promise.all([page.waitForURL(/\/portal\/employer$/), page.getByRole('button', { name: 'Σύνδεση' }).click()]);
    await check(page, 'el', 'employer');
    await page.getByRole('link', { name: 'Νέα αίτηση A1' }).click();
    await page.waitForSelector('#worker');
    await check(page, 'el', 'a1-form');
    await page.getByRole('button', { name: 'Υποβολή' }).click();
    await page.waitForSelector('.error-summary');
    expect((await page.getAttribute('#worker', 'aria-invalid')) === 'true', 'the worker field is marked');
    await check(page, 'el', 'a1-form-errors');
    const eleni = await page.$eval('#worker option:not([value=""])', (o) => o.value);
    await page.selectOption('#worker', eleni);
    await page.fill('#employer_name', 'Yiannis Constructions S.A.');
    const today = new Date().toISOString().slice(0, 10);
    const end = new Date(Date.now() + 180 * 86400000).toISOString().slice(0, 10);
    await page.fill('#start', today);
    await page.fill('#end', end);
    await page.selectOption('#host', 'IT');
    await page.fill('#street', 'Via Torino');
    await page.fill('#house', '40');
    await page.fill('#postal', '20123');
    await page.fill('#locality', 'Milano');
    await page.fill('#turnover', '82');
    await page.fill('#contracts', '90');
    await page.fill('#admin_staff', '12');
    await page.check('#recruit_abroad-no');
    await page.check('#internal_only-no');
    await page.check('#replaces-no');
    await page.fill('#insured_since', '2019-04-01');
    await Promise.all([page.waitForURL(/\/portal\/employer\/applications\//), page.getByRole('button', { name: 'Υποβολή' }).click()]);
    expect((await page.textContent('#app-state')).includes('μηχανή κανόνων'), 'decided by the rules engine');
    expect((await page.textContent('#app-legislation')).trim() === 'GR', 'Greek legislation');
    await check(page, 'el', 'application');
    await page.getByRole('button', { name: 'Παράδοση του A1 στον εργαζόμενο' }).click();
    await page.waitForSelector('a[href^="openid-credential-offer://"]');
    await check(page, 'el', 'application-offer');
    // Eleni takes the PDA1 into her wallet: the offer carries no code; she signs in with her PID.
    const pda1Offer = await page.getAttribute('a[href^="openid-credential-offer://"]', 'href');
    await context.close();
    const eWallet = join(outDir, 'eleni.esspass');
    await pidInto({ personal_number: 'GR02117903355', family_name: 'Nikolaou', given_name: 'Eleni', birth_date: '1979-11-02', nationality: 'GR', birth_country: 'GR', birth_place: 'Volos' }, eWallet);
    const took = cli(['wallet', 'receive', '--json', '--sign-in-with-pid', '--client-id', 'esspass-demo-wallet', '--redirect-uri', 'https://127.0.0.1/esspass-demo-wallet/callback', '--trust-anchor', anchor, '--verifier-list', verifierList, '--yes', pda1Offer], eWallet);
    expect(took.received.length === 1, `the PDA1 reached her wallet: ${JSON.stringify(took)}`);
    // On the building site in Milan, the inspector's desk (in Italian) checks it: green.
    const ictx = await browser.newContext({ locale: 'it', ignoreHTTPSErrors: true, extraHTTPHeaders: { 'Accept-Language': 'it-IT,it;q=0.9' } });
    const desk = await ictx.newPage();
    const inl = node('it-inl');
    await desk.goto(inl.url + '/portal');
    await desk.fill('#key', inl.api_keys.verifier);
    await Promise.all([desk.waitForURL(/\/portal$/), desk.getByRole('button', { name: 'Accedi' }).click()]);
    await check(desk, 'it', 'inspector-desk');
    await Promise.all([desk.waitForURL(/\/portal\/verifications\//), desk.getByRole('button', { name: 'Avvia una verifica' }).first().click()]);
    const request = await desk.getAttribute('a[href^="openid4vp://"]', 'href');
    const shown = cli(['wallet', 'present', '--json', '--yes', '--trust-anchor', anchor, '--verifier-list', verifierList, request], eWallet);
    expect(shown.outcome === 'sent', `her wallet presented: ${JSON.stringify(shown)}`);
    await desk.getByRole('link', { name: 'Controlla la risposta' }).click();
    await desk.waitForSelector('#verdict');
    expect((await desk.textContent('#verdict')).trim() === 'Valido', 'the inspector sees the PDA1 valid');
    expect((await desk.textContent('main')).includes('Legislazione applicabile'), 'the legislation applicable, labelled in Italian');
    await check(desk, 'it', 'inspector-valid');
    await ictx.close();
  }
  // A case worker at e-EFKA (Dimitra, in Italian) signs in with her PID and decides an application
  // the rules engine left to a person: its reasons, the outcomes the law allows, her decision.
  {
    const efka = node('el-efka');
    const dimitra = net.staff.find((m) => m.name === 'dimitra.georgiou');
    const dWallet = join(outDir, 'dimitra.esspass');
    await pidInto({ personal_number: dimitra.personal_number, family_name: dimitra.family_name, given_name: dimitra.given_name, birth_date: dimitra.birth_date, nationality: 'GR', birth_country: 'GR', birth_place: dimitra.birth_place }, dWallet);
    // Yiannis Constructions applies for Georgios without the facts of its activity in Greece.
    const today = new Date().toISOString().slice(0, 10);
    const end = new Date(Date.now() + 120 * 86400000).toISOString().slice(0, 10);
    const georgios = await (await fetch(`${efka.url}/api/v1/persons?personal_number=GR12038501234`, { headers: { authorization: `Bearer ${efka.api_keys.back_office}` } })).json();
    const pending = await api('el-efka', 'employer', 'POST', '/api/v1/applications/a1', {
      person_id: georgios.person.person_id,
      application: { decision_date: today, person: { residence: 'GR', nationalities: ['GR'] }, activities: [{ kind: 'employed', period: { start: today, end }, employer: { name: 'Yiannis Constructions S.A.', id: 'EL094019245', seat: 'GR' }, states: [{ country: 'IT', working_time_share: 1, remuneration_share: 1 }], posting: { sending_state: 'GR', on_behalf_of_employer: true, replaces_posted_person: false, prior_insurance: [{ country: 'GR', start: '2015-09-01' }], previous_postings: [] } }] },
      work_information: { work_address: [{ street_address: 'Via Roma', house_number: '1', postal_code: '10121', locality: 'Torino', country: 'IT' }] },
    });
    expect(pending.state === 'pending_review', `a case for a person: ${pending.state}`);
    const context = await browser.newContext({ locale: 'it', ignoreHTTPSErrors: true, extraHTTPHeaders: { 'Accept-Language': 'it-IT,it;q=0.9' } });
    const page = await context.newPage();
    await page.goto(efka.url + '/portal/staff');
    await check(page, 'it', 'staff-sign-in');
    await page.getByRole('button', { name: 'Accedi con il portafoglio' }).click();
    await page.waitForSelector('a[href^="openid4vp://"]');
    const link = await page.getAttribute('a[href^="openid4vp://"]', 'href');
    const sent = cli(['wallet', 'present', '--json', '--yes', '--trust-anchor', anchor, '--verifier-list', verifierList, link], dWallet);
    expect(sent.outcome === 'sent', `her wallet presented: ${JSON.stringify(sent)}`);
    await Promise.all([page.waitForURL(/\/portal\/staff$/), page.getByRole('button', { name: 'Ho condiviso i miei dati — continua' }).click()]);
    await check(page, 'it', 'staff-queue');
    await Promise.all([page.waitForURL(/\/portal\/staff\/applications\//), page.locator(`a[href="/portal/staff/applications/${pending.application_id}"]`).click()]);
    await check(page, 'it', 'staff-application');
    await page.check('#choice-approve');
    await page.fill('#note', 'L\'attività sostanziale in Grecia risulta dal registro delle imprese.');
    await page.getByRole('button', { name: 'Registra la decisione' }).click();
    await page.waitForSelector('.notice');
    expect((await page.textContent('#app-state')).includes('Approvata da un operatore'), 'approved by the case worker');
    await check(page, 'it', 'staff-decided');
    await context.close();
  }
  // Lucía (insured at INSS, Spain) has no wallet app: the web wallet, in Spanish, in a second tab.
  // She creates it, takes her PID into it, signs in on INSS's portal through its consent page, and
  // takes her EHIC into it with the code.
  {
    const context = await browser.newContext({ locale: 'es', ignoreHTTPSErrors: true, extraHTTPHeaders: { 'Accept-Language': 'es-ES,es;q=0.9' } });
    const walletPage = await context.newPage();
    const portal = await context.newPage();
    const ww = node('wallet').url;
    const pid = await api('si-pid', 'back_office', 'POST', '/api/v1/persons', { personal_number: 'ES12345678Z', family_name: 'García', given_name: 'Lucía', birth_date: '1990-07-21', nationality: 'ES', birth_country: 'ES', birth_place: 'Valencia' });
    const pidOffer = await api('si-pid', 'back_office', 'POST', '/api/v1/credential-offers', { credential_configuration_id: 'pid', person_id: pid.person_id });
    await walletPage.goto(ww + '/wallet');
    await check(walletPage, 'es', 'web-wallet');
    await walletPage.fill('#new-name', 'lucia');
    await walletPage.fill('#new-pass', 'una frase de paso bastante larga');
    await Promise.all([walletPage.waitForURL(/\/wallet$/), walletPage.getByRole('button', { name: 'Crear una cartera nueva' }).click()]);
    await walletPage.fill('#offer', pidOffer.credential_offer_uri);
    await walletPage.fill('#tx_code', pidOffer.tx_code);
    await walletPage.getByRole('button', { name: 'Recibir' }).click();
    await walletPage.waitForSelector('.notice');
    expect((await walletPage.textContent('main')).includes('Datos de identificación personal'), 'the PID is in the web wallet');
    await check(walletPage, 'es', 'web-wallet-pid');
    await portal.goto(node('es-inss').url + '/portal/ehic');
    await portal.getByRole('button', { name: 'Iniciar sesión con su cartera' }).click();
    await portal.waitForSelector('a[href^="openid4vp://"]');
    const request = await portal.getAttribute('a[href^="openid4vp://"]', 'href');
    await walletPage.fill('#request', request);
    await walletPage.getByRole('button', { name: 'Continuar' }).click();
    await walletPage.waitForSelector('#disclosed');
    expect((await walletPage.textContent('#asks')).includes('INSS (ES)'), 'the consent page names the institution');
    await check(walletPage, 'es', 'web-wallet-consent');
    await walletPage.getByRole('button', { name: 'Compartir', exact: true }).click();
    await walletPage.waitForSelector('.notice');
    await Promise.all([portal.waitForURL(/\/portal\/documents/), portal.getByRole('button', { name: 'He compartido mis datos — continuar' }).click()]);
    await portal.getByRole('button', { name: 'Solicitar la Tarjeta Sanitaria Europea' }).click();
    await portal.waitForSelector('#tx-code');
    const code = (await portal.textContent('#tx-code')).trim();
    const offer = await portal.getAttribute('a[href^="openid-credential-offer://"]', 'href');
    await walletPage.fill('#offer', offer);
    await walletPage.fill('#tx_code', code);
    await walletPage.getByRole('button', { name: 'Recibir' }).click();
    await walletPage.waitForSelector('.notice');
    expect((await walletPage.textContent('main')).includes('Tarjeta Sanitaria Europea'), 'the EHIC is in the web wallet');
    await check(walletPage, 'es', 'web-wallet-ehic');
    await context.close();
  }
  // The Spanish hospital's desk, in Spanish: Ana shows her EHIC; green, only the profile's claims.
  {
    const context = await browser.newContext({ locale: 'es', ignoreHTTPSErrors: true, extraHTTPHeaders: { 'Accept-Language': 'es-ES,es;q=0.9' } });
    const page = await context.newPage();
    const hospital = node('es-hospital');
    // "Check a document" at the gateway hands the hospital's desk to its verifier's portal.
    await page.goto(node('gateway').url + '/');
    await page.check('#p-check');
    await page.selectOption('#country', 'ES');
    await Promise.all([page.waitForURL(/\/portal$/), page.click('button[type=submit]')]);
    expect(page.url().startsWith(hospital.url), `handed to ${page.url()}`);
    await check(page, 'es', 'desk-sign-in');
    await page.fill('#key', hospital.api_keys.verifier);
    await Promise.all([page.waitForURL(/\/portal$/), page.getByRole('button', { name: 'Iniciar sesión' }).click()]);
    await check(page, 'es', 'desk');
    await Promise.all([page.waitForURL(/\/portal\/verifications\//), page.getByRole('button', { name: 'Iniciar una verificación' }).first().click()]);
    await check(page, 'es', 'desk-waiting');
    const link = await page.getAttribute('a[href^="openid4vp://"]', 'href');
    const presented = cli(['wallet', 'present', '--json', '--yes', '--trust-anchor', anchor, '--verifier-list', verifierList, link]);
    expect(presented.outcome === 'sent', `the wallet presented: ${JSON.stringify(presented)}`);
    await page.getByRole('link', { name: 'Comprobar la respuesta' }).click();
    await page.waitForSelector('#verdict');
    expect((await page.textContent('#verdict')).trim() === 'Válido', 'the desk sees the EHIC valid');
    expect((await page.textContent('main')).includes('Número de documento') && !(await page.textContent('main')).includes('Kos') && !(await page.textContent('main')).includes('Maribor'), 'only the profile\'s claims, labelled in Spanish');
    await check(page, 'es', 'desk-valid');
    await context.close();
  }
} catch (e) {
  failure = String(e && e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify({ pages, screenshots, violations, failure }));
process.exit(failure || violations.length ? 1 : 0);
