//! The EESSI access point between two institution nodes over HTTPS (SQLite, and PostgreSQL when
//! `ESSPASS_TEST_POSTGRES` is set): Greece's e-EFKA sends SED A009 (LA_BUC_04) to Italy's INPS,
//! found in the Institution Repository; the message is durable in the outbox before it is sent,
//! delivered by the worker, kept once in INPS's inbox, and e-EFKA keeps INPS's signed receipt. A
//! duplicate gets the first receipt; a message signed by someone outside the repository, a tampered
//! one, one for another institution and an invalid SED get signed error receipts and nothing is
//! kept; a receiver that is down is retried with backoff until it answers; a receiver outside the
//! repository is refused at sending.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

#[path = "../../esspass-eessi/tests/common/mod.rs"]
mod seds;

use esspass_eessi::{BucType, CaseId, CdmVersion, Envelope, Message, MessageId, Sed, SedType};
use esspass_node::node::RunningNode;
use std::path::Path;
use support::now;

const BO: &str = "bo-eessi-test-key-0123456789";
const CW: &str = "cw-eessi-test-key-0123456789";

fn config(pki: &Path, slug: &str, id: &str, name: &str, country: &str, url: &str, db: &str) -> esspass_node::config::NodeConfig {
    let text = format!(
        "role = \"institution\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"{url}\"\ndatabase = \"{db}\"\nsecret_file = \"{slug}.secret\"\n\n[institution]\nid = \"{id}\"\nname = \"{name}\"\ncountry = \"{country}\"\nsigning_key = \"institutions/{slug}/signing.key\"\nchain = \"institutions/{slug}/chain.pem\"\ntls_key = \"institutions/{slug}/tls.key\"\ntls_chain = \"institutions/{slug}/tls-chain.pem\"\ncredential_types = [\"pda1\"]\n\n[status]\nlist_size = 65536\n\n[eessi]\ntrust_anchor = \"root/ca.pem\"\nrepository = \"trusted-lists/repository.jwt\"\ndeliver_every_seconds = 3600\n\n[[api_keys]]\nname = \"bo\"\nrole = \"back_office\"\nsha256 = \"{bo}\"\n\n[[api_keys]]\nname = \"cw\"\nrole = \"case_worker\"\nsha256 = \"{cw}\"\n",
        bo = esspass_store::hash_secret(BO),
        cw = esspass_store::hash_secret(CW)
    );
    std::fs::write(pki.join(format!("{slug}.toml")), text).unwrap();
    esspass_node::config::NodeConfig::load(&pki.join(format!("{slug}.toml"))).unwrap()
}

fn a009(message_id: &str, case: &str, receiver: &str) -> Message {
    Message {
        envelope: Envelope {
            sender: seds::inst("EL:EFKA01"),
            receiver: seds::inst(receiver),
            sed_type: SedType::A009,
            cdm_version: CdmVersion::V4_2,
            document_id: seds::doc(&format!("doc-{message_id}")),
            case_id: CaseId::parse(case).unwrap(),
            buc_type: BucType::parse("LA_BUC_04").unwrap(),
            message_id: MessageId::parse(message_id).unwrap(),
            created_at: time::OffsetDateTime::now_utc(),
        },
        sed: Sed::A009(seds::a009()),
    }
}

/// e-EFKA (Greece) and INPS (Italy) as two institution nodes over HTTPS, with a client trusting
/// the demo root.
struct Pair {
    el: RunningNode,
    url: String,
    it: RunningNode,
    it_url: String,
    c: reqwest::Client,
    root: esspass_credential::x509::Certificate,
}

async fn pair(el_db: &str, it_db: &str) -> Pair {
    let support::Setup { pki, listener, url, root } = support::setup("el-efka");
    let it_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let it_url = format!("https://127.0.0.1:{}", it_listener.local_addr().unwrap().port());
    esspass_keys::pki::reissue_institution(&pki, "it-inps", &it_url, time::OffsetDateTime::now_utc()).unwrap();
    let el = esspass_node::node::start(config(&pki, "el-efka", "EL:EFKA01", "e-EFKA", "GR", &url, el_db), Some(listener)).await.unwrap();
    let it = esspass_node::node::start(config(&pki, "it-inps", "IT:INPS01", "INPS", "IT", &it_url, it_db), Some(it_listener)).await.unwrap();
    let c = support::client(&root);
    Pair { el, url, it, it_url, c, root }
}

/// Georgios in e-EFKA's register, employed by Yiannis Constructions (a personal number per test).
fn georgios(personal_number: &str) -> serde_json::Value {
    serde_json::json!({"personal_number": personal_number, "family_name": "Papadopoulos", "given_name": "Georgios", "birth_date": "1985-03-12", "nationality": "GR", "employer_id": "EL094019245", "employment_start": "2015-09-01"})
}

