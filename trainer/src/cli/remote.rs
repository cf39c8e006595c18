//! The commands against a trainer service (`--trainer URL`): the run lives in the service,
//! the output files are written here, as a local run would write them.

use std::path::Path;

use anyhow::{Context, bail};
use ndarray::Array2;
use qahm_proto::trainer_pb as pb;
use qahm_proto::trainer_pb::trainer_client::TrainerClient;
use tokio_stream::StreamExt;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::{
    ClassifyArgs, GenerateArgs, ProgressLine, ProgressView, ReconstructArgs, ServiceArgs,
    TrainArgs, print_classification, write_generated, write_reconstruction,
};
use crate::run;
use crate::service::grpc::config_pb;

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
struct Token(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Token {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert("authorization", token.clone());
        }
        Ok(request)
    }
}

/// A blocking client of a trainer service.
pub struct Client {
    url: String,
    runtime: tokio::runtime::Runtime,
    client: TrainerClient<InterceptedService<Channel, Token>>,
}

/// The run id of a `--run` / `--resume` path: its last part.
fn run_id(path: &Path) -> anyhow::Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .with_context(|| format!("{}: no run name in this path", path.display()))
}

/// One readable line for a refused call.
fn refused(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", status.code(), status.message())
}

/// Classes and pixels travel in batches of this many images.
const BATCH: usize = 1000;

impl Client {
    /// The client of the service `args` names, if it names one.
    pub fn of(args: &ServiceArgs) -> anyhow::Result<Option<Client>> {
        let Some(url) = &args.trainer else { return Ok(None) };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let tls = super::client_tls("--trainer-ca", args.trainer_ca.as_deref())?;
        let endpoint = qahm_wire::tls::endpoint(url, &tls)
            .with_context(|| format!("--trainer {url:?}: not a URL"))?;
        let channel = runtime
            .block_on(endpoint.connect())
            .with_context(|| format!("cannot reach the trainer service at {url}"))?;
        let token = match &args.trainer_token {
            Some(t) => {
                Some(format!("Bearer {t}").parse().context("--trainer-token: not header text")?)
            }
            None => None,
        };
        let client = TrainerClient::with_interceptor(channel, Token(token))
            .max_decoding_message_size(64 << 20);
        Ok(Some(Client { url: url.clone(), runtime, client }))
    }

    /// The client of the service `args` names; an error if it names none.
    pub fn required(args: &ServiceArgs) -> anyhow::Result<Client> {
        Client::of(args)?.context("--trainer URL (or QAHM_TRAINER) names the trainer service")
    }

