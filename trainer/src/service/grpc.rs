//! The tonic adapters of `qahm.trainer.v1`: request → domain call → reply, and the one map of
//! [`ServiceError`] to gRPC statuses.

use std::pin::Pin;

use futures::Stream;
use qahm_common::validation::FieldError;
use qahm_proto::trainer_pb as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::look::{Image, Mask};
use super::record::{CheckpointMark, Progress, RunState, RunView, StateChange};
use super::{Manager, ServiceError, StartRequest};
use crate::config::layers::{Layer, build};
use crate::config::{ConfigError, Preset, RunConfig};
use crate::model::Region;

/// The one map of the trainer service's refusals to gRPC codes. A field error becomes
/// INVALID_ARGUMENT naming the field, with a BadRequest field violation in the details (as the
/// annealer's do).
pub fn status_of(error: ServiceError) -> Status {
    let message = error.to_string();
    match error {
        ServiceError::Invalid { field, message } => qahm_wire::status_of(
            qahm_common::error::ServiceError::Invalid(FieldError::new(field, message)),
        ),
        ServiceError::NotFound(_) => Status::not_found(message),
        ServiceError::AlreadyExists(_) => Status::already_exists(message),
        ServiceError::FailedPrecondition(_) => Status::failed_precondition(message),
        ServiceError::ResourceExhausted(_) => Status::resource_exhausted(message),
        ServiceError::Unavailable(_) => Status::unavailable(message),
        ServiceError::Internal(_) => Status::internal(message),
    }
}

fn timestamp(ms: u64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: (ms / 1000) as i64, nanos: ((ms % 1000) * 1_000_000) as i32 }
}

fn state(s: RunState) -> pb::RunState {
    match s {
        RunState::Pending => pb::RunState::Pending,
        RunState::Running => pb::RunState::Running,
        RunState::Succeeded => pb::RunState::Succeeded,
        RunState::Failed => pb::RunState::Failed,
        RunState::Cancelled => pb::RunState::Cancelled,
        RunState::Interrupted => pb::RunState::Interrupted,
    }
}

fn progress(p: &Progress) -> pb::Progress {
    pb::Progress {
        update: p.update,
        total_updates: p.total_updates,
        epoch: p.epoch,
        lr: p.lr,
        wake_objective: p.wake_objective,
        sleep_objective: p.sleep_objective,
        reconstruction_error: p.reconstruction_error,
        test_accuracy: p.test_accuracy,
        moment_gap_linear: p.moment_gap_linear,
        moment_gap_quadratic: p.moment_gap_quadratic,
        chain_breaks: p.chain_breaks,
        annealer_wall_ms: p.annealer_wall_ms,
        qpu_access_ms: p.qpu_access_ms,
        updates_per_second: p.updates_per_second,
        eta_seconds: p.eta_seconds,
    }
}

fn checkpoint(c: &CheckpointMark) -> pb::Checkpoint {
    pb::Checkpoint { update: c.update, time: Some(timestamp(c.time_ms)) }
}

fn change(c: &StateChange) -> pb::StateChange {
    pb::StateChange {
        state: state(c.state) as i32,
        error: c.error.clone().unwrap_or_default(),
        time: Some(timestamp(c.time_ms)),
    }
}

/// A config as the API's message: the same sections and names (the message is rendered from
/// the config's declarations).
pub fn config_pb(config: &RunConfig) -> pb::RunConfig {
    serde_json::to_value(config)
        .and_then(serde_json::from_value)
        .expect("the config messages are rendered from the config")
}

/// The effective config of a run as the API shows it.
pub fn config_of(run: &pb::Run) -> Result<RunConfig, ConfigError> {
    let preset = Preset::from_name(&run.preset);
    let value = serde_json::to_value(run.config.clone().unwrap_or_default())
        .expect("config messages serialise");
    build(preset, &[Layer::from_json(format!("run {}", run.run_id), value)?])
}

/// A run as the API shows it; its config by the names config.toml uses.
pub fn run(view: &RunView) -> pb::Run {
    let r = &view.record;
    let config = config_pb(&view.config);
    pb::Run {
        run_id: r.id.clone(),
        state: state(r.state) as i32,
        error: r.error.clone().unwrap_or_default(),
        preset: r.preset.name().into(),
        config: Some(config),
        progress: Some(progress(&view.progress)),
        annealer: r.annealer.clone(),
        created: Some(timestamp(r.created_ms)),
        started: r.started_ms.map(timestamp),
        finished: r.finished_ms.map(timestamp),
        last_checkpoint: r.last_checkpoint.as_ref().map(checkpoint),
    }
}

fn event(e: pb::run_event::Event) -> pb::RunEvent {
    pb::RunEvent { event: Some(e) }
}