/// The PDA1 of a decided application: offered by the back office, redeemed by a fresh wallet.
async fn issue_pda1(c: &reqwest::Client, url: &str, root: &esspass_credential::x509::Certificate, person_id: &serde_json::Value, application_id: &serde_json::Value) {
    let r = c.post(format!("{url}/api/v1/credential-offers")).bearer_auth(BO).json(&serde_json::json!({"credential_configuration_id": "pda1", "person_id": person_id, "application_id": application_id})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let offer: serde_json::Value = r.json().await.unwrap();
    let wallet = esspass_wallet::Oid4vciClient::new(std::slice::from_ref(&root.der)).unwrap();
    let o = wallet.resolve_offer(offer["credential_offer_uri"].as_str().unwrap()).await.unwrap();
    let (dpop, holder) = (esspass_credential::EcdsaP256Signer::generate().unwrap(), esspass_credential::EcdsaP256Signer::generate().unwrap());
    wallet.redeem(&o, offer["tx_code"].as_str(), &dpop, &[&holder]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a009_reaches_the_host_institution_once_with_a_signed_receipt() {
    let (a, b) = (support::databases("esspass_ap").await, support::databases("esspass_ap").await);
    for (el_db, it_db) in a.into_iter().zip(b) {
        let support::Setup { pki, listener, url, root } = support::setup("el-efka");
        // Italy's port, free while Italy is down (connections are refused at once).
        let it_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let it_url = format!("https://127.0.0.1:{it_port}");
        esspass_keys::pki::reissue_institution(&pki, "it-inps", &it_url, time::OffsetDateTime::now_utc()).unwrap();
        let el: RunningNode = esspass_node::node::start(config(&pki, "el-efka", "EL:EFKA01", "e-EFKA", "GR", &url, &el_db), Some(listener)).await.unwrap();
        let el_ap = el.state.eessi.clone().unwrap();
        // Italy is down at first: the message waits in the outbox.
        let msg = a009("msg-a009-1", "9000001", "IT:INPS01");
        let id = el_ap.send(&msg, now()).await.unwrap();
        assert_eq!(el_ap.deliver_due(now()).await, 0);
        let (state, attempts, error, _) = el.state.issuer.store.outbox_state(&id).await.unwrap().unwrap();
        assert_eq!((state.as_str(), attempts), ("pending", 1));
        assert!(error.unwrap().contains("POST"));
        // Not due again before its backoff.
        assert_eq!(el_ap.deliver_due(now()).await, 0);
        assert_eq!(el.state.issuer.store.outbox_state(&id).await.unwrap().unwrap().1, 1);
        // Italy comes up; the retry delivers.
        let it_listener = std::net::TcpListener::bind(("127.0.0.1", it_port)).unwrap();
        let it = esspass_node::node::start(config(&pki, "it-inps", "IT:INPS01", "INPS", "IT", &it_url, &it_db), Some(it_listener)).await.unwrap();
        assert_eq!(el_ap.deliver_due(now() + 3600).await, 1);
        let (state, _, _, receipt) = el.state.issuer.store.outbox_state(&id).await.unwrap().unwrap();
        assert_eq!(state, "delivered");
        let receipt = receipt.unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&esspass_credential::b64::decode(receipt.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert_eq!((payload["outcome"].as_str(), payload["receiver"].as_str(), payload["message_id"].as_str()), (Some("accepted"), Some("IT:INPS01"), Some("msg-a009-1")));
        let inbox = it.state.issuer.store.inbox_of_case("9000001").await.unwrap();
        assert_eq!(inbox.len(), 1);
        assert_eq!((inbox[0].sender.as_str(), inbox[0].sed_type.as_str()), ("EL:EFKA01", "A009"));
        let received = Message::decode(
            serde_json::from_slice::<serde_json::Value>(&esspass_credential::b64::decode(inbox[0].body.split('.').nth(1).unwrap()).unwrap()).unwrap()["sbd"].as_str().unwrap().as_bytes(),
            &Default::default(),
        )
        .unwrap();
        assert_eq!(received.sed, msg.sed, "the SED arrives as sent");
        // Nothing more to deliver.
        assert_eq!(el_ap.deliver_due(now() + 7200).await, 0);
        let client = support::client(&root);
        // Both sides keep the case: e-EFKA owns it and sent the A009, INPS joined and received it.
        let el_case = el.state.issuer.store.case("9000001").await.unwrap().unwrap();
        let it_case = it.state.issuer.store.case("9000001").await.unwrap().unwrap();
        assert_eq!((el_case.owner.as_str(), it_case.owner.as_str(), it_case.buc.as_str(), it_case.status.as_str()), ("EL:EFKA01", "EL:EFKA01", "LA_BUC_04", "open"));
        assert_eq!((el_case.body["documents"][0]["sed_type"].as_str(), el_case.body["documents"][0]["state"].as_str()), (Some("A009"), Some("sent")));
        assert_eq!((it_case.body["documents"][0]["sed_type"].as_str(), it_case.body["documents"][0]["state"].as_str()), (Some("A009"), Some("received")));
        // Registered at once: 12 months, GR legislation, work in Italy, sender competent.
        let registered = it.state.issuer.store.postings_in("registered").await.unwrap();
        assert_eq!(registered.len(), 1, "{:?}", it.state.issuer.store.postings_in("review").await.unwrap());
        // The same person again: overlapping, open-ended, naming Italy's own legislation for work in
        // France — a task for a case worker with every reason.
        let mut second = a009("msg-a009-2", "9000004", "IT:INPS01");
        if let Sed::A009(a) = &mut second.sed {
            a.decision.period.start_date = seds::d("2026-06-01");
            a.decision.period.end_date = None;
            a.decision.legislation_country = seds::c("IT");
            a.decision.for_duration_of_activity = true;
            a.work_place = vec![seds::work_place("FR")];
        }
        el_ap.send(&second, now()).await.unwrap();
        assert_eq!(el_ap.deliver_due(now() + 7200).await, 1);
        let review = it.state.issuer.store.postings_in("review").await.unwrap();
        assert_eq!(review.len(), 1);
        let reasons = review[0].reasons.join(" | ");
        for want in ["open_ended", "own_state_as_legislation", "not_host", "overlap"] {
            assert!(reasons.contains(want), "{want} in {reasons}");
        }
        assert_eq!(review[0].person_key, registered[0].person_key, "the person is found again by the keyed PIN");
        let resp = client.get(format!("{it_url}/api/v1/eessi/postings")).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "the queue needs a case worker's key");
        // The case worker rejects it: an X011 goes back to e-EFKA in the same case.
        let decide = |key: &'static str, id: String, body: serde_json::Value| {
            let client = client.clone();
            let url = format!("{it_url}/api/v1/eessi/postings/{id}/decision");
            async move {
                let r = client.post(url).bearer_auth(key).json(&body).send().await.unwrap();
                (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap_or_default())
            }
        };
        let mid = review[0].message_id.clone();
        let (s, _) = decide(BO, mid.clone(), serde_json::json!({"decision": "register"})).await;
        assert_eq!(s, 403, "the back office does not decide postings");
        let decision_url = format!("{it_url}/api/v1/eessi/postings/{mid}/decision");
        let stranger = client.post(&decision_url).json(&serde_json::json!({"decision": "register"})).send().await.unwrap();
        assert_eq!(stranger.status().as_u16(), 401, "a stranger decides nothing");
        let big = client.post(&decision_url).bearer_auth(CW).header("Content-Type", "application/json").body(vec![b' '; 10 * 1024 * 1024]).send().await.map(|r| r.status().as_u16());
        assert!(big.as_ref().map_or(true, |s| *s == 413), "a 10 MB body: {big:?}");
        let (s, v) = decide(CW, mid.clone(), serde_json::json!({"decision": "register", "note": "?"})).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-1010")), "an unknown field: {v}");
        assert_eq!(it.state.issuer.store.posting(&mid).await.unwrap().unwrap().state, "review", "nothing decided by refused requests");
        let (s, v) = decide(CW, mid.clone(), serde_json::json!({"decision": "reject", "reason": "other"})).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7008")), "other needs an explanation: {v}");
        let (s, v) = decide(CW, "nope".into(), serde_json::json!({"decision": "register"})).await;
        assert_eq!((s, v["code"].as_str()), (404, Some("ESP-7407")), "{v}");
        // First the case worker asks e-EFKA (A005); the posting waits and comes back to review
        // when e-EFKA's A006 answer arrives.
        let (s, v) = decide(CW, mid.clone(), serde_json::json!({"decision": "ask", "questions": []})).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7008")), "ask needs questions: {v}");
        let (s, v) = decide(CW, mid.clone(), serde_json::json!({"decision": "ask", "questions": ["Where in France does the person work, and for whom?"]})).await;
        assert_eq!((s, v["state"].as_str()), (200, Some("information_requested")), "{v}");
        let waiting: serde_json::Value = client.get(format!("{it_url}/api/v1/eessi/postings?state=information_requested")).bearer_auth(CW).send().await.unwrap().json().await.unwrap();
        assert_eq!(waiting.as_array().map(Vec::len), Some(1), "the postings waiting for an answer are listed: {waiting}");
        let it_ap = it.state.eessi.clone().unwrap();
        assert_eq!(it_ap.deliver_due(now() + 7200).await, 1);
        let el_case = el.state.issuer.store.case("9000004").await.unwrap().unwrap();
        let a005_id = el_case.body["documents"].as_array().unwrap().iter().find(|d| d["sed_type"] == "A005").unwrap()["id"].as_str().unwrap().to_owned();
        let a006 = Sed::A006(esspass_eessi::sed::A006 { person: seds::person_minimal(), answers: seds::dref(SedType::A005, &a005_id), answer: vec!["Chantier Lyon-Part-Dieu, for Yiannis Constructions S.A.".into()], additional_information: None });
        let r = client.post(format!("{url}/api/v1/eessi/cases/9000004/documents")).bearer_auth(CW).header("Content-Type", "application/xml").body(esspass_eessi::encode(&a006, CdmVersion::V4_2).unwrap()).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        assert_eq!(el_ap.deliver_due(now() + 7200).await, 1);
        assert_eq!(it.state.issuer.store.posting(&mid).await.unwrap().unwrap().state, "review", "the answer brings the posting back to review");
        let (s, v) = decide(CW, mid.clone(), serde_json::json!({"decision": "reject", "reason": "not_competent", "explanation": "Italian legislation for work in France: ask the French institution."})).await;
        assert_eq!((s, v["state"].as_str(), v["decided_by"].as_str()), (200, Some("rejected"), Some("api:cw")), "{v}");
        let (s, v) = decide(CW, mid.clone(), serde_json::json!({"decision": "register"})).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7408")), "decided once: {v}");
        assert_eq!(it_ap.deliver_due(now() + 7200).await, 1);
        let back = el.state.issuer.store.inbox_of_case("9000004").await.unwrap();
        assert_eq!(back.iter().map(|m| (m.sender.as_str(), m.sed_type.as_str())).collect::<Vec<_>>(), [("IT:INPS01", "A005"), ("IT:INPS01", "X011")]);
        let docs = |c: esspass_store::CaseRow| c.body["documents"].as_array().unwrap().iter().map(|d| (d["sed_type"].as_str().unwrap().to_owned(), d["state"].as_str().unwrap().to_owned())).collect::<Vec<_>>();
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(docs(it.state.issuer.store.case("9000004").await.unwrap().unwrap()), [pair("A009", "received"), pair("A005", "sent"), pair("A006", "received"), pair("X011", "sent")]);
        assert_eq!(docs(el.state.issuer.store.case("9000004").await.unwrap().unwrap()), [pair("A009", "sent"), pair("A005", "received"), pair("A006", "sent"), pair("X011", "received")]);
        let resp = client.get(format!("{it_url}/api/v1/eessi/postings?state=rejected")).bearer_auth(CW).send().await.unwrap();
        let rejected: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(rejected.as_array().map(Vec::len), Some(1), "{rejected}");
        assert!(it.state.issuer.store.postings_in("review").await.unwrap().is_empty());

        let post = |body: String| {
            let client = client.clone();
            let url = format!("{it_url}/eessi/messages");
            async move {
                let r = client.post(url).body(body).send().await.unwrap();
                let status = r.status().as_u16();
                let text = r.text().await.unwrap();
                let payload: serde_json::Value = text.split('.').nth(1).and_then(|p| esspass_credential::b64::decode(p).ok()).and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(serde_json::Value::Null);
                (status, text, payload)
            }
        };
        // The same message again: the first receipt, nothing added.
        let signed = inbox[0].body.clone();
        let (s, text, _) = post(signed.clone()).await;
        assert_eq!((s, text.as_str()), (200, inbox[0].receipt.as_str()));
        assert_eq!(it.state.issuer.store.inbox_of_case("9000001").await.unwrap().len(), 1);
        // Tampered: signature fails.
        let mut parts: Vec<String> = signed.split('.').map(str::to_owned).collect();
        let mut p: serde_json::Value = serde_json::from_slice(&esspass_credential::b64::decode(&parts[1]).unwrap()).unwrap();
        p["iat"] = serde_json::json!(1);
        parts[1] = esspass_credential::b64::encode(serde_json::to_vec(&p).unwrap());
        let (s, _, r) = post(parts.join(".")).await;
        assert_eq!((s, r["outcome"].as_str(), r["code"].as_str()), (400, Some("refused"), Some("ESP-7401")), "{r}");
        // Signed by a verifier (a certificate outside the repository).
        let hospital = esspass_keys::files::load_signer(&pki.join("verifiers/es-hospital/signing.key")).unwrap();
        let hchain = esspass_keys::files::load_chain(&pki.join("verifiers/es-hospital/chain.pem")).unwrap();
        let sign = |signer: &esspass_credential::EcdsaP256Signer, chain: &[Vec<u8>], m: &Message| {
            let mut h = serde_json::Map::new();
            h.insert("typ".into(), serde_json::json!("eessi-message+jwt"));
            h.insert("x5c".into(), serde_json::Value::Array(chain.iter().map(|c| serde_json::json!(esspass_credential::b64::encode_std(c))).collect()));
            let mut body = serde_json::Map::new();
            body.insert("sbd".into(), serde_json::json!(m.encode_unchecked()));
            body.insert("iat".into(), serde_json::json!(now()));
            esspass_credential::jose::sign_compact(signer, h, &body).unwrap()
        };
        let (s, _, r) = post(sign(&hospital, &hchain, &a009("msg-x-1", "9000002", "IT:INPS01"))).await;
        assert_eq!((s, r["code"].as_str()), (403, Some("ESP-7402")), "{r}");
        // e-EFKA's key, but for another institution; and an invalid SED.
        let efka = esspass_keys::files::load_signer(&pki.join("institutions/el-efka/signing.key")).unwrap();
        let echain = esspass_keys::files::load_chain(&pki.join("institutions/el-efka/chain.pem")).unwrap();
        let (s, _, r) = post(sign(&efka, &echain, &a009("msg-x-2", "9000002", "SI:ZZZS"))).await;
        assert_eq!((s, r["code"].as_str()), (400, Some("ESP-7403")), "{r}");
        let mut broken = a009("msg-x-3", "9000002", "IT:INPS01");
        broken.envelope.sed_type = SedType::A003;
        let (s, _, r) = post(sign(&efka, &echain, &broken)).await;
        assert_eq!((s, r["code"].as_str()), (400, Some("ESP-7404")), "{r}");
        // Against the BUC: an X008 in a case INPS never heard of (it does not start LA_BUC_04), and
        // ZZZS — in the repository, but no participant — writing into e-EFKA's case.
        let mut stray = a009("msg-x-5", "9000077", "IT:INPS01");
        stray.envelope.sed_type = SedType::X008;
        stray.envelope.document_id = seds::doc("doc-x008-stray");
        stray.sed = Sed::X008(esspass_eessi::sed::X008 { invalidates: seds::dref(SedType::A009, "doc-unknown"), reason: esspass_eessi::sed::InvalidationReason::Other, explanation: Some("withdrawn".into()) });
        let (s, _, r) = post(sign(&efka, &echain, &stray)).await;
        assert_eq!((s, r["code"].as_str(), r["outcome"].as_str()), (409, Some("ESP-7409"), Some("refused")), "{r}");
        let zzzs = esspass_keys::files::load_signer(&pki.join("institutions/si-zzzs/signing.key")).unwrap();
        let zchain = esspass_keys::files::load_chain(&pki.join("institutions/si-zzzs/chain.pem")).unwrap();
        let mut intruder = a009("msg-x-6", "9000001", "IT:INPS01");
        intruder.envelope.sender = seds::inst("SI:ZZZS");
        let (s, _, r) = post(sign(&zzzs, &zchain, &intruder)).await;
        assert_eq!((s, r["code"].as_str()), (409, Some("ESP-7409")), "{r}");
        assert!(it.state.issuer.store.inbox_of_case("9000077").await.unwrap().is_empty() && it.state.issuer.store.case("9000077").await.unwrap().is_none());
        assert_eq!(it.state.issuer.store.inbox_of_case("9000001").await.unwrap().len(), 1, "nothing of the intruder kept");
        assert!(it.state.issuer.store.inbox_of_case("9000002").await.unwrap().is_empty(), "nothing refused is kept");
        // The case workers see the cases (audited); others do not.
        let resp = client.get(format!("{it_url}/api/v1/eessi/cases")).bearer_auth(CW).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let cases: serde_json::Value = resp.json().await.unwrap();
        assert!(cases.as_array().unwrap().iter().any(|c| c["case_id"] == "9000001"), "{cases}");
        let resp = client.get(format!("{it_url}/api/v1/eessi/cases/9000001")).bearer_auth(CW).send().await.unwrap();
        let case: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(case["body"]["history"].as_array().map(|h| h.iter().map(|e| e["event"]["event"].as_str().unwrap_or_default()).collect::<Vec<_>>()), Some(vec!["opened", "received"]), "joined by receiving: {case}");
        assert_eq!((case["messages"][0]["direction"].as_str(), case["messages"][0]["from"].as_str(), case["messages"][0]["sed"]["sed_type"].as_str()), (Some("received"), Some("EL:EFKA01"), Some("A009")), "the documents' content: {case}");
        assert!(case["messages"][0]["sed"]["xml"].as_str().unwrap_or_default().contains("<"), "{case}");
        let resp = client.get(format!("{it_url}/api/v1/eessi/cases/nope")).bearer_auth(CW).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404);
        assert_eq!(client.get(format!("{it_url}/api/v1/eessi/cases")).bearer_auth(BO).send().await.unwrap().status().as_u16(), 403);
        // INPS asks e-EFKA for more information in the case (A005), e-EFKA closes it (X001); then
        // the case is closed at both and INPS can send nothing more in it.
        let a005 = seds::full().into_iter().find(|x| x.sed_type() == SedType::A005).unwrap();
        let xml = esspass_eessi::encode(&a005, CdmVersion::V4_2).unwrap();
        let reply = |key: &'static str, node: String, case: &str, body: String| {
            let client = client.clone();
            let url = format!("{node}/api/v1/eessi/cases/{case}/documents");
            async move {
                let r = client.post(url).bearer_auth(key).header("Content-Type", "application/xml").body(body).send().await.unwrap();
                (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap_or_default())
            }
        };
        let (s, v) = reply(BO, it_url.clone(), "9000001", xml.clone()).await;
        assert_eq!(s, 403, "{v}");
        let (s, v) = reply(CW, it_url.clone(), "nope", xml.clone()).await;
        assert_eq!((s, v["code"].as_str()), (404, Some("ESP-7410")), "{v}");
        let (s, v) = reply(CW, it_url.clone(), "9000001", xml.replace("</", "<")).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7404")), "{v}");
        let (s, v) = reply(CW, it_url.clone(), "9000001", xml.clone()).await;
        assert_eq!(s, 201, "{v}");
        let it_ap = it.state.eessi.clone().unwrap();
        assert_eq!(it_ap.deliver_due(now() + 7200).await, 1);
        let close = |key: &'static str, node: String, case: &str, body: serde_json::Value| {
            let client = client.clone();
            let url = format!("{node}/api/v1/eessi/cases/{case}/close");
            async move {
                let r = client.post(url).bearer_auth(key).json(&body).send().await.unwrap();
                (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap_or_default())
            }
        };
        let (s, v) = close(CW, it_url.clone(), "9000001", serde_json::json!({"reason": "case_handled"})).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7409")), "only the case owner closes: {v}");
        let (s, v) = close(CW, url.clone(), "9000001", serde_json::json!({"reason": "other"})).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7404")), "other needs an explanation: {v}");
        let (s, v) = close(CW, url.clone(), "9000001", serde_json::json!({"reason": "case_handled"})).await;
        assert_eq!((s, v["status"].as_str()), (200, Some("closed")), "{v}");
        assert_eq!(el_ap.deliver_due(now() + 7200).await, 1);
        let it_case = it.state.issuer.store.case("9000001").await.unwrap().unwrap();
        let kinds: Vec<&str> = it_case.body["documents"].as_array().unwrap().iter().map(|d| d["sed_type"].as_str().unwrap()).collect();
        assert_eq!((it_case.status.as_str(), kinds), ("closed", vec!["A009", "A005", "X001"]));
        let (s, v) = reply(CW, it_url.clone(), "9000001", xml.clone()).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7409")), "nothing more in a closed case: {v}");
        assert_eq!(client.get(format!("{it_url}/api/v1/eessi/cases/9000001")).send().await.unwrap().status().as_u16(), 401);
        // A 10 MB body is refused before it is read.
        let big = client.post(format!("{it_url}/eessi/messages")).body(vec![b'a'; 10 * 1024 * 1024]).send().await.map(|r| r.status().as_u16());
        assert!(big.as_ref().map_or(true, |s| *s == 413), "{big:?}");
        let (s, _, r) = post("garbage".into()).await;
        assert_eq!((s, r["code"].as_str(), r["receiver"].as_str()), (400, Some("ESP-7401"), Some("IT:INPS01")));
        // A newer Institution Repository (ZZZS moved) is read after the refresh period; an older
        // one put back (rollback) is not.
        let before = el_ap.repository.read().unwrap().sequence;
        let older = std::fs::read_to_string(pki.join("trusted-lists/repository.jwt")).unwrap();
        esspass_keys::pki::reissue_institution(&pki, "si-zzzs", "https://127.0.0.1:9442", time::OffsetDateTime::now_utc()).unwrap();
        el_ap.refresh_repository(now() + 10).await;
        assert_eq!(el_ap.repository.read().unwrap().sequence, before, "not due yet");
        el_ap.refresh_repository(now() + 400).await;
        assert_eq!(el_ap.repository.read().unwrap().sequence, before + 1);
        assert_eq!(el_ap.repository.read().unwrap().institution("SI:ZZZS").unwrap().access_point, "https://127.0.0.1:9442");
        std::fs::write(pki.join("trusted-lists/repository.jwt"), older).unwrap();
        el_ap.refresh_repository(now() + 800).await;
        assert_eq!(el_ap.repository.read().unwrap().sequence, before + 1, "a rollback is refused");
        // A receiver outside the repository (no French institution in the demo) is refused when sending; nothing is queued.
        let e = el_ap.send(&a009("msg-x-4", "9000003", "FR:CNAV01"), now()).await.unwrap_err();
        assert_eq!(e.code, esspass_core::ErrorCode::EessiReceiverUnknown);
        assert!(el.state.issuer.store.outbox_state("msg-x-4").await.unwrap().is_none());
        el.stop();
        it.stop();
    }
}

