//! TLS on every qahm gRPC server and client: annealer-svc, the trainer service and the
//! trainer's annealer client, with a CA and a server certificate this test makes (rcgen),
//! spoken to over loopback as `https://127.0.0.1:PORT`.

use std::path::PathBuf;
use std::time::Duration;

use annealer_svc::{DeviceConfig, ServerConfig};
use qahm_common::request::SampleRequest;
use qahm_common::sampleset::AnswerMode;
use qahm_proto::pb::{self, annealer_client::AnnealerClient};
use qahm_proto::trainer_pb;
use qahm_proto::trainer_pb::trainer_client::TrainerClient;
use qahm_wire::tls::{ClientTls, ServerTls, endpoint};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::net::TcpListener;
use trainer::annealer::{Annealer, RemoteAnnealer, RetryPolicy};
use trainer::run::Connection;
use trainer::service::{ManagerConfig, ServeConfig};

/// A CA, and a server certificate it signed for 127.0.0.1 and localhost.
struct Pki {
    ca_pem: String,
    server: ServerTls,
}

fn make_pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: ServerTls::from_pem(server_cert.pem(), server_key.serialize_pem()),
    }
}

/// A CA that signed nothing the servers present.
fn other_ca_pem() -> String {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap().pem()
}

/// annealer-svc over TLS on 127.0.0.1:0; returns its port.
async fn start_annealer(tls: ServerTls) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = ServerConfig {
        device: DeviceConfig { device_seed: Some(7), ..DeviceConfig::default() },
        tls: Some(tls),
        drain_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    };
    tokio::spawn(annealer_svc::serve(listener, config, std::future::pending()));
    port
}

async fn properties_over(url: &str, tls: &ClientTls) -> Result<pb::SolverProperties, String> {
    let channel = endpoint(url, tls)
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))?;
    AnnealerClient::new(channel)
        .get_properties(pb::GetPropertiesRequest {})
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| format!("{s:?}"))
}

#[tokio::test]
async fn the_annealer_over_tls_answers_a_client_trusting_its_ca_and_no_other() {
    let pki = make_pki();
    let port = start_annealer(pki.server.clone()).await;
    let https = format!("https://127.0.0.1:{port}");

    let trusted = ClientTls::with_ca_pem(&pki.ca_pem);
    let properties = properties_over(&https, &trusted).await.unwrap();
    assert_eq!(properties.name, "DW_2000Q_5");
    // The same name the certificate carries besides the address.
    properties_over(&format!("https://localhost:{port}"), &trusted).await.unwrap();

    // A client that does not trust the CA (system roots only, or another CA) gets no answer.
    let untrusted = properties_over(&https, &ClientTls::default()).await.unwrap_err();
    assert!(untrusted.to_lowercase().contains("certificate"), "{untrusted}");
    let other = ClientTls::with_ca_pem(other_ca_pem());
    properties_over(&https, &other).await.unwrap_err();
    // Nor does a plaintext client of the TLS port.
    properties_over(&format!("http://127.0.0.1:{port}"), &trusted).await.unwrap_err();
}

#[test]
fn the_trainers_annealer_client_samples_over_tls() {
    let pki = make_pki();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let port = runtime.block_on(start_annealer(pki.server.clone()));
    let url = format!("https://127.0.0.1:{port}");
    let tls = ClientTls::with_ca_pem(&pki.ca_pem);
    let mut remote = RemoteAnnealer::with_tls(&url, None, &tls, RetryPolicy::default()).unwrap();
    let properties = remote.properties().unwrap();
    let q = properties.graph.qubits()[0];
    let request = SampleRequest {
        request_id: "over-tls".into(),
        h: vec![(q, 0.5)],
        j: vec![],
        num_reads: 20,
        annealing_time: Some(20.0),
        auto_scale: None,
        answer_mode: AnswerMode::Raw,
        programming_thermalization: None,
        readout_thermalization: None,
        label: String::new(),
        seed: Some(3),
    };
    let answer = remote.sample(&request).unwrap();
    assert_eq!(answer.set.num_reads(), 20);
}

#[tokio::test]
async fn the_trainer_service_over_tls_lists_its_runs_to_a_client_trusting_its_ca() {
    let pki = make_pki();
    let runs = std::env::temp_dir().join(format!("qahm-tls-runs-{}", std::process::id()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = ServeConfig {
        manager: ManagerConfig {
            runs_dir: runs.clone(),
            max_concurrent_runs: 1,
            max_queued_runs: 4,
            connection: Connection::default(),
        },
        token: None,
        tls: Some(pki.server.clone()),
        resume_interrupted: false,
        start_run: None,
        drain_timeout: Duration::from_secs(5),
    };
    tokio::spawn(trainer::service::serve(listener, config, std::future::pending()));
    let url = format!("https://127.0.0.1:{port}");
    let channel = endpoint(&url, &ClientTls::with_ca_pem(&pki.ca_pem))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let listed = TrainerClient::new(channel)
        .list_runs(trainer_pb::ListRunsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.runs.is_empty(), "{listed:?}");
    let refused = endpoint(&url, &ClientTls::default()).unwrap().connect().await;
    assert!(refused.is_err(), "a client without the CA connected");
    let _ = std::fs::remove_dir_all(PathBuf::from(&runs));
}

#[test]
fn tls_flags_name_the_file_that_cannot_be_used() {
    let missing = std::env::temp_dir().join("qahm-no-such-cert.pem");
    let error = ServerTls::from_files(&missing, &missing).unwrap_err();
    assert!(error.to_string().starts_with("--tls-cert: cannot use"), "{error}");
    let not_pem = std::env::temp_dir().join(format!("qahm-not-pem-{}.txt", std::process::id()));
    std::fs::write(&not_pem, "hello").unwrap();
    let error = ClientTls::with_ca_file("--annealer-ca", &not_pem).unwrap_err();
    assert!(error.to_string().contains("--annealer-ca") && error.to_string().contains("PEM"));
    let _ = std::fs::remove_file(not_pem);
}