fn image(i: usize, image: pb::Image) -> Result<Image, ServiceError> {
    use pb::image::Data;
    Ok(match image.data {
        Some(Data::Grey(g)) => Image::Grey { width: g.width, height: g.height, pixels: g.pixels },
        Some(Data::Png(bytes)) => Image::Png(bytes),
        Some(Data::Scaled(s)) => {
            Image::Scaled { width: s.width, height: s.height, pixels: s.pixels }
        }
        None => return Err(ServiceError::invalid(format!("images[{i}]"), "is empty")),
    })
}

fn images(list: Vec<pb::Image>) -> Result<Vec<Image>, ServiceError> {
    list.into_iter().enumerate().map(|(i, m)| image(i, m)).collect()
}

fn region(value: i32) -> Result<Region, ServiceError> {
    match pb::Region::try_from(value) {
        Ok(pb::Region::Top) => Ok(Region::Top),
        Ok(pb::Region::Bottom) => Ok(Region::Bottom),
        Ok(pb::Region::Left) => Ok(Region::Left),
        Ok(pb::Region::Right) => Ok(Region::Right),
        Ok(pb::Region::Unspecified) | Err(_) => Err(ServiceError::invalid(
            "region",
            format!("{value} is not a region: 1 (top), 2 (bottom), 3 (left) or 4 (right)"),
        )),
    }
}

/// The gRPC face of a [`Manager`].
#[derive(Clone)]
pub struct TrainerService {
    manager: Manager,
}