/// Issue 10's first integration: a PDA1 issued under Art 12(1) by e-EFKA writes the A009 for the
/// host state's competent institution (INPS, found in the Institution Repository) in the same
/// transaction as the credential; the worker delivers it and INPS holds Georgios's posting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pda1_under_article_12_notifies_the_host_state_with_a009() {
    let (a, b) = (support::databases("esspass_ap9").await, support::databases("esspass_ap9").await);
    for (el_db, it_db) in a.into_iter().zip(b) {
        let Pair { el, url, it, c, root, .. } = pair(&el_db, &it_db).await;
        let api = |method: reqwest::Method, path: String, body: serde_json::Value| {
            let c = c.clone();
            let url = format!("{url}{path}");
            async move {
                let r = c.request(method, url).bearer_auth(BO).json(&body).send().await.unwrap();
                let s = r.status().as_u16();
                (s, r.json::<serde_json::Value>().await.unwrap_or_default())
            }
        };
        let (s, p) = api(reqwest::Method::POST, "/api/v1/persons".into(), georgios("12038501234")).await;
        assert_eq!(s, 201, "{p}");
        let work = serde_json::json!({"work_address": [{"street_address": "Via Torino", "house_number": "40", "postal_code": "20123", "locality": "Milano", "country": "IT"}]});
        let (s, app) = api(reqwest::Method::POST, "/api/v1/applications/a1".into(), serde_json::json!({"person_id": p["person_id"], "application": support::georgios_posting(12), "work_information": work})).await;
        assert_eq!((s, app["state"].as_str()), (201, Some("determined")), "{app}");
        issue_pda1(&c, &url, &root, &p["person_id"], &app["application_id"]).await;
        // Queued with the credential; delivered by the worker.
        let ap = el.state.eessi.clone().unwrap();
        assert_eq!(ap.deliver_due(now()).await, 1, "{el_db}");
        let inbox = it.state.issuer.store.inbox_recent(10).await.unwrap();
        assert_eq!(inbox.len(), 1);
        let m = &inbox[0];
        assert_eq!((m.sender.as_str(), m.sed_type.as_str()), ("EL:EFKA01", "A009"));
        let sbd = serde_json::from_slice::<serde_json::Value>(&esspass_credential::b64::decode(m.body.split('.').nth(1).unwrap()).unwrap()).unwrap()["sbd"].as_str().unwrap().to_owned();
        let msg = Message::decode(sbd.as_bytes(), &Default::default()).unwrap();
        assert_eq!(msg.envelope.buc_type.to_string(), "LA_BUC_04");
        let Sed::A009(a) = msg.sed else { panic!("not an A009") };
        assert_eq!((a.person.family_name.as_str(), a.person.forename.as_str()), ("Papadopoulos", "Georgios"));
        assert_eq!(a.decision.legislation_country.iso(), "GR");
        assert_eq!(a.work_place[0].country.iso(), "IT");
        assert_eq!(a.employer[0].identifier[0].id, "EL094019245");
        // Withdrawn: the X008 invalidating that A009 goes in the same transaction as the revocation.
        let creds = c.get(format!("{url}/api/v1/persons/{}/credentials", p["person_id"].as_str().unwrap())).bearer_auth(BO).send().await.unwrap().json::<serde_json::Value>().await.unwrap();
        let cred = creds[0]["credential_id"].as_str().unwrap().to_owned();
        let (s, v) = api(reqwest::Method::POST, format!("/api/v1/credentials/{cred}/revoke"), serde_json::json!({"reason": "the posting was cancelled"})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(ap.deliver_due(now()).await, 1);
        let case = it.state.issuer.store.inbox_of_case(&m.case_id).await.unwrap();
        assert_eq!(case.iter().map(|r| r.sed_type.as_str()).collect::<Vec<_>>(), ["A009", "X008"], "{el_db}");
        let sbd = serde_json::from_slice::<serde_json::Value>(&esspass_credential::b64::decode(case[1].body.split('.').nth(1).unwrap()).unwrap()).unwrap()["sbd"].as_str().unwrap().to_owned();
        let Sed::X008(x) = Message::decode(sbd.as_bytes(), &Default::default()).unwrap().sed else { panic!("not an X008") };
        assert_eq!(x.invalidates.id.to_string(), msg.envelope.document_id.to_string());
        assert!(x.explanation.unwrap().contains("the posting was cancelled"));
        // INPS no longer counts on the posting: withdrawn, with the reason and who.
        let withdrawn = it.state.issuer.store.postings_in("withdrawn").await.unwrap();
        assert_eq!(withdrawn.len(), 1, "{el_db}");
        assert_eq!((withdrawn[0].case_id.as_str(), withdrawn[0].decided_by.as_deref()), (m.case_id.as_str(), Some("eessi:EL:EFKA01")));
        assert!(withdrawn[0].reasons[0].starts_with("X008") && withdrawn[0].reasons[0].contains("the posting was cancelled"), "{:?}", withdrawn[0].reasons);
        assert!(it.state.issuer.store.postings_in("registered").await.unwrap().is_empty());
        el.stop();
        it.stop();
    }
}