    fn call<T>(
        &self,
        call: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> anyhow::Result<T> {
        self.runtime.block_on(call).map(tonic::Response::into_inner).map_err(refused)
    }

    pub fn train(self, args: TrainArgs) -> anyhow::Result<()> {
        let mut client = self.client.clone();
        let run = match &args.resume {
            Some(dir) => {
                if let Some(flag) = args.settings.first_flag() {
                    bail!("{flag}: --resume continues a run with the settings it was started with");
                }
                let run_id = run_id(dir)?;
                self.call(client.resume_run(pb::ResumeRunRequest { run_id }))?
            }
            None => {
                let config = args.config()?;
                let request = pb::StartRunRequest {
                    run_id: run_id(&args.run)?,
                    preset: config.preset.name().to_string(),
                    config: Some(config_pb(&config)),
                };
                self.call(client.start_run(request))?
            }
        };
        eprintln!("trainer: run {} {} on {}", run.run_id, state_name(run.state), self.url);
        self.follow(&run.run_id, args.quiet)
    }

    pub fn watch(self, run_id: &str, quiet: bool) -> anyhow::Result<()> {
        self.follow(run_id, quiet)
    }

    /// Draws a run's progress from its event stream until it ends.
    fn follow(&self, run_id: &str, quiet: bool) -> anyhow::Result<()> {
        use pb::run_event::Event;
        let mut client = self.client.clone();
        let request = pb::WatchRunRequest { run_id: run_id.to_string() };
        let mut events = self.call(client.watch_run(request))?;
        let mut last: Option<pb::Run> = None;
        let mut view: Option<ProgressView> = None;
        let mut progress = pb::Progress::default();
        let result = self.runtime.block_on(async {
            while let Some(event) = events.next().await {
                match event?.event {
                    Some(Event::Run(run)) => {
                        progress = run.progress.unwrap_or_default();
                        let every = run
                            .config
                            .as_ref()
                            .and_then(|c| c.evaluation.as_ref())
                            .and_then(|e| e.every);
                        view = Some(ProgressView::new(
                            progress.total_updates,
                            progress.update,
                            every.unwrap_or(1),
                            quiet,
                        ));
                        last = Some(run);
                    }
                    Some(Event::Progress(p)) => {
                        progress = p;
                        if let Some(v) = &view {
                            v.show(&ProgressLine {
                                update: progress.update,
                                total: progress.total_updates,
                                lr: progress.lr,
                                recon: progress.reconstruction_error.unwrap_or(f64::NAN),
                                accuracy: progress.test_accuracy.unwrap_or(f64::NAN),
                                gaps: (progress.moment_gap_linear, progress.moment_gap_quadratic),
                                annealer_ms: progress.annealer_wall_ms,
                            });
                        }
                    }
                    Some(Event::State(change)) => {
                        if let Some(run) = last.as_mut() {
                            run.state = change.state;
                            run.error = change.error;
                        }
                    }
                    Some(Event::Checkpoint(_)) | None => {}
                }
            }
            Ok::<(), tonic::Status>(())
        });
        if let Some(v) = &view {
            v.finish();
        }
        result.map_err(refused)?;
        let run = last.context("the service sent no events")?;
        let (done, total) = (progress.update, progress.total_updates);
        match pb::RunState::try_from(run.state).unwrap_or_default() {
            pb::RunState::Succeeded => {
                println!(
                    "trained {done} updates; test accuracy through the model {:.4}; run {run_id} on {}",
                    progress.test_accuracy.unwrap_or(f64::NAN),
                    self.url
                );
                Ok(())
            }
            pb::RunState::Failed => {
                bail!("run {run_id} failed at update {done} of {total}: {}", run.error)
            }
            state => bail!(
                "run {run_id} is {} at update {done} of {total}; continue with --resume {run_id} --trainer {}",
                state_name(state as i32),
                self.url
            ),
        }
    }

    pub fn runs(self) -> anyhow::Result<()> {
        let mut client = self.client.clone();
        let mut token = String::new();
        let mut out =
            format!("{:<32} {:<12} {:>15} {:>9}  annealer\n", "run", "state", "update", "accuracy");
        loop {
            let request = pb::ListRunsRequest { page_size: 1000, page_token: token };
            let page = self.call(client.list_runs(request))?;
            for run in &page.runs {
                let p = run.progress.unwrap_or_default();
                out.push_str(&format!(
                    "{:<32} {:<12} {:>15} {:>9}  {}\n",
                    run.run_id,
                    state_name(run.state),
                    format!("{}/{}", p.update, p.total_updates),
                    p.test_accuracy.map_or("-".to_string(), |a| format!("{a:.4}")),
                    run.annealer
                ));
            }
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
        Ok(())
    }

    pub fn generate(self, args: GenerateArgs) -> anyhow::Result<()> {
        let mut client = self.client.clone();
        let request = pb::GenerateRequest {
            run_id: run_id(&args.run)?,
            n: args.n as u32,
            seed: args.seed,
            reads_per_call: args.reads_per_call as u32,
            checkpoint: args.checkpoint,
        };
        let g = self.call(client.generate(request))?;
        let side = g.side as usize;
        let pixels = Array2::from_shape_vec((g.labels.len(), side * side), g.pixels)
            .context("the service's digits do not fill their shape")?;
        let labels: Vec<u8> = g.labels.iter().map(|&c| c as u8).collect();
        write_generated(&args.out, &pixels, &labels)
    }

    /// The test set of a service's run, read here (the run's data directory must be readable
    /// on this machine too).
    fn test_set(&self, run_id: &str) -> anyhow::Result<crate::data::Dataset> {
        let mut client = self.client.clone();
        let run = self.call(client.get_run(pb::GetRunRequest { run_id: run_id.to_string() }))?;
        let config = crate::service::grpc::config_of(&run)?;
        let (_, test) = run::load_data(&config.data).with_context(|| {
            format!("the test images of run {run_id} must be readable here too")
        })?;
        Ok(test)
    }

    fn scaled(images: ndarray::ArrayView2<f32>, side: usize) -> Vec<pb::Image> {
        images
            .outer_iter()
            .map(|row| pb::Image {
                data: Some(pb::image::Data::Scaled(pb::ScaledImage {
                    width: side as u32,
                    height: side as u32,
                    pixels: row.to_vec(),
                })),
            })
            .collect()
    }

    pub fn classify(self, args: ClassifyArgs) -> anyhow::Result<()> {
        if args.samples > 0 {
            bail!(
                "--samples: the trainer service classifies by one mean-field pass; classify a local run for stochastic passes"
            );
        }
        let run_id = run_id(&args.run)?;
        let test = self.test_set(&run_id)?;
        let mut client = self.client.clone();
        let mut predicted = Vec::with_capacity(test.len());
        let all = test.pixels();
        for start in (0..test.len()).step_by(BATCH) {
            let rows = all.slice(ndarray::s![start..(start + BATCH).min(test.len()), ..]);
            let request = pb::ClassifyRequest {
                run_id: run_id.clone(),
                images: Self::scaled(rows, test.height()),
                checkpoint: args.checkpoint,
            };
            let answer = self.call(client.classify(request))?;
            predicted.extend(answer.results.iter().map(|r| r.class as u8));
        }
        print_classification(&predicted, test.labels());
        Ok(())
    }

    pub fn reconstruct(self, args: ReconstructArgs) -> anyhow::Result<()> {
        let run_id = run_id(&args.run)?;
        let test = self.test_set(&run_id)?;
        let rows: Vec<usize> = (0..args.n.min(test.len())).collect();
        let original = test.select(&rows).pixels().to_owned();
        let side = test.height();
        let region = match args.corrupt {
            crate::model::Region::Top => pb::Region::Top,
            crate::model::Region::Bottom => pb::Region::Bottom,
            crate::model::Region::Left => pb::Region::Left,
            crate::model::Region::Right => pb::Region::Right,
        };
        let request = pb::ReconstructRequest {
            run_id,
            images: Self::scaled(original.view(), side),
            mask: Some(pb::reconstruct_request::Mask::Region(region as i32)),
            passes: args.passes as u32,
            checkpoint: args.checkpoint,
        };
        let mut client = self.client.clone();
        let answer = self.call(client.reconstruct(request))?;
        let shape = (original.nrows(), original.ncols());
        let corrupted = Array2::from_shape_vec(shape, answer.corrupted)?;
        let restored = Array2::from_shape_vec(shape, answer.restored)?;
        write_reconstruction(&args, &original, &corrupted, &restored)
    }
}

fn state_name(state: i32) -> &'static str {
    match pb::RunState::try_from(state).unwrap_or_default() {
        pb::RunState::Unspecified => "unknown",
        pb::RunState::Pending => "pending",
        pb::RunState::Running => "running",
        pb::RunState::Succeeded => "succeeded",
        pb::RunState::Failed => "failed",
        pb::RunState::Cancelled => "cancelled",
        pb::RunState::Interrupted => "interrupted",
    }
}
