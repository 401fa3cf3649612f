//! The Institution Repository (EESSI) the demo PKI publishes: signed by the trust operator like the
//! trusted lists, one entry per social security institution (not the PID provider) with its access
//! point, message-signing certificate and the BUCs it handles; routing finds the competent
//! institution of a state for a BUC, and a message's signer is found by its certificate. Re-issuing
//! an institution's certificate moves its access point and certificate in a newer repository.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_core::{Country, Date};
use esspass_credential::trust::{BucRole, ListBody, TrustedList};
use esspass_credential::x509::{Certificate, ChainValidator};

#[test]
fn the_demo_repository_routes_by_state_and_buc_and_names_signers() {
    let dir = std::env::temp_dir().join(format!("esspass-repo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let t = time::OffsetDateTime::now_utc();
    let m = esspass_keys::pki::init_demo(&dir, t).unwrap();
    let root = Certificate::from_pem(&std::fs::read_to_string(dir.join("root/ca.pem")).unwrap()).unwrap();
    let chains = ChainValidator::new(vec![root]);
    let now = t.unix_timestamp();
    let repo = TrustedList::verify(std::fs::read_to_string(dir.join(&m.institution_repository)).unwrap().trim(), &chains, now).unwrap();
    assert_eq!(repo.series(), "esspass demo trust operator / institutions");
    let ListBody::Institutions { institutions } = &repo.body else { panic!("not a repository") };
    let ids: Vec<&str> = institutions.iter().map(|e| e.institution_id.as_str()).collect();
    assert_eq!(ids, ["EL:EFKA01", "SI:ZZZS", "IT:INPS01", "ES:INSS01"], "the PID provider takes no part in EESSI");
    assert!(institutions.iter().all(|e| e.portal.as_deref() == Some(e.access_point.as_str())), "each with its portal");
    let today = Date::of_instant(t);
    // Greece's A1 issuer notifies Italy: the competent Italian institution for LA_BUC_04.
    let it = repo.competent(Country::parse("IT").unwrap(), "LA_BUC_04", BucRole::Counterparty, today);
    assert_eq!(it.iter().map(|e| e.institution_id.as_str()).collect::<Vec<_>>(), ["IT:INPS01"]);
    assert_eq!(it[0].access_point, "https://127.0.0.1:8443");
    assert_eq!(repo.competent(Country::parse("ES").unwrap(), "LA_BUC_04", BucRole::Counterparty, today).iter().map(|e| e.institution_id.as_str()).collect::<Vec<_>>(), ["ES:INSS01"]);
    assert!(repo.competent(Country::parse("FR").unwrap(), "LA_BUC_04", BucRole::Counterparty, today).is_empty(), "no French institution in the demo");
    assert!(repo.competent(Country::parse("IT").unwrap(), "P_BUC_01", BucRole::Counterparty, today).is_empty(), "no pension BUC handled");
    // The signer of a message is found by its certificate; a verifier's certificate is nobody.
    let efka = esspass_keys::files::load_chain(&dir.join("institutions/el-efka/chain.pem")).unwrap();
    assert_eq!(repo.institution_for(&Certificate::from_der(&efka[0]).unwrap()).unwrap().institution_id, "EL:EFKA01");
    let hospital = esspass_keys::files::load_chain(&dir.join("verifiers/es-hospital/chain.pem")).unwrap();
    assert!(repo.institution_for(&Certificate::from_der(&hospital[0]).unwrap()).is_none());
    // The repository is not an Issuer Trusted List: no issuer is found in it.
    assert!(repo.issuer_for(&Certificate::from_der(&efka[0]).unwrap()).is_none());
    // Re-issued for another address: a newer repository with the new access point and certificate.
    esspass_keys::pki::reissue_institution(&dir, "it-inps", "https://127.0.0.1:9443", t).unwrap();
    let newer = TrustedList::verify(std::fs::read_to_string(dir.join(&m.institution_repository)).unwrap().trim(), &chains, now).unwrap();
    assert_eq!(newer.sequence, repo.sequence + 1);
    let inps = newer.institution("IT:INPS01").unwrap();
    assert_eq!(inps.access_point, "https://127.0.0.1:9443");
    let chain = esspass_keys::files::load_chain(&dir.join("institutions/it-inps/chain.pem")).unwrap();
    assert_eq!(newer.institution_for(&Certificate::from_der(&chain[0]).unwrap()).unwrap().institution_id, "IT:INPS01");
    let _ = std::fs::remove_dir_all(&dir);
}