/// Art 13: Georgios lives in Greece and works there 40 % of his time, in Italy 60 %, for a Greek
/// employer: Greek legislation (Art 13(1)(a)). The PDA1 e-EFKA issues writes, in its transaction, an
/// A003 to INPS in a new LA_BUC_02 case (e-EFKA the owner); INPS receives it and joins the case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pda1_under_article_13_tells_the_other_state_with_a003() {
    let (a, b) = (support::databases("esspass_ap13").await, support::databases("esspass_ap13").await);
    for (el_db, it_db) in a.into_iter().zip(b) {
        let Pair { el, url, it, c, root, .. } = pair(&el_db, &it_db).await;
        let post = |path: &str, body: serde_json::Value| {
            let (c, url) = (c.clone(), format!("{url}{path}"));
            async move {
                let r = c.post(url).bearer_auth(BO).json(&body).send().await.unwrap();
                (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap_or_default())
            }
        };
        let (s, p) = post("/api/v1/persons", georgios("12038501235")).await;
        assert_eq!(s, 201, "{p}");
        let today = esspass_core::Date::of_instant(time::OffsetDateTime::now_utc());
        let application = serde_json::json!({
            "decision_date": today.to_string(),
            "person": {"residence": "GR", "nationalities": ["GR"]},
            "activities": [{"kind": "employed", "period": {"start": today.to_string()},
                "employer": {"name": "Yiannis Constructions S.A.", "id": "EL094019245", "seat": "GR"},
                "states": [{"country": "GR", "working_time_share": 0.4, "remuneration_share": 0.4}, {"country": "IT", "working_time_share": 0.6, "remuneration_share": 0.6}]}]
        });
        let work = serde_json::json!({"work_address": [{"locality": "Athina", "country": "GR"}, {"street_address": "Via Torino", "house_number": "40", "postal_code": "20123", "locality": "Milano", "country": "IT"}]});
        let (s, app) = post("/api/v1/applications/a1", serde_json::json!({"person_id": p["person_id"], "application": application, "work_information": work})).await;
        assert_eq!((s, app["state"].as_str()), (201, Some("determined")), "{app}");
        assert!(app["decision"]["article"].as_str().unwrap_or_default().contains("Art 13(1)(a)"), "{app}");
        issue_pda1(&c, &url, &root, &p["person_id"], &app["application_id"]).await;
        assert_eq!(el.state.eessi.clone().unwrap().deliver_due(now()).await, 1, "{el_db}");
        let inbox = it.state.issuer.store.inbox_recent(10).await.unwrap();
        assert_eq!(inbox.iter().map(|m| (m.sender.as_str(), m.sed_type.as_str())).collect::<Vec<_>>(), [("EL:EFKA01", "A003")]);
        let sbd = serde_json::from_slice::<serde_json::Value>(&esspass_credential::b64::decode(inbox[0].body.split('.').nth(1).unwrap()).unwrap()).unwrap()["sbd"].as_str().unwrap().to_owned();
        let msg = Message::decode(sbd.as_bytes(), &Default::default()).unwrap();
        assert_eq!(msg.envelope.buc_type.to_string(), "LA_BUC_02");
        let Sed::A003(a) = msg.sed else { panic!("not an A003") };
        assert_eq!((a.decision.legislation_country.iso(), a.article.to_string()), ("GR", "13_1_a".to_owned()));
        assert_eq!(a.work_place.iter().map(|w| w.country.iso()).collect::<Vec<_>>(), ["GR", "IT"]);
        let (el_case, it_case) = (el.state.issuer.store.case(&inbox[0].case_id).await.unwrap().unwrap(), it.state.issuer.store.case(&inbox[0].case_id).await.unwrap().unwrap());
        assert_eq!((el_case.buc.as_str(), el_case.owner.as_str(), it_case.owner.as_str()), ("LA_BUC_02", "EL:EFKA01", "EL:EFKA01"));
        assert_eq!(it_case.body["documents"][0]["state"], "received");
        assert!(it.state.issuer.store.postings_in("review").await.unwrap().is_empty() && it.state.issuer.store.postings_in("registered").await.unwrap().is_empty(), "an A003 is no posting");
        // Withdrawn: the X008 invalidating the A003 reaches INPS in the same case.
        let creds = c.get(format!("{url}/api/v1/persons/{}/credentials", p["person_id"].as_str().unwrap())).bearer_auth(BO).send().await.unwrap().json::<serde_json::Value>().await.unwrap();
        let (s, v) = post(&format!("/api/v1/credentials/{}/revoke", creds[0]["credential_id"].as_str().unwrap()), serde_json::json!({"reason": "no longer working in Italy"})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(el.state.eessi.clone().unwrap().deliver_due(now()).await, 1);
        let it_case = it.state.issuer.store.case(&inbox[0].case_id).await.unwrap().unwrap();
        assert_eq!(it_case.body["documents"].as_array().unwrap().iter().map(|d| d["sed_type"].as_str().unwrap()).collect::<Vec<_>>(), ["A003", "X008"]);
        el.stop();
        it.stop();
    }
}

