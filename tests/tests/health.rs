//! The `health` subcommands' probe (`qahm_wire::health::probe`) against real servers on
//! ephemeral loopback ports: serving while they serve, NOT_SERVING when health says so,
//! unreachable once they are gone, and an unknown service named.

use std::sync::Arc;
use std::time::Duration;

use annealer_svc::{Device, DeviceConfig, ServerConfig};
use qahm_proto::pb;
use qahm_wire::health::{ProbeError, probe};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const ANNEALER: &str = pb::annealer_server::SERVICE_NAME;
const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn the_annealer_is_serving_then_unreachable_once_stopped() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = ServerConfig {
        device: DeviceConfig { device_seed: Some(3), ..DeviceConfig::default() },
        drain_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    };
    let device = Arc::new(Device::new(config.device.clone()).unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        annealer_svc::serve_device(listener, device, config, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });

    assert_eq!(probe(&url, ANNEALER, TIMEOUT).await, Ok(()));
    assert_eq!(probe(&url, "", TIMEOUT).await, Ok(()), "the server as a whole");
    match probe(&url, "qahm.nothing.v1.Nothing", TIMEOUT).await {
        Err(ProbeError::Refused { code: tonic::Code::NotFound, service, .. }) => {
            assert_eq!(service, "qahm.nothing.v1.Nothing");
        }
        other => panic!("an unknown service must be refused as NOT_FOUND, got {other:?}"),
    }

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), server).await.unwrap().unwrap();
    match probe(&url, ANNEALER, TIMEOUT).await {
        Err(e @ ProbeError::Unreachable { .. }) => {
            let line = e.to_string();
            assert!(line.starts_with(&format!("{url} is unreachable: ")), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
        other => panic!("expected unreachable after the stop, got {other:?}"),
    }
}

/// A draining server turns NOT_SERVING before it stops accepting connections; here the status
/// is set directly on a real grpc.health.v1 server, so the probe's reading of it is tested
/// without racing a drain.
#[tokio::test]
async fn a_service_that_is_not_serving_is_reported_so_in_one_line() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status(ANNEALER, tonic_health::ServingStatus::NotServing).await;
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let e = probe(&url, ANNEALER, TIMEOUT).await.unwrap_err();
    assert_eq!(e.to_string(), format!("{url}: service \"{ANNEALER}\" is NOT_SERVING"));
    reporter.set_service_status(ANNEALER, tonic_health::ServingStatus::Serving).await;
    assert_eq!(probe(&url, ANNEALER, TIMEOUT).await, Ok(()));
    server.abort();
}

#[tokio::test]
async fn the_trainer_service_is_serving() {
    let runs = std::env::temp_dir().join(format!("qahm-health-{}", std::process::id()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = trainer::service::ServeConfig {
        manager: trainer::service::ManagerConfig {
            runs_dir: runs.clone(),
            max_concurrent_runs: 1,
            max_queued_runs: 1,
            connection: trainer::run::Connection::default(),
        },
        token: Some("secret".into()),
        tls: None,
        resume_interrupted: false,
        start_run: None,
        drain_timeout: Duration::from_secs(5),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(trainer::service::serve(listener, config, async {
        let _ = stopped.await;
    }));
    let trainer = qahm_proto::trainer_pb::trainer_server::SERVICE_NAME;
    // Health needs no token, even when the API does.
    assert_eq!(probe(&url, trainer, TIMEOUT).await, Ok(()));
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), server).await.unwrap().unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&runs);
}