impl TrainerService {
    pub fn new(manager: Manager) -> Self {
        TrainerService { manager }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn reply<T>(result: Result<T, ServiceError>) -> Reply<T> {
    result.map(Response::new).map_err(status_of)
}

/// Events of a run for a watcher, from what it has already sent (`sent`) to the view now:
/// checkpoints it has not sent (at most the ones the view keeps), the latest progress (newer
/// ones replace the ones a slow watcher did not read), then state changes.
fn news(view: &RunView, sent: &mut (usize, u64, u64)) -> Vec<pb::RunEvent> {
    use pb::run_event::Event;
    let (changes, checkpoints, update) = sent;
    let mut out = Vec::new();
    let missed = view.checkpoints_total.saturating_sub(*checkpoints) as usize;
    let skip = view.checkpoints.len().saturating_sub(missed);
    out.extend(view.checkpoints.iter().skip(skip).map(|c| event(Event::Checkpoint(checkpoint(c)))));
    *checkpoints = view.checkpoints_total;
    if view.progress.update > *update {
        out.push(event(Event::Progress(progress(&view.progress))));
        *update = view.progress.update;
    }
    out.extend(view.changes.iter().skip(*changes).map(|c| event(Event::State(change(c)))));
    *changes = view.changes.len();
    out
}

#[tonic::async_trait]
impl pb::trainer_server::Trainer for TrainerService {
    async fn start_run(&self, request: Request<pb::StartRunRequest>) -> Reply<pb::Run> {
        let r = request.into_inner();
        let preset = match r.preset.as_str() {
            "" => None,
            name => Some(Preset::from_name(name).ok_or_else(|| {
                status_of(ServiceError::invalid(
                    "preset",
                    format!("{name:?} is not one of {}", Preset::NAMES.join(", ")),
                ))
            })?),
        };
        let config = serde_json::to_value(r.config.unwrap_or_default())
            .map_err(|e| Status::internal(e.to_string()))?;
        let start =
            StartRequest { run_id: (!r.run_id.is_empty()).then_some(r.run_id), preset, config };
        reply(self.manager.start(start).await.map(|v| run(&v)))
    }

    async fn get_run(&self, request: Request<pb::GetRunRequest>) -> Reply<pb::Run> {
        reply(self.manager.get(&request.into_inner().run_id).map(|v| run(&v)))
    }

    async fn list_runs(
        &self,
        request: Request<pb::ListRunsRequest>,
    ) -> Reply<pb::ListRunsResponse> {
        let r = request.into_inner();
        let size = match r.page_size {
            0 => 50,
            n @ 1..=1000 => n as usize,
            n => {
                return reply(Err(ServiceError::invalid(
                    "page_size",
                    format!("{n} is outside [0, 1000]"),
                )));
            }
        };
        reply(self.manager.list(size, &r.page_token).map(|(views, next)| pb::ListRunsResponse {
            runs: views.iter().map(run).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn cancel_run(&self, request: Request<pb::CancelRunRequest>) -> Reply<pb::Run> {
        reply(self.manager.cancel(&request.into_inner().run_id).map(|v| run(&v)))
    }

    async fn resume_run(&self, request: Request<pb::ResumeRunRequest>) -> Reply<pb::Run> {
        reply(self.manager.resume(&request.into_inner().run_id).map(|v| run(&v)))
    }

    async fn delete_run(
        &self,
        request: Request<pb::DeleteRunRequest>,
    ) -> Reply<pb::DeleteRunResponse> {
        reply(self.manager.delete(&request.into_inner().run_id).map(|()| pb::DeleteRunResponse {}))
    }

    type WatchRunStream = Pin<Box<dyn Stream<Item = Result<pb::RunEvent, Status>> + Send>>;

    async fn watch_run(
        &self,
        request: Request<pb::WatchRunRequest>,
    ) -> Reply<Self::WatchRunStream> {
        use pb::run_event::Event;
        let mut views = self.manager.watch(&request.into_inner().run_id).map_err(status_of)?;
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            let first = views.borrow_and_update().clone();
            let mut sent = (first.changes.len(), first.checkpoints_total, first.progress.update);
            if tx.send(Ok(event(Event::Run(run(&first))))).await.is_err() {
                return;
            }
            let mut ended = !first.record.state.is_active();
            while !ended {
                // A sender dropped (the run deleted) ends the watch too.
                if views.changed().await.is_err() {
                    break;
                }
                let view = views.borrow_and_update().clone();
                ended = !view.record.state.is_active();
                for e in news(&view, &mut sent) {
                    if tx.send(Ok(e)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn generate(&self, request: Request<pb::GenerateRequest>) -> Reply<pb::GenerateResponse> {
        let r = request.into_inner();
        let looked = self
            .manager
            .generate(&r.run_id, u64::from(r.n), u64::from(r.reads_per_call), r.seed, r.checkpoint)
            .await;
        reply(looked.map(|l| {
            let g = l.value;
            pb::GenerateResponse {
                checkpoint: l.checkpoint,
                side: l.side as u32,
                pixels: g.pixels.iter().copied().collect(),
                class_means: g.class_means.iter().copied().collect(),
                classes: g.class_means.ncols() as u32,
                labels: g.labels.iter().map(|&c| u32::from(c)).collect(),
            }
        }))
    }

    async fn classify(&self, request: Request<pb::ClassifyRequest>) -> Reply<pb::ClassifyResponse> {
        let r = request.into_inner();
        let images = images(r.images).map_err(status_of)?;
        let looked = self.manager.classify(&r.run_id, images, r.checkpoint).await;
        reply(looked.map(|l| {
            let (classes, probabilities) = l.value;
            pb::ClassifyResponse {
                checkpoint: l.checkpoint,
                results: classes
                    .iter()
                    .zip(probabilities.outer_iter())
                    .map(|(&c, p)| pb::Classification {
                        class: u32::from(c),
                        probabilities: p.to_vec(),
                    })
                    .collect(),
            }
        }))
    }

    async fn reconstruct(
        &self,
        request: Request<pb::ReconstructRequest>,
    ) -> Reply<pb::ReconstructResponse> {
        use pb::reconstruct_request::Mask as PbMask;
        let r = request.into_inner();
        let mask = match r.mask {
            Some(PbMask::Region(value)) => Mask::Region(region(value).map_err(status_of)?),
            Some(PbMask::Hidden(bytes)) => Mask::Pixels(bytes.iter().map(|&b| b != 0).collect()),
            None => {
                return reply(Err(ServiceError::invalid("mask", "give a region or hidden pixels")));
            }
        };
        let images = images(r.images).map_err(status_of)?;
        let looked = self
            .manager
            .reconstruct(&r.run_id, images, mask, u64::from(r.passes), r.checkpoint)
            .await;
        reply(looked.map(|l| pb::ReconstructResponse {
            checkpoint: l.checkpoint,
            side: l.side as u32,
            corrupted: l.value.corrupted.iter().copied().collect(),
            restored: l.value.restored.iter().copied().collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;
    use crate::service::record::RunRecord;

    fn view() -> RunView {
        let record = RunRecord {
            state: RunState::Running,
            ..RunRecord::new("r", Preset::Default, String::new())
        };
        RunView::new(record, RunConfig::preset(Preset::Default), Progress::default())
    }

    #[test]
    fn a_watcher_that_fell_behind_gets_the_latest_progress_once_and_every_state_change() {
        use pb::run_event::Event;
        let mut v = view();
        let mut sent = (v.changes.len(), v.checkpoints_total, v.progress.update);
        // 500 updates and two checkpoints happen while the watcher is not reading.
        for update in 1..=500 {
            v.progress.update = update;
            if update % 250 == 0 {
                v.checkpointed(update);
            }
        }
        v.enter(RunState::Succeeded, None);
        let events: Vec<Event> =
            news(&v, &mut sent).into_iter().map(|e| e.event.unwrap()).collect();
        assert_eq!(events.len(), 4, "{events:?}");
        assert!(matches!(&events[0], Event::Checkpoint(c) if c.update == 250));
        assert!(matches!(&events[1], Event::Checkpoint(c) if c.update == 500));
        assert!(matches!(&events[2], Event::Progress(p) if p.update == 500));
        assert!(matches!(&events[3], Event::State(s) if s.state == pb::RunState::Succeeded as i32));
        assert!(news(&v, &mut sent).is_empty(), "nothing twice");
    }
}