/// Art 16: Georgios is to work in Italy for 30 months; his employer asks that Greek legislation
/// keep applying by way of exception. The e-EFKA case worker approves the exception: no PDA1 yet —
/// an A001 goes to INPS in a new LA_BUC_01 case (in the decision's transaction) and the application
/// waits. INPS agrees with an A011 for 24 months only: the application is approved for those 24
/// months, with the agreement recorded, and the PDA1 can be offered. A second request INPS refuses
/// with an A002 goes back to e-EFKA's case workers with INPS's reasons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_16_exception_waits_for_the_other_states_agreement_over_eessi() {
    use esspass_eessi::sed::A011;
    let (a, b) = (support::databases("esspass_ap16").await, support::databases("esspass_ap16").await);
    for (el_db, it_db) in a.into_iter().zip(b) {
        let Pair { el, url, it, it_url, c, .. } = pair(&el_db, &it_db).await;
        let call = |key: &'static str, path: String, body: serde_json::Value| {
            let c = c.clone();
            async move {
                let r = c.post(path).bearer_auth(key).json(&body).send().await.unwrap();
                (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap_or_default())
            }
        };
        let reply = |case: String, body: String| {
            let (c, it_url) = (c.clone(), it_url.clone());
            async move {
                let r = c.post(format!("{it_url}/api/v1/eessi/cases/{case}/documents")).bearer_auth(CW).header("Content-Type", "application/xml").body(body).send().await.unwrap();
                (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap_or_default())
            }
        };
        let (s, p) = call(BO, format!("{url}/api/v1/persons"), georgios("12038501236")).await;
        assert_eq!(s, 201, "{p}");
        let mut application = support::georgios_posting(30);
        let period = application["activities"][0]["period"].clone();
        application["exception_request"] = serde_json::json!({"legislation_country": "GR", "period": period, "grounds": "the bridge project in Milan needs the same site manager throughout"});
        let work = serde_json::json!({"work_address": [{"street_address": "Via Torino", "house_number": "40", "postal_code": "20123", "locality": "Milano", "country": "IT"}]});
        let exception = serde_json::json!({"approve": true, "legislation_country": "GR", "status_confirmation": "11", "article": "883/2004 Art 16(1)", "note": "exception asked for the whole project"});
        let mut asked = Vec::new();
        for _ in 0..2 {
            let (s, app) = call(BO, format!("{url}/api/v1/applications/a1"), serde_json::json!({"person_id": p["person_id"], "application": application, "work_information": work})).await;
            assert_eq!((s, app["state"].as_str()), (201, Some("pending_review")), "{app}");
            let id = app["application_id"].as_str().unwrap().to_owned();
            let (s, d) = call(CW, format!("{url}/api/v1/applications/{id}/decision"), exception.clone()).await;
            assert_eq!((s, d["state"].as_str()), (200, Some("awaiting_agreement")), "{d}");
            assert_eq!(d["final_decision"]["awaiting_agreement"]["states"], serde_json::json!(["IT"]), "{d}");
            // No PDA1 while the agreement is outstanding.
            let (s, v) = call(BO, format!("{url}/api/v1/credential-offers"), serde_json::json!({"credential_configuration_id": "pda1", "person_id": p["person_id"], "application_id": id})).await;
            assert_eq!(s, 409, "{v}");
            asked.push((id, d["final_decision"]["awaiting_agreement"]["case_id"].as_str().unwrap().to_owned()));
        }
        let el_ap = el.state.eessi.clone().unwrap();
        assert_eq!(el_ap.deliver_due(now()).await, 2, "{el_db}");
        // INPS holds two LA_BUC_01 cases, each with the A001 asking for Greek legislation.
        let mut a001s = Vec::new();
        for (_, case_id) in &asked {
            let inbox = it.state.issuer.store.inbox_of_case(case_id).await.unwrap();
            assert_eq!(inbox.iter().map(|m| m.sed_type.as_str()).collect::<Vec<_>>(), ["A001"]);
            let sbd = serde_json::from_slice::<serde_json::Value>(&esspass_credential::b64::decode(inbox[0].body.split('.').nth(1).unwrap()).unwrap()).unwrap()["sbd"].as_str().unwrap().to_owned();
            let msg = Message::decode(sbd.as_bytes(), &Default::default()).unwrap();
            assert_eq!(msg.envelope.buc_type.to_string(), "LA_BUC_01");
            let Sed::A001(a) = msg.sed else { panic!("not an A001") };
            assert_eq!((a.requested_legislation.iso(), a.article.to_string(), a.current_legislation.iter().map(|c| c.iso()).collect::<Vec<_>>()), ("GR", "16_1".to_owned(), vec!["IT"]));
            assert!(a.reasons.contains("site manager"));
            a001s.push((msg.envelope.document_id.to_string(), a));
        }
        // INPS agrees to the first for 24 months only.
        let (doc, a) = &a001s[0];
        let start = a.requested_period.start_date;
        let end = start.add_months(24).unwrap().pred().unwrap();
        let a011 = Sed::A011(A011 { person: a.person.clone(), answers: seds::dref(SedType::A001, doc), article: a.article, legislation_country: seds::c("GR"), granted_period: seds::period(&start.to_string(), Some(&end.to_string())), additional_information: None });
        let (s, v) = reply(asked[0].1.clone(), esspass_eessi::encode(&a011, CdmVersion::V4_2).unwrap()).await;
        assert_eq!(s, 201, "{v}");
        // And refuses the second, through the JSON answer (the A002 built from the A001).
        let answer_url = format!("{it_url}/api/v1/eessi/cases/{}/exception-answer", asked[1].1);
        let (s, v) = call(CW, answer_url.clone(), serde_json::json!({"decision": "refuse"})).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7008")), "a refusal gives reasons: {v}");
        let (s, v) = call(BO, answer_url.clone(), serde_json::json!({"decision": "refuse", "reasons": "x"})).await;
        assert_eq!(s, 403, "case workers answer: {v}");
        let stranger = c.post(&answer_url).json(&serde_json::json!({"decision": "agree"})).send().await.unwrap().status().as_u16();
        assert_eq!(stranger, 401, "a stranger answers nothing");
        let big = c.post(&answer_url).bearer_auth(CW).header("Content-Type", "application/json").body(vec![b' '; 10 * 1024 * 1024]).send().await.map(|r| r.status().as_u16());
        assert!(big.as_ref().map_or(true, |s| *s == 413), "a 10 MB body: {big:?}");
        let (s, v) = call(CW, answer_url.clone(), serde_json::json!({"decision": "refuse", "reasons": "the project can be staffed locally after two years"})).await;
        assert_eq!(s, 201, "{v}");
        let (s, v) = call(CW, answer_url, serde_json::json!({"decision": "agree"})).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7409")), "answered once: {v}");
        assert_eq!(it.state.eessi.clone().unwrap().deliver_due(now()).await, 2);
        let agreed = el.state.issuer.store.application(&asked[0].0).await.unwrap().unwrap();
        let fin = agreed.final_decision.clone().unwrap();
        assert_eq!((agreed.state.as_str(), fin["agreement"]["state"].as_str(), fin["agreement"]["sed"].as_str()), ("approved", Some("IT"), Some("A011")), "{fin}");
        assert_eq!((fin["start"].as_str(), fin["end"].as_str()), (Some(start.to_string().as_str()), Some(end.to_string().as_str())), "the agreed period: {fin}");
        assert!(agreed.decision_note.unwrap().contains("IT agreed"));
        let (s, offer) = call(BO, format!("{url}/api/v1/credential-offers"), serde_json::json!({"credential_configuration_id": "pda1", "person_id": p["person_id"], "application_id": asked[0].0})).await;
        assert_eq!(s, 201, "the PDA1 follows the agreement: {offer}");
        let refused = el.state.issuer.store.application(&asked[1].0).await.unwrap().unwrap();
        assert_eq!((refused.state.as_str(), refused.final_decision.is_none()), ("pending_review", true));
        assert!(refused.decision_note.unwrap().contains("staffed locally"), "the refusal's reasons reach the case worker");
        // The receipt of each answer is in the audit trail with what it changed.
        let audit = el.state.issuer.store.audit_records(1, 1000).await.unwrap();
        assert!(audit.iter().any(|r| r.action == "eessi_received" && r.details["application"]["state"] == "approved"));
        // The BUCs' clocks: a third request INPS leaves unanswered is reminded (X009) after 60
        // days; the two answered cases close (X001) 60 days after the answer, the case quiet as long.
        let (_, app) = call(BO, format!("{url}/api/v1/applications/a1"), serde_json::json!({"person_id": p["person_id"], "application": application, "work_information": work})).await;
        let (s, d) = call(CW, format!("{url}/api/v1/applications/{}/decision", app["application_id"].as_str().unwrap()), exception.clone()).await;
        assert_eq!(s, 200, "{d}");
        let third = d["final_decision"]["awaiting_agreement"]["case_id"].as_str().unwrap().to_owned();
        assert_eq!(el_ap.deliver_due(now()).await, 1);
        let day = 86_400;
        assert_eq!(el_ap.run_case_timers(now() + 30 * day).await, esspass_node::eessi::TimerRun::default(), "nothing due yet");
        let later = now() + 61 * day;
        assert_eq!(el_ap.run_case_timers(later).await, esspass_node::eessi::TimerRun { reminders: 1, closed: 2 }, "{el_db}");
        assert_eq!(el_ap.run_case_timers(later + day).await, esspass_node::eessi::TimerRun::default(), "each step once");
        assert_eq!(el_ap.deliver_due(later).await, 3);
        for (_, case_id) in &asked {
            let it_case = it.state.issuer.store.case(case_id).await.unwrap().unwrap();
            assert_eq!(it_case.status, "closed", "{}", it_case.body);
        }
        let reminded = it.state.issuer.store.inbox_of_case(&third).await.unwrap();
        assert_eq!(reminded.iter().map(|m| m.sed_type.as_str()).collect::<Vec<_>>(), ["A001", "X009"]);
        assert_eq!(el_ap.run_case_timers(now() + 122 * day).await.reminders, 1, "reminded again 60 days after the last reminder");
        // An A011 accepting another state's legislation than the one asked for agrees to nothing.
        let (_, app) = call(BO, format!("{url}/api/v1/applications/a1"), serde_json::json!({"person_id": p["person_id"], "application": application, "work_information": work})).await;
        let fourth_id = app["application_id"].as_str().unwrap().to_owned();
        let (s, d) = call(CW, format!("{url}/api/v1/applications/{fourth_id}/decision"), exception.clone()).await;
        assert_eq!(s, 200, "{d}");
        let fourth = d["final_decision"]["awaiting_agreement"]["case_id"].as_str().unwrap().to_owned();
        assert_eq!(el_ap.deliver_due(now()).await, 1);
        let it_case = it.state.issuer.store.case(&fourth).await.unwrap().unwrap();
        let doc = it_case.body["documents"][0]["id"].as_str().unwrap().to_owned();
        let (_, a) = &a001s[0];
        let wrong = Sed::A011(A011 { person: a.person.clone(), answers: seds::dref(SedType::A001, &doc), article: a.article, legislation_country: seds::c("IT"), granted_period: a.requested_period.clone(), additional_information: None });
        let (s, v) = reply(fourth.clone(), esspass_eessi::encode(&wrong, CdmVersion::V4_2).unwrap()).await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(it.state.eessi.clone().unwrap().deliver_due(now()).await, 1);
        let back = el.state.issuer.store.application(&fourth_id).await.unwrap().unwrap();
        assert_eq!(back.state, "pending_review");
        assert!(back.decision_note.unwrap().contains("accepts the legislation of IT"));
        el.stop();
        it.stop();
    }
}

/// An application that reaches a non-competent institution is forwarded: Georgios's employer asks
/// e-EFKA for a 30-month posting to Italy; the law gives Italian legislation (Art 11(3)(a)), so
/// e-EFKA forwards the application to INPS (an H001 in a new H_BUC_01 case, written with the
/// application) and the answer tells the employer where it went. No PDA1 comes from e-EFKA and the
/// forwarded decision is contested at INPS, not here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_for_another_states_legislation_is_forwarded_to_its_competent_institution() {
    let (a, b) = (support::databases("esspass_apfw").await, support::databases("esspass_apfw").await);
    for (el_db, it_db) in a.into_iter().zip(b) {
        let Pair { el, url, it, c, .. } = pair(&el_db, &it_db).await;
        let call = |path: String, body: serde_json::Value| {
            let c = c.clone();
            async move {
                let r = c.post(path).bearer_auth(BO).json(&body).send().await.unwrap();
                (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap_or_default())
            }
        };
        let (s, p) = call(format!("{url}/api/v1/persons"), georgios("12038501237")).await;
        assert_eq!(s, 201, "{p}");
        let work = serde_json::json!({"work_address": [{"street_address": "Via Torino", "house_number": "40", "postal_code": "20123", "locality": "Milano", "country": "IT"}]});
        let (s, app) = call(format!("{url}/api/v1/applications/a1"), serde_json::json!({"person_id": p["person_id"], "application": support::georgios_posting(30), "work_information": work})).await;
        assert_eq!((s, app["state"].as_str()), (201, Some("forwarded")), "{app}");
        let fin = &app["final_decision"];
        assert_eq!((fin["competent_state"].as_str(), fin["forwarded_to"]["institution_id"].as_str(), fin["forwarded_to"]["name"].as_str()), (Some("IT"), Some("IT:INPS01"), Some("INPS")), "{app}");
        assert!(fin["reason"].as_str().unwrap().contains("forwarded"), "the applicant is told where it went: {app}");
        let id = app["application_id"].as_str().unwrap();
        let (s, v) = call(format!("{url}/api/v1/credential-offers"), serde_json::json!({"credential_configuration_id": "pda1", "person_id": p["person_id"], "application_id": id})).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7014")), "{v}");
        let (s, v) = call(format!("{url}/api/v1/applications/{id}/contest"), serde_json::json!({"reason": "the posting is shorter"})).await;
        assert_eq!(s, 409, "{v}");
        assert!(v["detail"].as_str().unwrap_or_default().contains("INPS"), "{v}");
        assert_eq!(el.state.eessi.clone().unwrap().deliver_due(now()).await, 1, "{el_db}");
        let case_id = fin["eessi_case"].as_str().unwrap();
        let inbox = it.state.issuer.store.inbox_of_case(case_id).await.unwrap();
        assert_eq!(inbox.iter().map(|m| (m.sender.as_str(), m.sed_type.as_str())).collect::<Vec<_>>(), [("EL:EFKA01", "H001")]);
        let sbd = serde_json::from_slice::<serde_json::Value>(&esspass_credential::b64::decode(inbox[0].body.split('.').nth(1).unwrap()).unwrap()).unwrap()["sbd"].as_str().unwrap().to_owned();
        let msg = Message::decode(sbd.as_bytes(), &Default::default()).unwrap();
        assert_eq!(msg.envelope.buc_type.to_string(), "H_BUC_01");
        let Sed::H001(h) = msg.sed else { panic!("not an H001") };
        assert_eq!(h.person.as_ref().map(|p| p.family_name.as_str()), Some("Papadopoulos"));
        let info = h.information.unwrap();
        assert!(info.contains(id) && info.contains("Art 81") && info.contains("Yiannis Constructions"), "{info}");
        assert_eq!(it.state.issuer.store.case(case_id).await.unwrap().unwrap().owner, "EL:EFKA01");
        el.stop();
        it.stop();
    }
}

/// Three institutions, one full LA_BUC_02: Georgios lives in Greece and works there 40 %, in Italy
/// and Slovenia 30 % each: Greek legislation (Art 13(1)(a)). e-EFKA's PDA1 sends an A003 to INPS
/// and to ZZZS in one case; each approves it (A012) in the case; e-EFKA, the case owner, closes it
/// (an X001 to both) and the case is closed at all three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_institutions_run_a_whole_la_buc_02() {
    let (a, b, c3) = (support::databases("esspass_ap3").await, support::databases("esspass_ap3").await, support::databases("esspass_ap3").await);
    for ((el_db, it_db), si_db) in a.into_iter().zip(b).zip(c3) {
        let support::Setup { pki, listener, url, root } = support::setup("el-efka");
        let (it_listener, si_listener) = (std::net::TcpListener::bind("127.0.0.1:0").unwrap(), std::net::TcpListener::bind("127.0.0.1:0").unwrap());
        let it_url = format!("https://127.0.0.1:{}", it_listener.local_addr().unwrap().port());
        let si_url = format!("https://127.0.0.1:{}", si_listener.local_addr().unwrap().port());
        esspass_keys::pki::reissue_institution(&pki, "it-inps", &it_url, time::OffsetDateTime::now_utc()).unwrap();
        esspass_keys::pki::reissue_institution(&pki, "si-zzzs", &si_url, time::OffsetDateTime::now_utc()).unwrap();
        let el = esspass_node::node::start(config(&pki, "el-efka", "EL:EFKA01", "e-EFKA", "GR", &url, &el_db), Some(listener)).await.unwrap();
        let it = esspass_node::node::start(config(&pki, "it-inps", "IT:INPS01", "INPS", "IT", &it_url, &it_db), Some(it_listener)).await.unwrap();
        let si = esspass_node::node::start(config(&pki, "si-zzzs", "SI:ZZZS", "ZZZS", "SI", &si_url, &si_db), Some(si_listener)).await.unwrap();
        let c = support::client(&root);
        let post = |u: String, body: serde_json::Value| {
            let c = c.clone();
            async move {
                let r = c.post(u).bearer_auth(BO).json(&body).send().await.unwrap();
                (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap_or_default())
            }
        };
        let (s, p) = post(format!("{url}/api/v1/persons"), georgios("12038501238")).await;
        assert_eq!(s, 201, "{p}");
        let today = esspass_core::Date::of_instant(time::OffsetDateTime::now_utc());
        let application = serde_json::json!({
            "decision_date": today.to_string(),
            "person": {"residence": "GR", "nationalities": ["GR"]},
            "activities": [{"kind": "employed", "period": {"start": today.to_string()},
                "employer": {"name": "Yiannis Constructions S.A.", "id": "EL094019245", "seat": "GR"},
                "states": [{"country": "GR", "working_time_share": 0.4, "remuneration_share": 0.4}, {"country": "IT", "working_time_share": 0.3, "remuneration_share": 0.3}, {"country": "SI", "working_time_share": 0.3, "remuneration_share": 0.3}]}]
        });
        let work = serde_json::json!({"work_address": [{"locality": "Athina", "country": "GR"}, {"locality": "Milano", "country": "IT"}, {"locality": "Ljubljana", "country": "SI"}]});
        let (s, app) = post(format!("{url}/api/v1/applications/a1"), serde_json::json!({"person_id": p["person_id"], "application": application, "work_information": work})).await;
        assert_eq!((s, app["state"].as_str()), (201, Some("determined")), "{app}");
        issue_pda1(&c, &url, &root, &p["person_id"], &app["application_id"]).await;
        let el_ap = el.state.eessi.clone().unwrap();
        // One case's messages go in order, one per round.
        let drain = |ap: std::sync::Arc<esspass_node::eessi::AccessPoint>| async move {
            let mut n = 0;
            loop {
                match ap.deliver_due(now()).await {
                    0 => return n,
                    k => n += k,
                }
            }
        };
        assert_eq!(drain(el_ap.clone()).await, 2, "{el_db}");
        let case_id = it.state.issuer.store.inbox_recent(1).await.unwrap()[0].case_id.clone();
        // Each counterparty approves the determination in the case (A012).
        for (node, base) in [(&it, &it_url), (&si, &si_url)] {
            let inbox = node.state.issuer.store.inbox_of_case(&case_id).await.unwrap();
            assert_eq!(inbox.iter().map(|m| (m.sender.as_str(), m.sed_type.as_str())).collect::<Vec<_>>(), [("EL:EFKA01", "A003")]);
            let case = node.state.issuer.store.case(&case_id).await.unwrap().unwrap();
            let doc = case.body["documents"][0]["id"].as_str().unwrap().to_owned();
            let a012 = Sed::A012(esspass_eessi::sed::A012 { person: seds::person_minimal(), answers: seds::dref(SedType::A003, &doc), additional_information: None });
            let r = c.post(format!("{base}/api/v1/eessi/cases/{case_id}/documents")).bearer_auth(CW).header("Content-Type", "application/xml").body(esspass_eessi::encode(&a012, CdmVersion::V4_2).unwrap()).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 201);
            assert_eq!(node.state.eessi.clone().unwrap().deliver_due(now()).await, 1);
        }
        let el_case = el.state.issuer.store.case(&case_id).await.unwrap().unwrap();
        let a003 = el_case.body["documents"].as_array().unwrap().iter().find(|d| d["sed_type"] == "A003").unwrap().clone();
        assert_eq!(a003["answered_by"].as_array().map(Vec::len), Some(2), "both approved: {}", el_case.body);
        // Only the owner closes; then the case is closed at all three.
        let r = c.post(format!("{it_url}/api/v1/eessi/cases/{case_id}/close")).bearer_auth(CW).json(&serde_json::json!({"reason": "case_handled"})).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 409);
        let r = c.post(format!("{url}/api/v1/eessi/cases/{case_id}/close")).bearer_auth(CW).json(&serde_json::json!({"reason": "case_handled"})).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(drain(el_ap.clone()).await, 2);
        for node in [&el, &it, &si] {
            assert_eq!(node.state.issuer.store.case(&case_id).await.unwrap().unwrap().status, "closed");
        }
        el.stop();
        it.stop();
        si.stop();
    }
}
